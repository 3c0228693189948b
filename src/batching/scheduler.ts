/**
 * Runs a model version's jobs on its instances: admits them to the policy queue, forms a
 * batch whenever an instance is idle and the batching rules say go, runs it, and scatters
 * the results. With no dynamic batching every batch is a single job (Triton's default scheduler).
 */
import { performance } from 'node:perf_hooks';
import { asInferenceError, InferenceError } from '../errors';
import type { DynamicBatching, ModelConfig, QueuePolicy } from '../repository/model-config';
import type { InstancePool } from '../runtime/instance-pool';
import type { Instance } from '../runtime/model-instance';
import type { ModelStatistics } from '../observability/model-statistics';
import type { Tensor } from '../tensor/tensor';
import { candidateBatch, chooseBatch, type BatchChoice, type BatchLimits } from './batch-former';
import { DelayWake } from './delay-wake';
import type { InferenceJob } from './inference-job';
import { mergeInputs, reshapesOf, splitOutputs, type Reshapes } from './merge';
import { PolicyQueue } from './policy-queue';

export class Scheduler {
  private readonly queue: PolicyQueue;
  private readonly limits: BatchLimits;
  private readonly delayMs: number;
  private readonly batched: boolean;
  private readonly reshapes: Reshapes;
  private readonly preserveOrdering: boolean;
  private readonly delayWake = new DelayWake(() => this.schedule());
  /** Results held back so batches complete in the order they started (preserve_ordering). */
  private nextToDeliver = 0;
  private nextBatch = 0;
  private readonly finished = new Map<number, FinishedBatch>();
  /** Jobs that left the queue in a batch and have not been answered yet. */
  private inBatches = 0;
  /** Told once nothing is queued or running; undefined (one check per batch) while no one waits. */
  private idleWaiters: (() => void)[] | undefined;

  constructor(
    config: ModelConfig,
    private readonly pool: InstancePool,
    private readonly stats: ModelStatistics,
    defaultQueuePolicy: QueuePolicy,
  ) {
    const db = config.dynamicBatching;
    this.batched = config.maxBatchSize > 0;
    this.reshapes = reshapesOf(config);
    this.limits = {
      maxRows: Math.max(1, config.maxBatchSize),
      maxJobs: db && this.batched ? Number.POSITIVE_INFINITY : 1,
      preferredSizes: new Set(db?.preferredBatchSizes),
    };
    this.delayMs = db ? db.maxQueueDelayMicros / 1000 : 0;
    this.preserveOrdering = db?.preserveOrdering ?? false;
    this.queue = new PolicyQueue(levelPolicies(db, defaultQueuePolicy), () => this.afterRemoval());
  }

  /** Jobs queued or running and not yet answered. */
  get pending(): number {
    return this.queue.size + this.inBatches;
  }

