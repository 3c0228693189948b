/**
 * Worker-thread entry: owns one ONNX Runtime session so that session.run, which blocks
 * its thread for the whole run, never stalls the gRPC event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from './onnxruntime';
import { NoProviderError } from './provider-fallback';
import { openSession, runSession } from './session-core';
import type { RunRequest, SessionWorkerData, WorkerCommand, WorkerReply } from './worker-protocol';

const port = parentPort;
if (!port) throw new Error('session-worker must run in a worker thread');
const options = workerData as SessionWorkerData;

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function load(): Promise<ort.InferenceSession | undefined> {
  try {
    const { session, provider, deviceId, failures, placement, inputs, outputs } = await openSession(options);
    reply({ kind: 'loaded', provider, deviceId, failures, placement, inputs, outputs });
    return session;
  } catch (err) {
    const failures = err instanceof NoProviderError ? err.failures : [{ provider: options.providers[0], reason: String(err) }];
    reply({ kind: 'load-failed', failures });
    return undefined;
  }
}

async function run(session: ort.InferenceSession, request: RunRequest): Promise<void> {
  try {
    const { outputs, inferNs } = await runSession(session, request.feeds, request.fetches);
    const transfer = new Set<ArrayBuffer>();
    for (const name in outputs) {
      const { data } = outputs[name];
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
