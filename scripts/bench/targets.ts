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

const f = (n: number | undefined, digits = 2): string => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits));

/** " in the median round (all rounds: 1.10x 1.21x 1.15x)" when there was more than one round. */
const byRound = (ratios: readonly number[] | undefined, unit: string): string =>
  ratios && ratios.length > 1 ? ` in the median round (all rounds: ${ratios.map((x) => `${f(x, unit === '%' ? 1 : 2)}${unit}`).join(' ')})` : '';

export function judgeTargets(results: readonly ScenarioResult[], ort: readonly OrtCeiling[], soak: SoakResult | undefined, handoff: readonly HandoffCost[] = []): Verdict[] {
  const find = (target: Target, mode: Mode, c: number, batching?: boolean): ScenarioResult | undefined =>
    results.find((r) => r.spec.target === target && r.spec.mode === mode && r.spec.concurrency === c && (batching === undefined || r.spec.batching?.enabled === batching) && !r.spec.inputRules);
  const concurrencies = [...new Set(results.map((r) => r.spec.concurrency))];
  const high = concurrencies.length === 0 || concurrencies.includes(64) ? 64 : Math.max(...concurrencies);
  const verdicts: Verdict[] = [];
  const missing = (id: string, target: string): Verdict => ({ id, target, pass: undefined, detail: 'NOT RUN (scenario missing from this run)' });

  const unaryOn = find('server', 'unary', high, true);
  const unaryBare = find('bare', 'unary', high);
  {
    const target = `c=${high} unary, batching on: server CPU/request within 15% of bare grpc-js`;
    if (!unaryOn || !unaryBare) verdicts.push(missing('cpu-per-request', target));
    else {
      const ratio = unaryOn.serverCpuUsPerReq / unaryBare.serverCpuUsPerReq;
      verdicts.push({ id: 'cpu-per-request', target, pass: ratio <= 1.15, detail: `${f(unaryOn.serverCpuUsPerReq, 1)} vs ${f(unaryBare.serverCpuUsPerReq, 1)} us/req = ${f(ratio)}x${byRound(unaryOn.roundRatios?.cpuVsBare, 'x')} (limit 1.15x)` });
    }
  }
  {
    const target = `c=${high} unary, batching on: throughput >= 85% of bare grpc-js`;
    if (!unaryOn || !unaryBare) verdicts.push(missing('throughput', target));
    else {
      const ratio = unaryOn.load.rps / unaryBare.load.rps;
      const rounds = unaryOn.roundRatios?.rpsVsBare.map((x) => x * 100);
      verdicts.push({ id: 'throughput', target, pass: ratio >= 0.85, detail: `${f(unaryOn.load.rps, 0)} vs ${f(unaryBare.load.rps, 0)} req/s = ${f(ratio * 100, 1)}%${byRound(rounds, '%')} (limit 85%)` });
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
    const target = `c=${high}, batching on: streaming >= 3x unary throughput`;
    const stream = find('server', 'stream', high, true);
    if (!unaryOn || !stream) verdicts.push(missing('stream-vs-unary', target));
    else {
      const ratio = stream.load.rps / unaryOn.load.rps;
      const bareStream = find('bare', 'stream', high);
      const bareRatio = bareStream && unaryBare ? `; bare grpc-js: ${f(bareStream.load.rps / unaryBare.load.rps)}x` : '';
      verdicts.push({ id: 'stream-vs-unary', target, pass: ratio >= 3, detail: `${f(stream.load.rps, 0)} vs ${f(unaryOn.load.rps, 0)} req/s = ${f(ratio)}x (limit 3x)${bareRatio}` });
    }
  }
  {
    const target = 'c=1 unary, batching on with 0 us queue delay: p50 within 0.3 ms of the ceiling (bare grpc-js p50 + ORT batch-1 p50)';
    const server = results.find((r) => r.spec.target === 'server' && r.spec.mode === 'unary' && r.spec.concurrency === 1 && r.spec.batching?.enabled && r.spec.batching.queueDelayUs === 0 && !r.spec.inputRules);
    const bare = find('bare', 'unary', 1);
    const ort1 = ort.find((o) => o.batchSize === 1);
    if (!server || !bare || !ort1) verdicts.push(missing('c1-latency', target));
    else {
      const ceiling = bare.load.p50Ms + ort1.p50Ms;
      const gap = server.load.p50Ms - ceiling;
      // The hop to the session worker and back, which the ceiling leaves out, timed alone.
      const hop = handoff.find((h) => h.batchSize === 1 && h.gapMs > 0);
      const hopNote = hop ? `; the worker round trip alone at batch 1, idle ${hop.gapMs} ms before: p50 ${f(hop.p50Ms, 3)} ms` : '';
      verdicts.push({
        id: 'c1-latency',
        target,
        pass: gap <= 0.3,
        detail: `${f(server.load.p50Ms, 3)} ms vs ${f(ceiling, 3)} ms (${f(bare.load.p50Ms, 3)} grpc + ${f(ort1.p50Ms, 3)} ORT) = +${f(gap, 3)} ms (limit +0.3 ms)${hopNote}`,
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
