/** The printed table and the JSON report: the same numbers in both. */
import * as os from 'node:os';
import type { ClientOverhead } from './client-overhead';
import type { ThreadProfile } from './cpu-profile';
import type { OrtCeiling } from './ort-ceiling';
import type { HandoffCost } from './worker-handoff';
import type { ScenarioResult } from './scenario';
import type { SoakResult } from './soak';
import type { Verdict } from './targets';

export interface BenchReport {
  readonly machine: {
    readonly cpuModel: string;
    readonly cpus: number;
    readonly node: string;
    readonly platform: string;
    readonly release: string;
    readonly totalMemGiB: number;
  };
  readonly timestamp: string;
  readonly settings: Record<string, unknown>;
  readonly scenarios: readonly ScenarioResult[];
  /** Every window of every round (--rounds), in the order they ran. */
  readonly rounds?: readonly (readonly ScenarioResult[])[];
  readonly ceilings: {
    readonly bareGrpcJs: readonly ScenarioResult[];
    readonly onnxRuntime: readonly OrtCeiling[];
    readonly workerHandoff: readonly HandoffCost[];
  };
  readonly checks: Record<string, unknown>;
  readonly targets: readonly Verdict[];
  readonly soak: SoakResult | undefined;
  /** The typed client's CPU per call against a raw grpc-js call (absent with --no-client-overhead). */
  readonly clientOverhead?: readonly ClientOverhead[];
  readonly profiles: Record<string, readonly ThreadProfile[]> | undefined;
}

export function machineInfo(): BenchReport['machine'] {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    node: process.version,
    platform: os.platform(),
    release: os.release(),
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
}

const num = (n: number | undefined, digits: number): string => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits));

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatScenarios(results: readonly ScenarioResult[]): string {
  const header = ['scenario', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'batch', 'run ms', 'around ms', 'srv us/req', 'main us/req', 'srv cpu%', 'cli cpu%', 'other%', 'req/s vs bare', 'cpu vs bare', 'cpu vs bare by round', 'runs', 'errors'];
  const rows = results.map((r) => [
    r.label,
    num(r.load.rps, 0),
    num(r.load.p50Ms, 3),
    num(r.load.p90Ms, 3),
    num(r.load.p99Ms, 3),
    num(r.meanBatch, 2),
    num(r.batchTimes?.runMs, 3),
    num(r.batchTimes?.aroundMs, 3),
    num(r.serverCpuUsPerReq, 1),
    num(r.serverMainThreadUsPerReq, 1),
    num(r.serverCpuPct, 0),
    num(r.load.clientCpuPct, 0),
    num(r.otherCpuPct, 0),
    r.rpsVsBare === undefined || !Number.isFinite(r.rpsVsBare) ? '-' : `${(r.rpsVsBare * 100).toFixed(1)}%`,
    r.cpuVsBare === undefined || !Number.isFinite(r.cpuVsBare) ? '-' : `${r.cpuVsBare.toFixed(2)}x`,
    r.roundRatios && r.roundRatios.cpuVsBare.length > 1 ? r.roundRatios.cpuVsBare.map((x) => x.toFixed(2)).join(' ') : '-',
    String(r.attempts),
    String(r.load.errors),
  ]);
  return table(header, rows);
}

/**
 * --validate: each "+rules" row against the same server without rules, in the same round (the
 * rows of one mode and concurrency are shown from one round), and in every round.
 */
export function formatRulesCost(results: readonly ScenarioResult[]): string[] {
  const lines: string[] = [];
  for (const rules of results.filter((r) => r.spec.inputRules)) {
    const plain = results.find((r) => r.spec.target === 'server' && !r.spec.inputRules && r.spec.mode === rules.spec.mode && r.spec.concurrency === rules.spec.concurrency && r.spec.batching?.enabled === rules.spec.batching?.enabled && r.spec.batching?.queueDelayUs === rules.spec.batching?.queueDelayUs);
    if (!plain) continue;
    const p50 = rules.load.p50Ms - plain.load.p50Ms;
    const perRound = rules.roundRatios && plain.roundRatios ? rules.roundRatios.cpuVsBare.map((x, i) => x / plain.roundRatios!.cpuVsBare[i]) : [];
    lines.push(
      `${rules.label}: server cpu ${num(rules.serverCpuUsPerReq / plain.serverCpuUsPerReq, 3)}x, main thread ${num(rules.serverMainThreadUsPerReq / plain.serverMainThreadUsPerReq, 3)}x, ` +
        `req/s ${num(rules.load.rps / plain.load.rps, 3)}x, p50 ${p50 >= 0 ? '+' : ''}${num(p50, 3)} ms` +
        (perRound.length > 1 ? ` (server cpu by round: ${perRound.map((x) => num(x, 3)).join(' ')})` : ''),
    );
  }
  return lines;
}

