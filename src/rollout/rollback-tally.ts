/**
 * Auto-rollbacks counted by model, version and cause, for the metric read at scrape time. Held by
 * the repository, not by a rollout's state, so the counts outlive a state that a reload replaces.
 */
import type { RollbackCause } from './rollout-guard';

export interface RollbackCount {
  readonly model: string;
  readonly version: number;
  readonly cause: RollbackCause;
  readonly count: number;
}

export class RollbackTally {
  private readonly counts = new Map<string, RollbackCount>();

  count(model: string, version: number, cause: RollbackCause): void {
    const key = JSON.stringify([model, version, cause]);
    this.counts.set(key, { model, version, cause, count: (this.counts.get(key)?.count ?? 0) + 1 });
  }

  all(): IterableIterator<RollbackCount> {
    return this.counts.values();
  }
}
