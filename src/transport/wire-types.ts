/**
 * The shapes of the protobuf messages the handlers touch, as @grpc/proto-loader
 * delivers them with LOADER_OPTIONS (int64 as strings, absent fields undefined), or as
 * infer-request-decoder.ts delivers a ModelInferRequest (the same, with int64 dims as numbers when exact).
 */
import type { WireInputTensor } from './codec';

export interface WireParameter {
  readonly parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  readonly bool_param?: boolean;
  readonly int64_param?: string;
  readonly string_param?: string;
  readonly double_param?: number;
  readonly uint64_param?: string;
}

export interface WireInferRequest {
  readonly model_name?: string;
  readonly model_version?: string;
  readonly id?: string;
  readonly parameters?: Record<string, WireParameter>;
  readonly inputs?: WireInputTensor[];
  readonly outputs?: { readonly name?: string; readonly parameters?: Record<string, WireParameter> }[];
  readonly raw_input_contents?: Uint8Array[];
  /**
   * Set, with the protobuf reader's reason, in place of every field when the bytes are not a
   * ModelInferRequest: a throw from a deserializer would reach the client as INTERNAL
   * 'Error deserializing request', a server fault, and end a whole stream.
   */
  readonly malformed?: string;
  /** Set instead of every field when the message is protobuf but past a decoding bound (infer-request-census.ts). */
  readonly refused?: string;
}

export interface ModelRef {
  readonly name?: string;
  readonly version?: string;
}

export interface WireRepositoryParameter {
  readonly parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'bytes_param';
  readonly bool_param?: boolean;
  readonly int64_param?: string;
  readonly string_param?: string;
  readonly bytes_param?: Uint8Array;
}

export interface WireRepositoryIndexRequest {
  readonly repository_name?: string;
  readonly ready?: boolean;
}

/** RepositoryModelLoadRequest and RepositoryModelUnloadRequest have the same fields. */
export interface WireModelControlRequest {
  readonly repository_name?: string;
  readonly model_name?: string;
  readonly parameters?: Record<string, WireRepositoryParameter>;
}
