/** Messages between the main thread and a session worker. Plain data: they cross by structured clone. */
import type { ExecutionProvider, GraphOptimizationLevel } from '../config/schema';
import type { NumericArray, OrtType } from '../tensor/datatype';
import type { NodePlacement } from './node-placement';
import type { SharedChannel } from './shared-handoff';

export interface SessionWorkerData {
  readonly modelPath: string;
  readonly providers: readonly ExecutionProvider[];
  readonly intraOpThreads: number;
  readonly graphOptimizationLevel: GraphOptimizationLevel;
  /** The CUDA device this instance's session asks for (instance_group.gpus); absent: 0. Optional, as the bench scripts make their own. */
  readonly deviceId?: number;
  /** Set: the first provider is required, no fallback; names who requires it, for the error. */
  readonly requiredBy?: string;
  /** Probe node placement on a CPU session too (CUDA sessions always are). */
  readonly probeNodePlacement?: boolean;
}

/** What a session worker starts with: its session's settings and the shared memory of its hand-off. */
export type WorkerStartData = SessionWorkerData & { readonly channel: SharedChannel };

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

export type WorkerReply =
  | {
      readonly kind: 'loaded';
      readonly provider: ExecutionProvider;
      readonly deviceId: number;
      readonly failures: readonly ProviderFailure[];
      /** Where the nodes run, when probed (CUDA sessions, or PROBE_NODE_PLACEMENT). */
      readonly placement: NodePlacement | undefined;
      readonly inputs: readonly IoMetadata[];
      readonly outputs: readonly IoMetadata[];
    }
  | { readonly kind: 'load-failed'; readonly failures: readonly ProviderFailure[] }
  // `output`: the worker's larger output arena, when this result outgrew the old one.
  | { readonly kind: 'result'; readonly id: number; readonly outputs: Record<string, WireTensor>; readonly inferNs: number; readonly output?: SharedArrayBuffer }
  | { readonly kind: 'run-failed'; readonly id: number; readonly message: string };

/** What the main thread sends: a batch to run, or the request to release the session and exit. */
export type WorkerCommand = RunRequest | { readonly kind: 'close' };

export interface RunRequest {
  readonly kind: 'run';
  readonly id: number;
  readonly feeds: Record<string, WireTensor>;
  readonly fetches: readonly string[];
  /** A larger input arena, when this batch outgrew the old one; later batches use it. */
  readonly input?: SharedArrayBuffer;
}

/** What travels in an arena's header beside the tensors. */
export interface SharedRunMeta {
  readonly id: number;
  readonly fetches: readonly string[];
}

export interface SharedResultMeta {
  readonly id: number;
  readonly inferNs: number;
}
