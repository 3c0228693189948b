/**
 * The waiting room of one model version, with Triton's queue policy: a bound per
 * priority level, timeouts that reject or delay, gRPC deadlines and cancellation.
 * It decides who may wait; batch-former.ts decides who leaves together.
 */
import { performance } from 'node:perf_hooks';
import { InferenceError } from '../errors';
import type { QueuePolicy } from '../repository/model-config';
import type { InferenceJob } from './inference-job';

export interface QueuedJob {
  readonly job: InferenceJob;
  readonly enqueuedAt: number;
  /** Timed out under a DELAY policy: served only after every punctual job. */
  delayed: boolean;
  queued: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Unsubscribed when the job leaves, so a stream's long-lived cancellation does not keep finished jobs alive. */
  onCancel?: () => void;
}

class Level {
  readonly entries: QueuedJob[] = [];
  head = 0;
  live = 0;
  constructor(readonly policy: QueuePolicy) {}

  /** Drops settled entries from the front so the array does not grow without end. */
  compact(): void {
    while (this.head < this.entries.length && !this.entries[this.head].queued) this.head++;
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }
}

export class PolicyQueue {
  private readonly levels: Level[];
  private live = 0;

  /**
   * @param policies one per priority level, index 0 is level 1 (highest).
   * @param onRemoved called after a job leaves the queue without running (expired, cancelled).
   */
  constructor(policies: readonly QueuePolicy[], private readonly onRemoved: () => void) {
    this.levels = policies.map((p) => new Level(p));
  }

  get size(): number {
    return this.live;
  }

  /** Admits the job or throws RESOURCE_EXHAUSTED at once. */
  add(job: InferenceJob): void {
    if (job.cancellation?.cancelled) throw new InferenceError('CANCELLED', 'request cancelled by the client');
    const level = this.levels[job.priority - 1];
    if (level.live >= level.policy.maxQueueSize) {
      throw new InferenceError('RESOURCE_EXHAUSTED', `queue of priority level ${job.priority} is full (${level.policy.maxQueueSize} requests waiting)`);
    }
    const entry: QueuedJob = { job, enqueuedAt: job.acceptedAt, delayed: false, queued: true, timer: undefined };
    level.entries.push(entry);
    level.live++;
    this.live++;
    this.armTimeout(entry, level.policy);
    if (job.cancellation) {
      // Bound rather than an arrow, like every per-request callback on the hot path (see handlers.ts).
      entry.onCancel = this.cancelQueued.bind(this, entry);
      job.cancellation.subscribe(entry.onCancel);
    }
  }

  /** Live entries in service order: by level, punctual before delayed, oldest first. */
  *waiting(): Generator<QueuedJob> {
    for (const level of this.levels) {
      if (level.live === 0) continue;
      for (const pass of [false, true]) {
        for (let i = level.head; i < level.entries.length; i++) {
          const e = level.entries[i];
          if (e.queued && e.delayed === pass) yield e;
        }
      }
    }
  }

  /** Removes a job that is leaving in a batch. */
  take(entry: QueuedJob): void {
    this.detach(entry);
  }

  private armTimeout(entry: QueuedJob, policy: QueuePolicy): void {
    const { job } = entry;
    let timeoutMicros = policy.defaultTimeoutMicros;
    // A request may shorten the model's timeout when allowed, or set one when the model has none.
    if (job.timeoutMicros !== undefined && (policy.allowTimeoutOverride || timeoutMicros === 0)) {
      timeoutMicros = timeoutMicros === 0 ? job.timeoutMicros : Math.min(timeoutMicros, job.timeoutMicros);
    }
    const timeoutAt = timeoutMicros > 0 ? entry.enqueuedAt + timeoutMicros / 1000 : undefined;
    const deadlineAt = job.deadlineAt;
    if (timeoutAt === undefined && deadlineAt === undefined) return;
    const deadlineFirst = timeoutAt === undefined || (deadlineAt !== undefined && deadlineAt <= timeoutAt);
    const at = deadlineFirst ? deadlineAt! : timeoutAt;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (!entry.queued) return;
      if (deadlineFirst || policy.timeoutAction === 'REJECT') {
        this.expire(entry, new InferenceError('DEADLINE_EXCEEDED', deadlineFirst ? 'deadline exceeded while queued' : `request timed out after ${timeoutMicros} us in the queue`));
        return;
      }
      entry.delayed = true;
      // A delayed job still honours the client's own deadline.
      if (deadlineAt !== undefined) {
        entry.timer = setTimeout(() => this.expire(entry, new InferenceError('DEADLINE_EXCEEDED', 'deadline exceeded while queued')), Math.max(0, deadlineAt - performance.now()));
      }
    }, Math.max(0, at - performance.now()));
  }

  private cancelQueued(entry: QueuedJob): void {
    this.expire(entry, new InferenceError('CANCELLED', 'request cancelled by the client while queued'));
  }

  private expire(entry: QueuedJob, err: InferenceError): void {
    if (!entry.queued) return;
    this.detach(entry);
    entry.job.reject(err);
    this.onRemoved();
  }

  private detach(entry: QueuedJob): void {
    if (!entry.queued) return;
    entry.queued = false;
    if (entry.timer) clearTimeout(entry.timer);
    if (entry.onCancel) entry.job.cancellation!.unsubscribe(entry.onCancel);
    const level = this.levels[entry.job.priority - 1];
    level.live--;
    this.live--;
    level.compact();
  }
}
