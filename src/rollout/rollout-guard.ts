/**
 * The auto-rollback rule: over the guard's window, once the canary has `min_requests`, its error
 * rate above `max_error_rate`, or its p99 above `max_p99_ratio` times the p99 of the other versions
 * together (when they too have `min_requests`), rolls it back. Pure: the state records and acts.
 */
import type { RolloutGuard } from '../repository/rollout-config';
import { quantileMs, type OutcomeWindow } from './outcome-window';

export type RollbackCause = 'error_rate' | 'p99_latency';

export interface GuardVerdict {
  readonly cause: RollbackCause;
  /** The figures that broke the guard, for the log line and GetRollout. */
  readonly detail: string;
}

/** Why the canary must roll back now, or undefined while it holds. */
export function checkGuard(guard: RolloutGuard, windows: ReadonlyMap<number, OutcomeWindow>, nowMs: number): GuardVerdict | undefined {
  const canary = windows.get(guard.canary);
  if (!canary) return undefined;
  const { requests, failures } = canary.counts(nowMs);
  if (requests < guard.minRequests) return undefined;
  const errorRate = failures / requests;
  if (errorRate > guard.maxErrorRate) {
    return { cause: 'error_rate', detail: `error rate ${round(errorRate)} (${failures} of ${requests}) > max_error_rate ${guard.maxErrorRate} over ${guard.windowSeconds} s` };
  }
  let otherRequests = 0;
  const others: Uint32Array[] = [];
  for (const [version, window] of windows) {
    if (version === guard.canary) continue;
    otherRequests += window.counts(nowMs).requests;
    others.push(window.histogram(nowMs));
  }
  if (otherRequests < guard.minRequests) return undefined;
  const canaryP99 = quantileMs([canary.histogram(nowMs)], 0.99);
  const otherP99 = quantileMs(others, 0.99);
  if (otherP99 > 0 && canaryP99 > guard.maxP99Ratio * otherP99) {
    return {
      cause: 'p99_latency',
      detail: `p99 ${round(canaryP99)} ms > max_p99_ratio ${guard.maxP99Ratio} × the other versions' p99 ${round(otherP99)} ms over ${guard.windowSeconds} s (${requests} and ${otherRequests} requests)`,
    };
  }
  return undefined;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
