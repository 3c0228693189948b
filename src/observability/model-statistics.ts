/** Per model-version counters with Triton's ModelStatistics meanings; durations in nanoseconds. */
import type { ErrorCode } from '../errors';
import { DurationBuckets } from './metrics/duration-buckets';

export class Duration {
  count = 0;
  ns = 0;
  add(ns: number, count = 1): void {
    this.count += count;
    this.ns += ns;
  }
}

export interface BatchSizeStats {
  readonly computeInput: Duration;
  readonly computeInfer: Duration;
  readonly computeOutput: Duration;
}

export interface ExecutionTimes {
  readonly inputNs: number;
  readonly inferNs: number;
  readonly outputNs: number;
}

export class ModelStatistics {
  /** Rows served: each row of a batched request counts as one inference. */
  inferenceCount = 0;
  /** Model runs, whatever their batch size. */
  executionCount = 0;
  /** Milliseconds since the epoch of the last finished request. */
  lastInference = 0;
  success = new Duration();
  fail = new Duration();
  queue = new Duration();
  computeInput = new Duration();
  computeInfer = new Duration();
  computeOutput = new Duration();
  batchStats = new Map<number, BatchSizeStats>();
  /** Failed requests by error code; `fail` is their total. */
  readonly failures = new Map<ErrorCode, number>();
  /** `success` and `queue` again, bucketed for the Prometheus histograms. */
  readonly successBuckets = new DurationBuckets();
  readonly queueBuckets = new DurationBuckets();

  /** One model run of `batchSize` rows serving `requests` requests. */
  recordExecution(batchSize: number, requests: number, times: ExecutionTimes): void {
    this.executionCount++;
    this.lastInference = Date.now();
    this.inferenceCount += batchSize;
    // Triton charges each request of a batch the batch's compute time.
    this.computeInput.add(times.inputNs * requests, requests);
    this.computeInfer.add(times.inferNs * requests, requests);
    this.computeOutput.add(times.outputNs * requests, requests);
    let perSize = this.batchStats.get(batchSize);
    if (!perSize) {
      perSize = { computeInput: new Duration(), computeInfer: new Duration(), computeOutput: new Duration() };
      this.batchStats.set(batchSize, perSize);
    }
    perSize.computeInput.add(times.inputNs);
    perSize.computeInfer.add(times.inferNs);
    perSize.computeOutput.add(times.outputNs);
  }

  /** An ensemble's request, answered after all its steps: one "execution" of the pipeline (its steps count in their own models). */
  recordEnsembleRun(rows: number, ns: number): void {
    this.executionCount++;
    this.inferenceCount += rows;
    this.lastInference = Date.now();
    this.recordSuccess(ns);
  }

  recordQueued(ns: number): void {
    this.queue.add(ns);
    this.queueBuckets.observe(ns);
  }

  recordSuccess(ns: number): void {
    this.success.add(ns);
    this.successBuckets.observe(ns);
  }

  recordFailure(ns: number, code: ErrorCode): void {
    this.fail.add(ns);
    this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
  }
}
