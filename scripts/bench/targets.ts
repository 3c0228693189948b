/** The issue's targets, each judged from one run's numbers with the numbers that decided it. */
import type { Mode } from './load-result';
import type { OrtCeiling } from './ort-ceiling';
import type { ScenarioResult, Target } from './scenario';
import type { SoakResult } from './soak';
import type { HandoffCost } from './worker-handoff';

export interface Verdict {
  readonly id: string;
  readonly target: string;
  /** undefined: not measured in this run. */
  readonly pass: boolean | undefined;
  readonly detail: string;
}

/** Each round's server and bare figures: from roundRatios, or the one window shown when there was one round. */
function perRound(server: ScenarioResult, bare: ScenarioResult): { serverCpu: number; bareCpu: number; rps: number; bareRps: number; p50Ms: number; bareP50Ms: number }[] {
  const r = server.roundRatios;
  if (!r) return [{ serverCpu: server.serverCpuUsPerReq, bareCpu: bare.serverCpuUsPerReq, rps: server.load.rps, bareRps: bare.load.rps, p50Ms: server.load.p50Ms, bareP50Ms: bare.load.p50Ms }];
  return r.serverCpuUsPerReq.map((serverCpu, i) => ({ serverCpu, bareCpu: r.bareCpuUsPerReq[i], rps: r.rps[i], bareRps: r.bareRps[i], p50Ms: r.p50Ms[i], bareP50Ms: r.bareP50Ms[i] }));
}

/** One scenario's own figures per round, no bare needed: from roundRatios, or the one window shown. */
function ownRounds(r: ScenarioResult): { readonly rps: readonly number[]; readonly p50Ms: readonly number[] } {
  return r.roundRatios ?? { rps: [r.load.rps], p50Ms: [r.load.p50Ms] };
}

/** The lower median: one real round, as the table shows. */
function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[(sorted.length - 1) >> 1];
}

const f = (n: number | undefined, digits = 2): string => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits));
const signed = (ms: number): string => `${ms >= 0 ? '+' : ''}${f(ms, 3)}`;

