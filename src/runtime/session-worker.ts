/**
 * Worker-thread entry: owns one ONNX Runtime session so that session.run, which blocks
 * its thread for the whole run, never stalls the gRPC event loop.
 *
 * Between batches the thread sleeps in Atomics.wait on its channel (shared-handoff.ts), not in
 * its event loop: a batch arrives in shared memory, or as a message taken with
 * receiveMessageOnPort when the channel says so. No 'message' listener is ever attached.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import * as ort from './onnxruntime';
import { NoProviderError } from './provider-fallback';
import { openSession, runSession } from './session-core';
import { DONE, grownArena, layOut, MESSAGE, readArena, REPLY_VIA, REQUEST, SHARED, VIA, writeArena } from './shared-handoff';
import type { RunRequest, SharedResultMeta, SharedRunMeta, WorkerCommand, WorkerReply, WorkerStartData } from './worker-protocol';

const port = parentPort;
if (!port) throw new Error('session-worker must run in a worker thread');
const options = workerData as WorkerStartData;
const control = new Int32Array(options.channel.control);
let input = options.channel.input;
let output = options.channel.output;

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

/** Answers through the output arena when the outputs fit, else by message (with a larger arena for next time). */
async function run(session: ort.InferenceSession, request: RunRequest): Promise<void> {
  try {
    const { outputs, inferNs } = await runSession(session, request.feeds, request.fetches);
    const layout = layOut<SharedResultMeta>({ id: request.id, inferNs }, outputs);
    if (layout && layout.bytes <= output.byteLength) {
      writeArena(output, layout, outputs);
      Atomics.store(control, REPLY_VIA, SHARED);
      return;
    }
    const grown = layout && grownArena(layout.bytes);
    if (grown) output = grown;
    const transfer = new Set<ArrayBuffer>();
    for (const name in outputs) {
      const { data } = outputs[name];
      if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer) transfer.add(data.buffer);
    }
    Atomics.store(control, REPLY_VIA, MESSAGE);
    reply({ kind: 'result', id: request.id, outputs, inferNs, ...(grown && { output: grown }) }, [...transfer]);
  } catch (err) {
    Atomics.store(control, REPLY_VIA, MESSAGE);
    reply({ kind: 'run-failed', id: request.id, message: err instanceof Error ? err.message : String(err) });
  }
}

function nextCommand(): WorkerCommand {
  if (Atomics.load(control, VIA) === SHARED) {
    const { meta, tensors } = readArena<SharedRunMeta>(input);
    return { kind: 'run', id: meta.id, feeds: tensors, fetches: meta.fetches };
  }
  const received = receiveMessageOnPort(port!);
  if (!received) throw new Error('session worker: rung for a message, and none came');
  const command = received.message as WorkerCommand;
  if (command.kind === 'run' && command.input) input = command.input;
  return command;
}

/**
 * Commands are handled in order, and a run holds the thread until it ends, so 'close' comes
 * after every run sent before it. Exiting from here is the only safe way to stop: a worker
 * terminated from outside while ONNX Runtime runs aborts the whole process.
 */
void load().then(async (session) => {
  if (!session) return;
  let seen = 0;
  for (;;) {
    Atomics.wait(control, REQUEST, seen);
    seen = Atomics.load(control, REQUEST);
    const command = nextCommand();
    if (command.kind === 'close') {
      await session.release();
      process.exit(0);
    }
    await run(session, command);
    Atomics.store(control, DONE, seen);
    Atomics.notify(control, DONE);
  }
});
