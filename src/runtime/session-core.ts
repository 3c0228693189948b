/**
 * One ONNX Runtime session: made with the provider fallback, and run on wire tensors. Shared by
 * the session worker and by an instance on the event loop (event-loop-instance.ts); it runs on
 * whichever thread imports it, and imports onnxruntime-node there.
 */
import { performance } from 'node:perf_hooks';
import * as ort from './onnxruntime';
import { explainCudaFailure } from './cuda-load-reason';
import { cudaProvider } from './cuda-provider-options';
import type { NodePlacement } from './node-placement';
import { PlacementProbe } from './placement-probe';
import { createWithFallback } from './provider-fallback';
import type { IoMetadata, ProviderFailure, SessionWorkerData, WireTensor } from './worker-protocol';
import type { ExecutionProvider } from '../config/schema';

// Provider load failures are reported once, by us, with the reason; ORT's own copy is noise.
ort.env.logLevel = 'fatal';

export interface OpenedSession {
  readonly session: ort.InferenceSession;
  readonly provider: ExecutionProvider;
  readonly deviceId: number;
  readonly failures: readonly ProviderFailure[];
  readonly placement: NodePlacement | undefined;
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

/** ONNX Runtime's options for a session: the settings given, and only those (the binding rejects an explicit undefined). */
export function sessionOptions(options: SessionWorkerData, providers: readonly ExecutionProvider[], deviceId: number): ort.InferenceSession.SessionOptions {
  const interOpThreads = options.interOpThreads ?? 1;
  return {
    executionProviders: providers.map((p) => (p === 'cuda' ? cudaProvider(deviceId) : p)),
    // 0 lets ONNX Runtime pick.
    ...(options.intraOpThreads > 0 && { intraOpNumThreads: options.intraOpThreads }),
    ...(interOpThreads > 0 && { interOpNumThreads: interOpThreads }),
    graphOptimizationLevel: options.graphOptimizationLevel,
    ...(options.executionMode !== undefined && { executionMode: options.executionMode }),
    ...(options.enableCpuMemArena !== undefined && { enableCpuMemArena: options.enableCpuMemArena }),
    ...(options.enableMemPattern !== undefined && { enableMemPattern: options.enableMemPattern }),
    logSeverityLevel: 4,
  };
}

/**
 * Throws NoProviderError, with each provider's reason, when none loads the model (or, with
 * `requiredBy`, when the first does not). A CUDA session is probed for where its nodes run; a CPU
 * one only when `probeNodePlacement` asks, so that CPU loads do not pay for it.
 */
export async function openSession(options: SessionWorkerData): Promise<OpenedSession> {
  const probes = (provider: ExecutionProvider): boolean => provider === 'cuda' || options.probeNodePlacement === true;
  const deviceId = options.deviceId ?? 0;
  const probe = options.providers.some(probes) ? await PlacementProbe.prepare() : undefined;
  try {
    const result = await createWithFallback(
      options.providers,
      (providers) =>
        ort.InferenceSession.create(options.modelPath, {
          ...sessionOptions(options, providers, deviceId),
          // Profiling is on only until the probe's run ends it.
          ...(probe && probes(providers[0]) && probe.sessionOptions),
        }),
      { requiredBy: options.requiredBy, explain: (provider, reason) => (provider === 'cuda' ? explainCudaFailure(reason) : reason) },
    );
    const placement = probe && probes(result.provider) ? await probe.run(result.session) : undefined;
    return {
      ...result,
      deviceId,
      placement,
      inputs: describe(result.session.inputMetadata),
      outputs: describe(result.session.outputMetadata),
    };
  } finally {
    await probe?.dispose();
  }
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
