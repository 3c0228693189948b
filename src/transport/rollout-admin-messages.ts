/** The RolloutAdmin messages to and from the data plane's rollout admin (rollout_admin.proto). */
import type { RolloutView } from '../dataplane/rollout-admin';
import type { Weights } from '../rollout/rollout-state';

export interface WireModelRequest {
  model?: string;
}

export interface WireSetWeightsRequest extends WireModelRequest {
  /** proto-loader gives map keys as strings. */
  weights?: Record<string, number>;
}

export interface WirePromoteRequest extends WireModelRequest {
  version?: number;
}

export function weightsFromWire(weights: Record<string, number> | undefined): Weights {
  return new Map(Object.entries(weights ?? {}).map(([version, weight]) => [Number(version), weight]));
}

export function rolloutStatusMessage(view: RolloutView): object {
  const guard = view.config.guard;
  const rolledBack = view.rolledBack;
  return {
    model: view.model,
    weights: wireWeights(view.weights),
    previous_weights: wireWeights(view.previousWeights ?? new Map()),
    weights_source: view.source,
    sticky_parameter: view.config.stickyParameter ?? '',
    guard: guard && {
      canary: guard.canary,
      max_error_rate: guard.maxErrorRate,
      max_p99_ratio: guard.maxP99Ratio,
      min_requests: guard.minRequests,
      window_seconds: guard.windowSeconds,
    },
    guard_state: rolledBack
      ? { rolled_back: true, rolled_back_at: new Date(rolledBack.atMs).toISOString(), cause: rolledBack.cause, detail: rolledBack.detail }
      : { rolled_back: false },
    window_seconds: view.windowSeconds,
    versions: view.traffic.map((t) => ({
      version: t.version,
      requests: t.requests,
      failures: t.failures,
      p50_ms: t.p50Ms,
      p99_ms: t.p99Ms,
      total_requests: t.totalRequests,
      total_failures: t.totalFailures,
    })),
  };
}

function wireWeights(weights: Weights): Record<string, number> {
  return Object.fromEntries([...weights].map(([version, weight]) => [String(version), weight]));
}