export function judgeTargets(results: readonly ScenarioResult[], ort: readonly OrtCeiling[], soak: SoakResult | undefined, handoff: readonly HandoffCost[] = []): Verdict[] {
  const find = (target: Target, mode: Mode, c: number, batching?: boolean): ScenarioResult | undefined =>
    results.find((r) => r.spec.target === target && r.spec.mode === mode && r.spec.concurrency === c && (batching === undefined || r.spec.batching?.enabled === batching) && !r.spec.inputRules);
  const concurrencies = [...new Set(results.map((r) => r.spec.concurrency))];
  const high = concurrencies.length === 0 || concurrencies.includes(64) ? 64 : Math.max(...concurrencies);
  const verdicts: Verdict[] = [];
  const missing = (id: string, target: string): Verdict => ({ id, target, pass: undefined, detail: 'NOT RUN (scenario missing from this run)' });

  const unaryOn = find('server', 'unary', high, true);
  const unaryBare = find('bare', 'unary', high);
  // ONNX Runtime's own CPU per row at the batch the server formed: the model's work, which bare grpc-js does not do.
  const ortRowUs = (meanBatch: number | undefined): number | undefined => {
    const batch = Math.max(1, Math.round(meanBatch ?? 1));
    const at = ort.find((o) => o.batchSize === batch);
    return at && at.cpuUsPerRun / at.batchSize;
  };
  const ortRow = unaryOn && ortRowUs(unaryOn.meanBatch);
  {
    const target = `c=${high} unary, batching on: server CPU/request <= 1.15x (bare grpc-js + ONNX Runtime in-process per row at the formed batch)`;
    if (!unaryOn || !unaryBare || ortRow === undefined) verdicts.push(missing('cpu-per-request', target));
    else {
      const rounds = perRound(unaryOn, unaryBare).map((r) => r.serverCpu / (r.bareCpu + ortRow));
      const ratio = median(rounds);
      verdicts.push({
        id: 'cpu-per-request',
        target,
        pass: ratio <= 1.15,
        detail: `${f(ratio)}x, median of rounds ${rounds.map((x) => f(x)).join(' ')}; shown round: ${f(unaryOn.serverCpuUsPerReq, 1)} vs ${f(unaryBare.serverCpuUsPerReq, 1)} + ${f(ortRow, 2)} us/req (limit 1.15x)`,
      });
    }
  }
  {
    const target = `c=${high} unary, batching on: throughput >= 90% of bare grpc-js (slowed by the inference's CPU per row)`;
    if (!unaryOn || !unaryBare || ortRow === undefined) verdicts.push(missing('throughput', target));
    else {
      // Bare grpc-js spends bareCpu per request; with the model's work added it could serve bareCpu / (bareCpu + ortRow) as many.
      const rounds = perRound(unaryOn, unaryBare).map((r) => r.rps / (r.bareRps * (r.bareCpu / (r.bareCpu + ortRow))));
      const ratio = median(rounds);
      verdicts.push({
        id: 'throughput',
        target,
        pass: ratio >= 0.9,
        detail: `${f(ratio * 100, 1)}%, median of rounds ${rounds.map((x) => `${f(x * 100, 1)}%`).join(' ')}; shown round: ${f(unaryOn.load.rps, 0)} vs ${f(unaryBare.load.rps, 0)} req/s (limit 90%)`,
      });
    }
  }
  {
    const target = `c=${high} unary, batching on: mean batch size >= 8`;
    if (!unaryOn) verdicts.push(missing('mean-batch', target));
    else {
      const stream = find('server', 'stream', high, true);
      const extra = stream ? `; stream: ${f(stream.meanBatch)}` : '';
      verdicts.push({ id: 'mean-batch', target, pass: (unaryOn.meanBatch ?? 0) >= 8, detail: `${f(unaryOn.meanBatch)} rows/run (limit 8)${extra}` });
    }
  }
  {
    const target = `c=${high}, batching on: ModelStreamInfer >= 4x unary throughput and >= 85% of bare grpc-js streaming (slowed by the inference's CPU per row)`;
    const stream = find('server', 'stream', high, true);
    const bareStream = find('bare', 'stream', high);
    const streamOrtRow = stream && ortRowUs(stream.meanBatch);
    if (!unaryOn || !unaryBare || !stream || !bareStream || streamOrtRow === undefined) verdicts.push(missing('stream-vs-unary', target));
    else {
      // Round by round, as the unary targets: the stream and the unary windows of one round came minutes apart at most.
      const unaryRps = ownRounds(unaryOn).rps;
      const rounds = perRound(stream, bareStream).map((r, i) => ({
        vsUnary: r.rps / unaryRps[i],
        ofBare: r.rps / (r.bareRps * (r.bareCpu / (r.bareCpu + streamOrtRow))),
      }));
      const ratio = median(rounds.map((r) => r.vsUnary));
      const ofBare = median(rounds.map((r) => r.ofBare));
      verdicts.push({
        id: 'stream-vs-unary',
        target,
        pass: ratio >= 4 && ofBare >= 0.85,
        detail:
          `${f(ratio)}x unary (limit 4x), median of rounds ${rounds.map((r) => f(r.vsUnary)).join(' ')}; ` +
          `${f(ofBare * 100, 1)}% of bare streaming (limit 85%), median of rounds ${rounds.map((r) => `${f(r.ofBare * 100, 1)}%`).join(' ')}; ` +
          `shown round: ${f(stream.load.rps, 0)} vs unary ${f(unaryOn.load.rps, 0)} and bare streaming ${f(bareStream.load.rps, 0)} req/s, inference ${f(streamOrtRow)} us/row`,
      });
    }
  }
  const atC1 = (delayUs: number): ScenarioResult | undefined =>
    results.find((r) => r.spec.target === 'server' && r.spec.mode === 'unary' && r.spec.concurrency === 1 && r.spec.batching?.enabled && r.spec.batching.queueDelayUs === delayUs && !r.spec.inputRules);
  {
    const target = 'c=1 unary, batching on with 0 us queue delay: p50 <= bare grpc-js p50 + ORT batch-1 p50 + 0.2 ms';
    const server = atC1(0);
    const bare = find('bare', 'unary', 1);
    const ort1 = ort.find((o) => o.batchSize === 1);
    if (!server || !bare || !ort1) verdicts.push(missing('c1-latency', target));
    else {
      const gaps = perRound(server, bare).map((r) => r.p50Ms - (r.bareP50Ms + ort1.p50Ms));
      const gap = median(gaps);
      // The hop to the session worker and back, which the ceiling leaves out, timed alone.
      const hop = handoff.find((h) => h.batchSize === 1 && h.gapMs > 0);
      const hopNote = hop ? `; the worker round trip alone at batch 1, idle ${hop.gapMs} ms before: p50 ${f(hop.p50Ms, 3)} ms` : '';
      verdicts.push({
        id: 'c1-latency',
        target,
        pass: gap <= 0.2,
        detail:
          `${signed(gap)} ms (limit +0.2 ms), median of rounds ${gaps.map((g) => signed(g)).join(' ')}; ` +
          `shown round: ${f(server.load.p50Ms, 3)} ms vs ${f(bare.load.p50Ms, 3)} grpc + ${f(ort1.p50Ms, 3)} ORT${hopNote}`,
      });
    }
  }
  {
    const target = 'c=1 unary, queue delay D under 1 ms: p50 <= p50 at delay 0 + D + 0.05 ms';
    const zero = atC1(0);
    const delayed = results.filter((r) => r.spec.target === 'server' && r.spec.mode === 'unary' && r.spec.concurrency === 1 && r.spec.batching?.enabled && !r.spec.inputRules)
      .map((r) => r.spec.batching!.queueDelayUs)
      .filter((d) => d > 0 && d < 1000)
      .sort((a, b) => a - b);
    if (!zero || delayed.length === 0) verdicts.push(missing('queue-delay', target));
    else {
      // Round by round against the same round's delay 0; the servers of one round ran minutes apart at most.
      const zeros = ownRounds(zero).p50Ms;
      const extras = delayed.map((d) => {
        const rounds = ownRounds(atC1(d)!).p50Ms.map((p50, i) => p50 - zeros[i] - d / 1000);
        return { d, rounds, extra: median(rounds) };
      });
      verdicts.push({
        id: 'queue-delay',
        target,
        pass: extras.every((e) => e.extra <= 0.05),
        detail: `${extras.map((e) => `D=${e.d} us: ${signed(e.extra)} ms${e.rounds.length > 1 ? ` (rounds ${e.rounds.map((x) => signed(x)).join(' ')})` : ''}`).join(', ')} beyond D, medians (limit +0.05 ms)`,
      });
    }
  }
  {
    const target = 'soak (c=64 unary, batching on): RSS of the last minute within ±5% of the first';
    if (!soak) verdicts.push({ id: 'soak-rss', target, pass: undefined, detail: 'NOT RUN (use --soak MINUTES)' });
    else {
      verdicts.push({
        id: 'soak-rss',
        target,
        pass: soak.pass,
        detail: `${f(soak.firstWindowMeanMiB, 1)} -> ${f(soak.lastWindowMeanMiB, 1)} MiB (${soak.driftPct >= 0 ? '+' : ''}${f(soak.driftPct)}%, windows of ${soak.windowSeconds} s over ${soak.minutes} min; limit ±5%)`,
      });
    }
  }
  return verdicts;
}
