import { status } from '@grpc/grpc-js';
import { InferenceClientError } from './client-error';

/** Only these are safe to retry: the server did not run the request (shed load, not reachable). */
const RETRYABLE: ReadonlySet<status> = new Set([status.UNAVAILABLE, status.RESOURCE_EXHAUSTED]);
/** grpc-js's RESOURCE_EXHAUSTED for a message over a size limit, either side's: the same message fails again. */
const OVERSIZED = /message larger than max/;

function retryable(error: InferenceClientError): boolean {
  return RETRYABLE.has(error.code) && !(error.code === status.RESOURCE_EXHAUSTED && OVERSIZED.test(error.details));
}

export interface RetryPolicy {
  /** Further attempts after the first; 0 never retries. */
  readonly retries: number;
  /** The first backoff's ceiling; each further one doubles it, up to maxBackoffMs. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

/**
 * Runs `attempt` with the absolute `deadline` (ms since the epoch) until it succeeds, fails with a
 * code that is not retryable, runs out of retries, or the next backoff would end past the deadline.
 * Backoff is "full jitter": uniform in [0, min(max, initial * 2^n)], so shed callers spread out.
 */
export async function withRetries<T>(policy: RetryPolicy, deadline: number, attempt: (deadline: number) => Promise<T>): Promise<T> {
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt(deadline);
    } catch (err) {
      const error = InferenceClientError.from(err, attempts);
      if (!retryable(error) || attempts > policy.retries) throw error;
      const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempts - 1));
      const backoff = Math.random() * ceiling;
      if (Date.now() + backoff >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
  }
}
