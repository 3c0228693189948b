/**
 * One ONNX Runtime session: made with the provider fallback, and run on wire tensors. Shared by
 * the session worker and by an instance on the event loop (event-loop-instance.ts); it runs on
 * whichever thread imports it, and imports onnxruntime-node there.
 */
import { performance } from 'node:perf_hooks';
import * as ort from './onnxruntime';
import { createWithFallback } from './provider-fallback';
import type { IoMetadata, ProviderFailure, SessionWorkerData, WireTensor } from './worker-protocol';
import type { ExecutionProvider } from '../config/schema';

// Provider load failures are reported once, by us, with the reason; ORT's own copy is noise.
ort.env.logLevel = 'fatal';

export interface OpenedSession {
  readonly session: ort.InferenceSession;
  readonly provider: ExecutionProvider;
  readonly failures: readonly ProviderFailure[];
  readonly inputs: IoMetadata[];
  readonly outputs: IoMetadata[];
}

function describe(metadata: readonly ort.InferenceSession.ValueMetadata[]): IoMetadata[] {
  return metadata.map((m) => ({
    name: m.name,
    type: m.isTensor ? m.type : undefined,
    shape: m.isTensor ? m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) : [],
  }));
}

/** Throws NoProviderError, with each provider's reason, when none loads the model. */
export async function openSession(options: SessionWorkerData): Promise<OpenedSession> {
  const result = await createWithFallback(options.providers, (providers) =>
    ort.InferenceSession.create(options.modelPath, {
      executionProviders: [...providers],
      // 0 lets ONNX Runtime pick; the binding rejects an explicit undefined.
      ...(options.intraOpThreads > 0 && { intraOpNumThreads: options.intraOpThreads }),
      interOpNumThreads: 1,
      graphOptimizationLevel: options.graphOptimizationLevel,
      logSeverityLevel: 4,
    }),
  );
  return { ...result, inputs: describe(result.session.inputMetadata), outputs: describe(result.session.outputMetadata) };
}

export interface SessionRun {
  readonly outputs: Record<string, WireTensor>;
  readonly inferNs: number;
}

/** Throws ONNX Runtime's own error when the run fails. */
export async function runSession(session: ort.InferenceSession, feedsIn: Record<string, WireTensor>, fetches: readonly string[]): Promise<SessionRun> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const name in feedsIn) {
    const t = feedsIn[name];
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  const started = performance.now();
  const results = await session.run(feeds, [...fetches]);
  const inferNs = Math.round((performance.now() - started) * 1e6);
  const outputs: Record<string, WireTensor> = {};
  for (const name in results) {
    const t = results[name];
    outputs[name] = { type: t.type as WireTensor['type'], dims: t.dims, data: t.data as WireTensor['data'] };
  }
  return { outputs, inferNs };
}