/** p50 by queue delay at c=1 and c=8 (unary, batching on), against delay 0 and the bare server. */
export function formatDelaySweep(results: readonly ScenarioResult[], delaysUs: readonly number[]): string {
  const find = (delayUs: number | undefined, concurrency: number): ScenarioResult | undefined =>
    results.find((r) =>
      r.spec.mode === 'unary' && r.spec.concurrency === concurrency && !r.spec.inputRules &&
      (delayUs === undefined ? r.spec.target === 'bare' : r.spec.target === 'server' && r.spec.batching?.enabled === true && r.spec.batching.queueDelayUs === delayUs),
    );
  const header = ['delay us', 'c=1 p50 ms', 'c=1 extra ms', 'c=8 p50 ms', 'c=8 extra ms', 'c=8 batch'];
  const rows = delaysUs.map((delayUs) => {
    const cells = [String(delayUs)];
    for (const concurrency of [1, 8]) {
      const r = find(delayUs, concurrency);
      const zero = find(0, concurrency);
      cells.push(num(r?.load.p50Ms ?? NaN, 3), num(r && zero ? r.load.p50Ms - zero.load.p50Ms - delayUs / 1000 : NaN, 3));
    }
    cells.push(num(find(delayUs, 8)?.meanBatch ?? NaN, 2));
    return cells;
  });
  const bare = [1, 8].map((c) => num(find(undefined, c)?.load.p50Ms ?? NaN, 3));
  rows.push(['bare grpc-js', bare[0], '', bare[1], '', '']);
  return table(header, rows);
}

export function formatOrt(ceilings: readonly OrtCeiling[]): string {
  const header = ['ORT in-process batch', 'runs/s', 'rows/s', 'p50 ms', 'p99 ms', 'cpu us/run', 'cpu us/row'];
  const rows = ceilings.map((c) => [
    String(c.batchSize),
    num(c.runsPerSec, 0),
    num(c.rowsPerSec, 0),
    num(c.p50Ms, 4),
    num(c.p99Ms, 4),
    num(c.cpuUsPerRun, 1),
    num(c.cpuUsPerRun / c.batchSize, 2),
  ]);
  return table(header, rows);
}

export function formatHandoff(costs: readonly HandoffCost[]): string {
  const header = ['session worker round trip', 'batch', 'batches/s', 'p50 ms', 'p90 ms', 'main us/batch', 'other threads us/batch'];
  const rows = costs.map((c) => [
    c.gapMs === 0 ? 'back to back' : `${c.gapMs} ms idle between batches`,
    String(c.batchSize),
    num(c.batchesPerSec, 0),
    num(c.p50Ms, 3),
    num(c.p90Ms, 3),
    num(c.mainUsPerBatch, 1),
    num(c.otherUsPerBatch, 1),
  ]);
  return table(header, rows);
}

export function formatClientOverhead(rows: readonly ClientOverhead[]): string {
  const header = ['client vs raw grpc-js (bare server)', 'calls/side', 'raw cpu us/call', 'client cpu us/call', 'client/raw', 'median round', 'by round', 'raw calls/s', 'client calls/s'];
  return table(
    header,
    rows.map((r) => [
      r.concurrency === 1 ? 'c=1 (sequential)' : `c=${r.concurrency}`,
      String(r.calls),
      num(r.rawCpuUsPerCall, 1),
      num(r.clientCpuUsPerCall, 1),
      `${num(r.cpuRatio, 2)}x`,
      `${num(r.medianRoundRatio, 2)}x`,
      r.roundRatios.map((x) => num(x, 2)).join(' '),
      num(r.rawCallsPerSec, 0),
      num(r.clientCallsPerSec, 0),
    ]),
  );
}

export function formatVerdicts(verdicts: readonly Verdict[]): string {
  return verdicts.map((v) => `${v.pass === undefined ? '----' : v.pass ? 'PASS' : 'FAIL'}  ${v.target}: ${v.detail}`).join('\n');
}

export function formatSoak(soak: SoakResult): string {
  const f = (n: number): string => n.toFixed(1);
  return [
    `Soak: ${soak.minutes} min, unary c=${soak.concurrency}, batching on; ${soak.requests} requests, ${soak.errors} errors, p50 ${soak.latency.p50Ms.toFixed(3)} ms, p99 ${soak.latency.p99Ms.toFixed(3)} ms, server ${soak.serverCpuUsPerReq.toFixed(1)} us/req`,
    `  RSS MiB: first ${f(soak.firstMiB)}, last ${f(soak.lastMiB)}, min ${f(soak.minMiB)}, max ${f(soak.maxMiB)}; first ${soak.windowSeconds} s mean ${f(soak.firstWindowMeanMiB)}, last ${soak.windowSeconds} s mean ${f(soak.lastWindowMeanMiB)}, drift ${soak.driftPct >= 0 ? '+' : ''}${soak.driftPct.toFixed(2)}%`,
    `  samples (s: MiB @ req/s): ${soak.samples.map((s) => `${s.seconds}: ${f(s.rssMiB)} @ ${Number.isFinite(s.rps) ? s.rps.toFixed(0) : '-'}`).join(', ')}`,
  ].join('\n');
}
