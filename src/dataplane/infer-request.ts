import type { Cancellation } from '../batching/cancellation';
import type { InferenceError } from '../errors';
import type { Tensor } from '../tensor/tensor';

/** A request parameter's value; int64 and uint64 ones as numbers (exact up to 2^53). */
export type ParameterValue = string | number | boolean;

/** An inference request after decoding, before it is checked against the model. */
export interface InferRequest {
  readonly modelName: string;
  /** Empty: the default (latest ready) version. */
  readonly modelVersion: string;
  readonly id: string;
  readonly inputs: readonly Tensor[];
  /** Requested output names; empty means all of the model's outputs. */
  readonly outputs: readonly string[];
  /** Triton's classification extension: per requested output, the number of top classes to answer with instead of the tensor. */
  readonly classifications?: ReadonlyMap<string, number>;
  /** Triton's `priority` parameter; 0 or absent means the model's default level. */
  readonly priority: number;
  /** Triton's `timeout` parameter in microseconds. */
  readonly timeoutMicros: number | undefined;
  /** Every request parameter, for those a model's configuration names (a rollout's sticky key); undefined: none sent. */
  readonly parameters: ReadonlyMap<string, ParameterValue> | undefined;
  /** performance.now() time of the gRPC deadline. */
  readonly deadlineAt: number | undefined;
  readonly cancellation: Cancellation | undefined;
}

export interface InferResult {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id: string;
  readonly outputs: readonly Tensor[];
}

/**
 * Where one inference's outcome goes: exactly one of the two is called, once. An object
 * rather than a promise so that a request allocates no closures on its way through.
 */
export interface InferReply {
  ok(result: InferResult): void;
  fail(error: InferenceError): void;
}
