/**
 * Rounds: the whole scenario sequence runs several times, interleaved, so that a slow drift
 * on a shared machine (seen here: the same bare server at 60 to 113 us/req minutes apart)
 * hits a scenario and its ceiling in the same round. Ratios to the ceiling are taken within
 * a round. For each mode and concurrency one round is shown, all its rows together: the
 * median one by the CPU ratio of the batching server (the target's subject).
 */
import type { ScenarioResult } from './scenario';

/** One round's result with its ratios to that round's bare grpc-js at the same mode and concurrency. */
function withRatios(round: readonly ScenarioResult[], r: ScenarioResult): ScenarioResult {
  const bare = round.find((b) => b.spec.target === 'bare' && b.spec.mode === r.spec.mode && b.spec.concurrency === r.spec.concurrency);
  if (!bare) return r;
  return { ...r, rpsVsBare: r.load.rps / bare.load.rps, cpuVsBare: r.serverCpuUsPerReq / bare.serverCpuUsPerReq };
}

/**
 * @param rounds one list per round, each in the same order
 * @returns the first round's order, each row from its group's shown round, with every round's ratios kept
 */
export function combineRounds(rounds: readonly (readonly ScenarioResult[])[]): ScenarioResult[] {
  const rated = rounds.map((round) => round.map((r) => withRatios(round, r)));
  const groupKey = (r: ScenarioResult): string => `${r.spec.mode}/${r.spec.concurrency}`;
  const shownRound = new Map<string, number>();
  for (const key of new Set(rated[0].map(groupKey))) {
    const subject = (round: readonly ScenarioResult[]): ScenarioResult | undefined => {
      const group = round.filter((r) => groupKey(r) === key && r.spec.target === 'server' && !r.spec.inputRules);
      return group.find((r) => r.spec.batching?.enabled) ?? group[0];
    };
    const order = rated
      .map((round, index) => ({ index, ratio: subject(round)?.cpuVsBare ?? 0 }))
      .sort((a, b) => a.ratio - b.ratio);
    // The lower median for an even count: a real round, not an average of two.
    shownRound.set(key, order[(order.length - 1) >> 1].index);
  }
  return rated[0].map((first, i) => {
    const shown = rated[shownRound.get(groupKey(first))!][i];
    if (rated.length === 1 || shown.spec.target === 'bare') return { ...shown, rounds: rated.length };
    const bareOf = (round: readonly ScenarioResult[]): ScenarioResult | undefined => round.find((b) => b.spec.target === 'bare' && b.spec.mode === first.spec.mode && b.spec.concurrency === first.spec.concurrency);
    return {
      ...shown,
      rounds: rated.length,
      roundRatios: {
        cpuVsBare: rated.map((round) => round[i].cpuVsBare ?? NaN),
        rpsVsBare: rated.map((round) => round[i].rpsVsBare ?? NaN),
        serverCpuUsPerReq: rated.map((round) => round[i].serverCpuUsPerReq),
        bareCpuUsPerReq: rated.map((round) => bareOf(round)?.serverCpuUsPerReq ?? NaN),
        rps: rated.map((round) => round[i].load.rps),
        bareRps: rated.map((round) => bareOf(round)?.load.rps ?? NaN),
        p50Ms: rated.map((round) => round[i].load.p50Ms),
        bareP50Ms: rated.map((round) => bareOf(round)?.load.p50Ms ?? NaN),
      },
    };
  });
}
