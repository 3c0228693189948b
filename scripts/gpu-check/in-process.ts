/**
 * ONNX Runtime in this process, as the server opens its sessions (src/runtime/session-core.ts's
 * openSession: the same options, the same CUDA provider entry, the same placement probe), one
 * run after another at each batch size: no gRPC, no queue, no worker thread.
 */
import { ceilingRow, timeRuns, type OrtCeiling } from '../bench/ort-ceiling';
import type { ExecutionProvider } from '../../src/config/schema';
import * as ort from '../../src/runtime/onnxruntime';
import { openSession } from '../../src/runtime/session-core';
import type { CheckModel } from './models';

export const REQUIRED_BY = 'scripts/gpu-check';

/** The bench's ceiling row (its CPU is the host's, the GPU's time not in it), for one model, provider and thread count. */
export interface InProcessRow extends OrtCeiling {
  readonly model: string;
  readonly provider: ExecutionProvider;
  /** ORT intra-op threads; 0: ONNX Runtime's default (one per core). */
  readonly threads: number;
  readonly meanMs: number;
}

export interface OpenedCheckSession {
  readonly session: ort.InferenceSession;
  readonly provider: ExecutionProvider;
  readonly nodesByProvider: Readonly<Record<string, number>>;
  readonly placementError: string | undefined;
}

/**
 * A session on `provider` alone (CUDA keeps CPU behind it for the nodes it has no kernel for,
 * as the server's KIND_GPU does), with no fallback to another provider: NoProviderError with
 * the reason when it cannot be had. The placement is always probed.
 */
export async function openCheckSession(file: string, provider: ExecutionProvider, threads: number): Promise<OpenedCheckSession> {
  const opened = await openSession({
    modelPath: file,
    providers: provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    intraOpThreads: threads,
    graphOptimizationLevel: 'all',
    requiredBy: REQUIRED_BY,
    probeNodePlacement: true,
  });
  return {
    session: opened.session,
    provider: opened.provider,
    nodesByProvider: opened.placement?.nodesByProvider ?? {},
    placementError: opened.placement?.error,
  };
}

/** Runs at each batch size for about `seconds` each (at least 3 runs), after a warm-up. */
export async function measureInProcess(
  model: CheckModel,
  session: ort.InferenceSession,
  provider: ExecutionProvider,
  threads: number,
  batches: readonly number[],
  seconds: number,
  onRow: (row: InProcessRow) => void,
): Promise<InProcessRow[]> {
  const rows: InProcessRow[] = [];
  for (const batchSize of batches) {
    const feeds = { [model.input]: new ort.Tensor('float32', model.rows(batchSize), [batchSize, ...model.rowShape]) };
    const timed = await timeRuns(session, feeds, seconds, Math.min(250, seconds * 250));
    const row: InProcessRow = { ...ceilingRow(batchSize, timed), model: model.name, provider, threads, meanMs: timed.meanMs };
    rows.push(row);
    onRow(row);
  }
  return rows;
}
