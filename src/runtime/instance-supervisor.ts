/**
 * Brings a dead instance's slot back: a fresh worker with the same session options, warmed up
 * like the first, retried with capped exponential backoff until it serves or the pool closes.
 * Closing stops every replacement, whether starting or waiting to retry.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../observability/logger';
import type { Instance, InstanceDeath } from './model-instance';

/** The wait after a replacement's first failure; each further failure doubles it, up to the cap. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;

/** What the supervisor needs of its pool. */
export interface SupervisedPool {
  /** A fresh instance for the slot with the pool's session options, not yet serving. */
  launch(slot: number): Instance;
  /** The version's warm-up, run on a replacement before it serves. */
  prepare(instance: Instance): Promise<void>;
  /** A ready replacement takes its slot and starts taking batches. */
  rejoin(slot: number, instance: Instance): void;
}

export class InstanceSupervisor {
  private readonly starting = new Set<Instance>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private closed = false;

  /** `log` carries the model and version. */
  constructor(private readonly pool: SupervisedPool, private readonly log: Logger) {}

  /** Logs the death and starts the slot's replacement at once. */
  replace(slot: number, death: InstanceDeath): void {
    this.log.error({ instance: slot, exit_code: death.exitCode, err: death.error?.message, failed_runs: death.failedRuns }, 'model instance stopped unexpectedly; starting a replacement');
    void this.attempt(slot, 1, performance.now());
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
    await Promise.allSettled([...this.starting].map((instance) => instance.close()));
  }

  private async attempt(slot: number, attempt: number, diedAt: number): Promise<void> {
    const instance = this.pool.launch(slot);
    this.starting.add(instance);
    try {
      const session = await instance.loaded;
      // close() closes a starting instance too: no warm-up for it, and the check below ends here.
      if (!this.closed) await this.pool.prepare(instance);
      // The automatic warm-up forgives failed runs, a dead worker's among them.
      if (!instance.alive) throw new Error(`${instance.label} stopped while starting`);
      this.log.info({ instance: slot, attempts: attempt, provider: session.provider, ms: Math.round(performance.now() - diedAt) }, 'model instance replaced');
      this.pool.rejoin(slot, instance);
    } catch (err) {
      await instance.close();
      if (!this.closed) this.retryLater(slot, attempt, diedAt, err as Error);
    } finally {
      this.starting.delete(instance);
    }
  }

  private retryLater(slot: number, attempt: number, diedAt: number, err: Error): void {
    const delayMs = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (attempt - 1));
    this.log.error({ instance: slot, attempt, retry_in_ms: delayMs, err: err.message }, 'replacement model instance failed to start; retrying');
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      void this.attempt(slot, attempt + 1, diedAt);
    }, delayMs);
    this.retries.add(timer);
  }
}
