/** Hand-made InferenceJob and QueuedJob objects for the batching unit tests. */
import { performance } from 'node:perf_hooks';
import type { Cancellation } from '../../src/batching/cancellation';
import type { InferenceJob } from '../../src/batching/inference-job';
import type { QueuedJob } from '../../src/batching/policy-queue';
import type { QueuePolicy } from '../../src/repository/model-config';
import type { Tensor } from '../../src/tensor/tensor';

export interface FakeJob extends InferenceJob {
  /** Label for assertions about order. */
  readonly label: string;
  /** What the queue or scheduler did with it. */
  readonly outcome: { resolved?: Tensor[]; rejected?: Error; settledAt?: number };
  /** Resolves when resolve() or reject() is called. */
  readonly settled: Promise<void>;
}

export interface FakeJobOptions {
  label?: string;
  rows?: number;
  shapeKey?: string;
  inputs?: readonly Tensor[];
  outputs?: readonly string[];
  priority?: number;
  deadlineAt?: number;
  timeoutMicros?: number;
  cancellation?: Cancellation;
}

export function fakeJob(options: FakeJobOptions = {}): FakeJob {
  const outcome: FakeJob['outcome'] = {};
  let done!: () => void;
  const settled = new Promise<void>((resolve) => (done = resolve));
  return {
    label: options.label ?? '',
    inputs: options.inputs ?? [],
    rows: options.rows ?? 1,
    shapeKey: options.shapeKey ?? '8;',
    outputs: options.outputs ?? ['y'],
    priority: options.priority ?? 1,
    acceptedAt: performance.now(),
    deadlineAt: options.deadlineAt,
    timeoutMicros: options.timeoutMicros,
    cancellation: options.cancellation,
    outcome,
    settled,
    resolve(outputs: Tensor[]) {
      if (outcome.resolved || outcome.rejected) throw new Error(`job ${options.label ?? ''} settled twice`);
      outcome.resolved = outputs;
      outcome.settledAt = performance.now();
      done();
    },
    reject(err: Error) {
      if (outcome.resolved || outcome.rejected) throw new Error(`job ${options.label ?? ''} settled twice`);
      outcome.rejected = err;
      outcome.settledAt = performance.now();
      done();
    },
  };
}

/** A queue entry as PolicyQueue makes them, for feeding batch-former directly. */
export function entry(job: InferenceJob, enqueuedAt = performance.now()): QueuedJob {
  return { job, enqueuedAt, delayed: false, queued: true, timeoutAt: Number.POSITIVE_INFINITY, wakeAt: Number.POSITIVE_INFINITY };
}

export function policy(overrides: Partial<QueuePolicy> = {}): QueuePolicy {
  return { maxQueueSize: 100, defaultTimeoutMicros: 0, allowTimeoutOverride: false, timeoutAction: 'REJECT', ...overrides };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Watches the global setTimeout/clearTimeout (what the code under test calls) until stop():
 * pending() counts the timers created since start that have neither fired nor been cleared.
 */
export function trackTimers(): { pending(): number; created(): number; stop(): void } {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const live = new Set<unknown>();
  let created = 0;
  const patchedSet = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const handle: NodeJS.Timeout = realSet(() => {
      live.delete(handle);
      callback(...args);
    }, ms);
    live.add(handle);
    created++;
    return handle;
  }) as unknown as typeof setTimeout;
  const patchedClear = ((handle: NodeJS.Timeout | string | number | undefined) => {
    live.delete(handle);
    realClear(handle);
  }) as typeof clearTimeout;
  globalThis.setTimeout = patchedSet;
  globalThis.clearTimeout = patchedClear;
  return {
    pending: () => live.size,
    created: () => created,
    stop: () => {
      globalThis.setTimeout = realSet;
      globalThis.clearTimeout = realClear;
    },
  };
}