  /**
   * Resolves once every job accepted so far has been answered (at once when none is pending), with
   * the delay timer cleared, so that nothing of a drained version outlives its unload.
   */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      (this.idleWaiters ??= []).push(resolve);
      this.notifyIfIdle();
    });
  }

  /** Jobs admitted and not yet in a batch: Triton's pending request count. */
  get queued(): number {
    return this.queue.size;
  }

  /** Queues the job (or throws RESOURCE_EXHAUSTED); it settles through its own resolve/reject. */
  submit(job: InferenceJob): void {
    this.queue.add(job);
    this.schedule();
  }

  /** Fails every queued job with `err`, leaving running batches to finish; returns how many. */
  rejectQueued(err: InferenceError): number {
    return this.queue.rejectAll(err);
  }

  /** Starts batches while an instance is idle and work waits; also called when a replacement instance joins. */
  schedule(): void {
    while (this.queue.size > 0 && this.pool.canRun) {
      const candidate = candidateBatch(this.queue.waiting(), this.limits);
      const waitedMs = performance.now() - candidate.oldestEnqueuedAt;
      const batch = chooseBatch(candidate, this.limits, waitedMs >= this.delayMs);
      if (!batch) {
        this.delayWake.arm(this.delayMs - waitedMs);
        return;
      }
      // A request alone in the queue may take the pool's event-loop session (run_on_event_loop "lone").
      const instance = this.pool.acquire(batch.entries.length === 1 && this.queue.size === 1)!;
      for (const entry of batch.entries) this.queue.take(entry);
      this.inBatches += batch.entries.length;
      void this.execute(instance, batch);
    }
  }

  private async execute(instance: Instance, batch: BatchChoice): Promise<void> {
    const seq = this.nextBatch++;
    const { entries } = batch;
    const jobs: InferenceJob[] = [];
    const start = performance.now();
    for (const entry of entries) {
      jobs.push(entry.job);
      this.stats.recordQueued((start - entry.enqueuedAt) * 1e6);
    }
    let outcome: Outcome;
    try {
      const { feeds, transfer } = mergeInputs(jobs, batch.rows, this.batched, this.reshapes);
      const sent = performance.now();
      const result = await instance.run(feeds, outputsOf(jobs), transfer);
      const received = performance.now();
      const perJob = splitOutputs(jobs, result.outputs, batch.rows, this.batched, this.reshapes);
      const done = performance.now();
      // The worker round trip beyond the run itself is the cost of moving tensors; charge half each way.
      const transferNs = Math.max(0, (received - sent) * 1e6 - result.inferNs) / 2;
      this.stats.recordExecution(batch.rows, jobs.length, {
        inputNs: (sent - start) * 1e6 + transferNs,
        inferNs: result.inferNs,
        outputNs: (done - received) * 1e6 + transferNs,
      });
      for (const job of jobs) this.stats.recordSuccess((done - job.acceptedAt) * 1e6);
      outcome = perJob;
    } catch (err) {
      outcome = asInferenceError(err);
    }
    this.pool.release(instance);
    this.deliver(seq, { jobs, outcome });
    this.schedule();
    if (this.idleWaiters) this.notifyIfIdle();
  }

  /** A job expired or was cancelled in the queue. */
  private afterRemoval(): void {
    this.schedule();
    if (this.idleWaiters) this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.pending > 0 || !this.idleWaiters) return;
    this.delayWake.cancel();
    const waiters = this.idleWaiters;
    this.idleWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  private deliver(seq: number, batch: FinishedBatch): void {
    if (!this.preserveOrdering) {
      this.answer(batch);
      return;
    }
    this.finished.set(seq, batch);
    for (let next = this.finished.get(this.nextToDeliver); next; next = this.finished.get(this.nextToDeliver)) {
      this.finished.delete(this.nextToDeliver++);
      this.answer(next);
    }
  }

  private answer(batch: FinishedBatch): void {
    this.inBatches -= batch.jobs.length;
    settle(batch);
  }
}

/** Each job's outputs, or the one error every job of the batch gets. */
type Outcome = Tensor[][] | InferenceError;

interface FinishedBatch {
  readonly jobs: readonly InferenceJob[];
  readonly outcome: Outcome;
}

function settle({ jobs, outcome }: FinishedBatch): void {
  if (outcome instanceof InferenceError) {
    for (const job of jobs) job.reject(outcome);
    return;
  }
  for (let i = 0; i < jobs.length; i++) jobs[i].resolve(outcome[i]);
}

/** Every output some job asked for, once each; jobs usually share one list. */
function outputsOf(jobs: readonly InferenceJob[]): string[] {
  const first = jobs[0].outputs;
  const names = [...first];
  for (const { outputs } of jobs) {
    if (outputs === first) continue;
    for (const name of outputs) if (!names.includes(name)) names.push(name);
  }
  return names;
}

function levelPolicies(db: DynamicBatching | undefined, fallback: QueuePolicy): QueuePolicy[] {
  if (!db) return [fallback];
  const levels = Math.max(1, db.priorityLevels);
  return Array.from({ length: levels }, (_, i) => db.priorityQueuePolicy.get(i + 1) ?? db.defaultQueuePolicy);
}
