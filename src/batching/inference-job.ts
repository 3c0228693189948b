import type { Tensor } from '../tensor/tensor';
import type { Cancellation } from './cancellation';

/** A validated request waiting for, or inside, a batch. */
export interface InferenceJob {
  readonly inputs: readonly Tensor[];
  /** Rows this job adds to a batch: the first dimension when the model batches, else 1. */
  readonly rows: number;
  /** Jobs join one batch only when their keys (non-batch dims of every input) are equal. */
  readonly shapeKey: string;
  /** Output names to return; the model's outputs when the client named none. */
  readonly outputs: readonly string[];
  /** Priority level, 1 is highest; already resolved against the model's default. */
  readonly priority: number;
  /** performance.now() when the job was accepted. */
  readonly acceptedAt: number;
  /** performance.now() after which the client has gone (gRPC deadline): reject without running. */
  readonly deadlineAt: number | undefined;
  /** Queue timeout in microseconds asked by the request's `timeout` parameter, if any. */
  readonly timeoutMicros: number | undefined;
  readonly cancellation: Cancellation | undefined;
  resolve(outputs: Tensor[]): void;
  reject(err: Error): void;
}
