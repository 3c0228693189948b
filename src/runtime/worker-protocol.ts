/** Messages between the main thread and a session worker. Plain data: they cross by structured clone. */
import type { ExecutionProvider, GraphOptimizationLevel } from '../config/schema';
import type { NumericArray, OrtType } from '../tensor/datatype';
import type { NodePlacement } from './node-placement';

export interface SessionWorkerData {
  readonly modelPath: string;
  readonly providers: readonly ExecutionProvider[];
  /** 0: ONNX Runtime picks (one per core). */
  readonly intraOpThreads: number;
  readonly graphOptimizationLevel: GraphOptimizationLevel;
  /** Absent: 1. 0: ONNX Runtime picks. */
  readonly interOpThreads?: number;
  readonly executionMode?: 'sequential' | 'parallel';
  readonly enableCpuMemArena?: boolean;
  readonly enableMemPattern?: boolean;
  /** The CUDA device this instance's session asks for (instance_group.gpus); absent: 0. Optional, as the bench scripts make their own. */
  readonly deviceId?: number;
  /** Set: the first provider is required, no fallback; names who requires it, for the error. */
  readonly requiredBy?: string;
  /** Probe node placement on a CPU session too (CUDA sessions always are). */
  readonly probeNodePlacement?: boolean;
}

/** Tensor as it crosses threads: ORT's own type names, strings for ORT string tensors. */
export interface WireTensor {
  readonly type: OrtType;
  readonly dims: readonly number[];
  readonly data: NumericArray | string[];
}

export interface IoMetadata {
  readonly name: string;
  /** ORT element type, or undefined for a non-tensor value. */
  readonly type: string | undefined;
  /** Fixed dims as numbers; symbolic or unknown dims as -1. */
  readonly shape: readonly number[];
}

export interface ProviderFailure {
  readonly provider: ExecutionProvider;
  readonly reason: string;
}

/** What a session that loaded reports: where it runs and what it takes and gives. */
export interface LoadedSession {
  readonly provider: ExecutionProvider;
  /** The CUDA device asked for; meaningful only when provider is 'cuda'. */
  readonly deviceId: number;
  readonly failures: readonly ProviderFailure[];
  /** Where the nodes run, when probed (CUDA sessions, or PROBE_NODE_PLACEMENT). */
  readonly placement: NodePlacement | undefined;
  readonly inputs: readonly IoMetadata[];
  readonly outputs: readonly IoMetadata[];
}

export type WorkerReply =
  | ({ readonly kind: 'loaded' } & LoadedSession)
  | { readonly kind: 'load-failed'; readonly failures: readonly ProviderFailure[] }
  | { readonly kind: 'result'; readonly id: number; readonly outputs: Record<string, WireTensor>; readonly inferNs: number }
  | { readonly kind: 'run-failed'; readonly id: number; readonly message: string };

/** What the main thread sends: a batch to run, or the request to release the session and exit. */
export type WorkerCommand = RunRequest | { readonly kind: 'close' };

export interface RunRequest {
  readonly kind: 'run';
  readonly id: number;
  readonly feeds: Record<string, WireTensor>;
  readonly fetches: readonly string[];
}
