/**
 * The waiting room of one model version, with Triton's queue policy: a bound per
 * priority level, timeouts that reject or delay, gRPC deadlines and cancellation.
 * It decides who may wait; batch-former.ts decides who leaves together.
 *
 * One timer per queue, armed for the earliest expiry, rather than one per request: clients
 * such as ghz put a deadline on every call, and a timer each (distinct durations, so a new
 * Node timer list each) cost about 10 us of CPU per request at c=64 on the benchmark machine.
 */
import { performance } from 'node:perf_hooks';
import { InferenceError } from '../errors';
import { timerDelay } from '../platform/timer-limit';
import type { QueuePolicy } from '../repository/model-config';
import type { InferenceJob } from './inference-job';

/**
 * The queue acts on a deadline or timeout a little early, so that its own answer ("deadline
 * exceeded while queued") reaches the client, not grpc-js's. grpc-js's server arms a timer for a
 * call's deadline when the headers arrive; ours is derived later from call.getDeadline() and
 * Date.now(), both whole milliseconds, so it can fall a millisecond or two after grpc-js's, which
 * then answers a bare "Deadline exceeded" and reaches us as a cancel (logged as CANCELLED). With a
 * 1 ms lead grpc-js still answered 17 to 29 of 40 raw calls; with these, none of 400 (half of them beside a busy core).
 * A request this close to its deadline could not have run and answered in time anyway.
 */
const EXPIRY_LEAD_MS = 2;
/** Node's timers count whole milliseconds of a clock cached per loop turn: one may fire this much early by performance.now(). */
const TIMER_GRAIN_MS = 1;
/** The most a job is answered before its deadline or timeout. */
export const EARLIEST_EXPIRY_MS = EXPIRY_LEAD_MS + TIMER_GRAIN_MS;

export interface QueuedJob {
  readonly job: InferenceJob;
  readonly enqueuedAt: number;
  /** Timed out under a DELAY policy: served only after every punctual job. */
  delayed: boolean;
  queued: boolean;
  /** performance.now() of the queue timeout (Infinity: none) and of its next expiry check. */
  timeoutAt: number;
  wakeAt: number;
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
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private readonly sweepBound = this.sweep.bind(this);

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
    const timeoutAt = timeoutOf(job, level.policy);
    const wakeAt = Math.min(timeoutAt, job.deadlineAt ?? Number.POSITIVE_INFINITY);
    const entry: QueuedJob = { job, enqueuedAt: job.acceptedAt, delayed: false, queued: true, timeoutAt, wakeAt };
    level.entries.push(entry);
    level.live++;
    this.live++;
    if (wakeAt < this.timerAt) this.arm(wakeAt);
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

  /** Rejects every waiting job with `err` (shutdown past its grace); returns how many there were. */
  rejectAll(err: InferenceError): number {
    const waiting = [...this.waiting()];
    for (const entry of waiting) this.expire(entry, err);
    return waiting.length;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.sweepBound, timerDelay(Math.max(0, at - EXPIRY_LEAD_MS - performance.now())));
  }

  /** Expires or delays every job whose time has come, then arms for the next one, if any. */
  private sweep(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now() + EARLIEST_EXPIRY_MS;
    const expired: [QueuedJob, InferenceError][] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const level of this.levels) {
      for (let i = level.head; i < level.entries.length; i++) {
        const entry = level.entries[i];
        if (!entry.queued) continue;
        // Twice at most: a DELAY timeout moves the job back, and its deadline may be past too.
        let error: InferenceError | undefined;
        while (!error && entry.wakeAt <= now) error = this.due(entry, level.policy);
        if (error) expired.push([entry, error]);
        else next = Math.min(next, entry.wakeAt);
      }
    }
    // Rejecting settles replies, which may reach back into the queue: only after the scan.
    for (const [entry, error] of expired) this.expire(entry, error);
    if (next < Number.POSITIVE_INFINITY && this.live > 0 && next < this.timerAt) this.arm(next);
  }

  /** The error a job at its wake time leaves with, or undefined when a DELAY timeout only moves it back. */
  private due(entry: QueuedJob, policy: QueuePolicy): InferenceError | undefined {
    const deadlineAt = entry.job.deadlineAt ?? Number.POSITIVE_INFINITY;
    if (deadlineAt <= entry.wakeAt) return new InferenceError('DEADLINE_EXCEEDED', 'deadline exceeded while queued');
    if (policy.timeoutAction === 'REJECT') {
      const micros = Math.round((entry.timeoutAt - entry.enqueuedAt) * 1000);
      return new InferenceError('DEADLINE_EXCEEDED', `request timed out after ${micros} us in the queue`);
    }
    entry.delayed = true;
    // A delayed job still honours the client's own deadline.
    entry.wakeAt = deadlineAt;
    return undefined;
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
    if (entry.onCancel) entry.job.cancellation!.unsubscribe(entry.onCancel);
    const level = this.levels[entry.job.priority - 1];
    level.live--;
    this.live--;
    level.compact();
    // Timers of jobs that left early are not chased; an empty queue keeps none at all.
    if (this.live === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
    }
  }
}

/** When the level's timeout, or the request's where the level allows it, runs out; Infinity for never. */
function timeoutOf(job: InferenceJob, policy: QueuePolicy): number {
  let timeoutMicros = policy.defaultTimeoutMicros;
  // A request may shorten the model's timeout when allowed, or set one when the model has none.
  if (job.timeoutMicros !== undefined && (policy.allowTimeoutOverride || timeoutMicros === 0)) {
    timeoutMicros = timeoutMicros === 0 ? job.timeoutMicros : Math.min(timeoutMicros, job.timeoutMicros);
  }
  return timeoutMicros > 0 ? job.acceptedAt + timeoutMicros / 1000 : Number.POSITIVE_INFINITY;
}
