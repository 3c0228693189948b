/**
 * Worker-thread entry: owns one ONNX Runtime session so that session.run, which blocks
 * its thread for the whole run, never stalls the gRPC event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from './onnxruntime';
import { performance } from 'node:perf_hooks';
import { createWithFallback, NoProviderError } from './provider-fallback';
import type { IoMetadata, RunRequest, SessionWorkerData, WireTensor, WorkerCommand, WorkerReply } from './worker-protocol';

const port = parentPort;
if (!port) throw new Error('session-worker must run in a worker thread');
const options = workerData as SessionWorkerData;
// Provider load failures are reported once, by us, with the reason; ORT's own copy is noise.
ort.env.logLevel = 'fatal';

function describe(metadata: readonly ort.InferenceSession.ValueMetadata[]): IoMetadata[] {
  return metadata.map((m) => ({
    name: m.name,
    type: m.isTensor ? m.type : undefined,
    shape: m.isTensor ? m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) : [],
  }));
}

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function load(): Promise<ort.InferenceSession | undefined> {
  try {
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
    reply({
      kind: 'loaded',
      provider: result.provider,
      failures: result.failures,
      inputs: describe(result.session.inputMetadata),
      outputs: describe(result.session.outputMetadata),
    });
    return result.session;
  } catch (err) {
    const failures = err instanceof NoProviderError ? err.failures : [{ provider: options.providers[0], reason: String(err) }];
    reply({ kind: 'load-failed', failures });
    return undefined;
  }
}

async function run(session: ort.InferenceSession, request: RunRequest): Promise<void> {
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name in request.feeds) {
      const t = request.feeds[name];
      feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    }
    const started = performance.now();
    const results = await session.run(feeds, [...request.fetches]);
    const inferNs = Math.round((performance.now() - started) * 1e6);
    const outputs: Record<string, WireTensor> = {};
    const transfer = new Set<ArrayBuffer>();
    for (const name in results) {
      const t = results[name];
      const data = t.data as WireTensor['data'];
      outputs[name] = { type: t.type as WireTensor['type'], dims: t.dims, data };
      if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer) transfer.add(data.buffer);
    }
    reply({ kind: 'result', id: request.id, outputs, inferNs }, [...transfer]);
  } catch (err) {
    reply({ kind: 'run-failed', id: request.id, message: err instanceof Error ? err.message : String(err) });
  }
}

/**
 * Commands are handled in order, and a run holds the thread until it ends, so 'close' comes
 * after every run sent before it. Exiting from here is the only safe way to stop: a worker
 * terminated from outside while ONNX Runtime runs aborts the whole process.
 */
void load().then((session) => {
  if (!session) return;
  port.on('message', (command: WorkerCommand) => {
    if (command.kind === 'run') {
      void run(session, command);
      return;
    }
    void session.release().finally(() => process.exit(0));
  });
});
