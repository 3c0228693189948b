import type { ExecutionProvider } from '../config/schema';
import type { ProviderFailure } from './worker-protocol';

export interface FallbackResult<S> {
  readonly session: S;
  readonly provider: ExecutionProvider;
  readonly failures: readonly ProviderFailure[];
}

export class NoProviderError extends Error {
  constructor(readonly failures: readonly ProviderFailure[]) {
    super(`no execution provider could load the model: ${failures.map((f) => `${f.provider}: ${f.reason}`).join('; ')}`);
  }
}

/**
 * onnxruntime-node throws when a provider (CUDA) cannot load instead of falling back,
 * so try each suffix of the preference list: [cuda, cpu], then [cpu].
 * Passing the whole suffix keeps ORT's own per-node fallback within a working session.
 */
export async function createWithFallback<S>(
  providers: readonly ExecutionProvider[],
  create: (providers: readonly ExecutionProvider[]) => Promise<S>,
): Promise<FallbackResult<S>> {
  const failures: ProviderFailure[] = [];
  for (let i = 0; i < providers.length; i++) {
    const attempt = providers.slice(i);
    try {
      return { session: await create(attempt), provider: attempt[0], failures };
    } catch (err) {
      failures.push({ provider: attempt[0], reason: err instanceof Error ? err.message : String(err) });
    }
  }
  throw new NoProviderError(failures);
}
