/**
 * Rounds: the whole scenario sequence runs several times, interleaved, so that a slow drift
 * on a shared machine (seen here: the same bare server at 60 to 113 us/req minutes apart)
 * hits a scenario and its ceiling in the same round. A ratio to the ceiling is taken within
 * each round, and the median of those is the one reported and judged.
 */
import type { ScenarioResult, ScenarioSpec } from './scenario';

export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * @param rounds one list per round, each with a result for every spec
 * @returns one result per spec: the window of its median round by server CPU per request,
 *   with rpsVsBare / cpuVsBare the medians of the per-round ratios and each round's ratios kept.
 */
export function combineRounds(specs: readonly ScenarioSpec[], rounds: readonly (readonly ScenarioResult[])[]): ScenarioResult[] {
  const of = (round: readonly ScenarioResult[], spec: ScenarioSpec): ScenarioResult | undefined => round.find((r) => r.spec === spec);
  const bareOf = (round: readonly ScenarioResult[], spec: ScenarioSpec): ScenarioResult | undefined =>
    round.find((b) => b.spec.target === 'bare' && b.spec.mode === spec.mode && b.spec.concurrency === spec.concurrency);
  return specs.map((spec) => {
    const windows = rounds.map((round) => ({ result: of(round, spec), bare: bareOf(round, spec) })).filter((w) => w.result !== undefined);
    const byCpu = [...windows].sort((a, b) => a.result!.serverCpuUsPerReq - b.result!.serverCpuUsPerReq);
    // The lower median for an even count: a real window, not an average of two.
    const chosen = byCpu[(byCpu.length - 1) >> 1].result!;
    const paired = windows.filter((w) => w.bare !== undefined);
    if (paired.length === 0) return { ...chosen, rounds: windows.length };
    const cpu = paired.map((w) => w.result!.serverCpuUsPerReq / w.bare!.serverCpuUsPerReq);
    const rps = paired.map((w) => w.result!.load.rps / w.bare!.load.rps);
    return { ...chosen, rounds: windows.length, cpuVsBare: median(cpu), rpsVsBare: median(rps), roundRatios: { cpuVsBare: cpu, rpsVsBare: rps } };
  });
}
