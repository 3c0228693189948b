import type { ExecutionProvider } from '../config/schema';
import type { ProviderFailure } from './worker-protocol';

export interface FallbackResult<S> {
  readonly session: S;
  readonly provider: ExecutionProvider;
  readonly failures: readonly ProviderFailure[];
}

export interface FallbackPolicy {
  /** Set: the first provider is required, so only the whole list is tried; says who requires it (REQUIRE_GPU, KIND_GPU). */
  readonly requiredBy?: string;
  /** Adds what is known of a provider's failure to ORT's reason (cuda-load-reason.ts). */
  readonly explain?: (provider: ExecutionProvider, reason: string) => string;
}

export class NoProviderError extends Error {
  constructor(
    readonly failures: readonly ProviderFailure[],
    requiredBy?: string,
  ) {
    const reasons = failures.map((f) => `${f.provider}: ${f.reason}`).join('; ');
    super(
      requiredBy !== undefined && failures.length > 0
        ? `execution provider ${failures[0].provider} is required (${requiredBy}) and could not be had: ${reasons}`
        : `no execution provider could load the model: ${reasons}`,
    );
  }
}

/**
 * onnxruntime-node throws when a provider (CUDA) cannot load instead of falling back,
 * so try each suffix of the preference list: [cuda, cpu], then [cpu].
 * Passing the whole suffix keeps ORT's own per-node fallback within a working session.
 * With `requiredBy`, only the whole list is tried: a session without its first provider is a failure.
 */
export async function createWithFallback<S>(
  providers: readonly ExecutionProvider[],
  create: (providers: readonly ExecutionProvider[]) => Promise<S>,
  policy: FallbackPolicy = {},
): Promise<FallbackResult<S>> {
  const failures: ProviderFailure[] = [];
  const attempts = policy.requiredBy === undefined ? providers.length : Math.min(1, providers.length);
  for (let i = 0; i < attempts; i++) {
    const attempt = providers.slice(i);
    try {
      return { session: await create(attempt), provider: attempt[0], failures };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      failures.push({ provider: attempt[0], reason: policy.explain ? policy.explain(attempt[0], reason) : reason });
    }
  }
  throw new NoProviderError(failures, policy.requiredBy);
}
