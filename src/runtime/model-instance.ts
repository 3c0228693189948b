import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { internal, unavailable, type InferenceError } from '../errors';
import type { ExecutionProvider } from '../config/schema';
import type { NodePlacement } from './node-placement';
import { NoProviderError } from './provider-fallback';
import { createChannel, DONE, grownArena, layOut, MESSAGE, readArena, REPLY_VIA, REQUEST, SHARED, VIA, writeArena } from './shared-handoff';
import type { IoMetadata, ProviderFailure, RunRequest, SessionWorkerData, SharedResultMeta, SharedRunMeta, WireTensor, WorkerCommand, WorkerReply, WorkerStartData } from './worker-protocol';

export interface LoadedSession {
  readonly provider: ExecutionProvider;
  /** The CUDA device asked for; meaningful only when provider is 'cuda'. */
  readonly deviceId: number;
  readonly failures: readonly ProviderFailure[];
  /** Where the nodes run, when probed. */
  readonly placement: NodePlacement | undefined;
  readonly inputs: readonly IoMetadata[];
  readonly outputs: readonly IoMetadata[];
}

export interface RunResult {
  readonly outputs: Record<string, WireTensor>;
  readonly inferNs: number;
}

/** A worker that stopped without close(): out of memory, an uncaught exception, process.exit, terminate(). */
export interface InstanceDeath {
  readonly exitCode: number;
  /** What the worker threw, when it stopped on an uncaught exception. */
  readonly error: Error | undefined;
  /** Runs it held, each now failed with UNAVAILABLE. */
  readonly failedRuns: number;
}

/**
 * What a pool, its supervisor, the scheduler and the warm-up need of a session: a worker thread's
 * (ModelInstance, the default) or one on the event loop (EventLoopInstance, opt-in per model).
 */
export interface Instance {
  readonly label: string;
  /** False once it takes no more runs: stopped, failed to load, or closing. */
  readonly alive: boolean;
  readonly loaded: Promise<LoadedSession>;
  run(feeds: Record<string, WireTensor>, fetches: readonly string[], transfer: readonly ArrayBuffer[]): Promise<RunResult>;
  /** Lets a run in progress finish, then releases the session. */
  close(): Promise<void>;
  /** The worker thread, for tests that kill it; none on the event loop. */
  readonly thread?: Worker;
}

interface Pending {
  resolve(result: RunResult): void;
  reject(err: Error): void;
}

/** A command waiting for the worker to finish the one before it: the channel carries one at a time. */
interface Queued {
  readonly command: { readonly kind: 'run'; readonly feeds: Record<string, WireTensor>; readonly fetches: readonly string[]; readonly transfer: readonly ArrayBuffer[] } | { readonly kind: 'close' };
  readonly pending?: Pending;
}

const WORKER_ENTRY = path.join(__dirname, 'session-worker.js');

/**
 * One ONNX Runtime session in its own worker thread; runs one batch at a time. Batches cross
 * through the shared-memory channel of shared-handoff.ts, one at a time, queued here.
 */
export class ModelInstance implements Instance {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly queue: Queued[] = [];
  private readonly control: Int32Array;
  private input: SharedArrayBuffer;
  private output: SharedArrayBuffer;
  /** The number of the last command rung through the channel; the worker stores it in DONE when it has answered. */
  private rung = 0;
  /** A command is with the worker: the next waits. */
  private busy = false;
  private nextId = 1;
  private failure: InferenceError | undefined;
  private closing = false;
  /** An uncaught exception in the worker; its 'exit' follows and reports it. */
  private thrown: Error | undefined;
  private rejectLoad!: (err: Error) => void;
  private readonly exited: Promise<void>;
  readonly loaded: Promise<LoadedSession>;

  /**
   * `label` names the instance in errors ("model 'x' version 1 instance 0"); `onDeath` hears of
   * a worker that stops without close(), once the runs it held have failed.
   */
  constructor(data: SessionWorkerData, readonly label = 'model instance', private readonly onDeath: (death: InstanceDeath) => void = () => {}) {
    const channel = createChannel();
    this.control = new Int32Array(channel.control);
    this.input = channel.input;
    this.output = channel.output;
    this.worker = new Worker(WORKER_ENTRY, { workerData: { ...data, channel } satisfies WorkerStartData });
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.ended(code);
        resolve();
      }),
    );
    this.loaded = new Promise<LoadedSession>((resolve, reject) => {
      this.rejectLoad = reject;
      this.worker.once('message', (reply: WorkerReply) => {
        if (reply.kind === 'loaded') {
          this.worker.on('message', (r: WorkerReply) => this.settle(r));
          resolve(reply);
        } else if (reply.kind === 'load-failed') {
          this.fail(unavailable(`${this.label} failed to load`));
          void this.worker.terminate();
          reject(new NoProviderError(reply.failures, data.requiredBy));
        } else {
          reject(new Error(`session worker sent '${reply.kind}' before loading`));
        }
      });
    });
    this.worker.on('error', (err) => (this.thrown ??= err));
  }

  /** False once the worker has stopped, failed to load, or is closing: it takes no more runs. */
  get alive(): boolean {
    return this.failure === undefined && !this.closing;
  }

  /** The worker thread itself, for tests that kill it; nothing a client can reach. */
  get thread(): Worker {
    return this.worker;
  }

  run(feeds: Record<string, WireTensor>, fetches: readonly string[], transfer: readonly ArrayBuffer[]): Promise<RunResult> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<RunResult>((resolve, reject) => {
      this.queue.push({ command: { kind: 'run', feeds, fetches, transfer }, pending: { resolve, reject } });
      this.ringNext();
    });
  }

  /** Lets a run in progress finish and answer, then the worker releases its session and exits. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      // Never loaded, or already gone: nothing runs there, so stopping it from outside is safe.
      if (this.failure) void this.worker.terminate();
      else {
        this.queue.push({ command: { kind: 'close' } });
        this.ringNext();
      }
    }
    await this.exited;
  }

  /** Sends the next queued command once the worker has answered the last: through the arena when it fits, else by message. */
  private ringNext(): void {
    if (this.busy || this.failure) return;
    const next = this.queue.shift();
    if (!next) return;
    this.busy = true;
    const { command } = next;
    const seq = ++this.rung;
    if (command.kind === 'close') {
      this.worker.postMessage(command satisfies WorkerCommand);
      this.ring(MESSAGE);
      return;
    }
    const id = this.nextId++;
    this.pending.set(id, next.pending!);
    const layout = layOut<SharedRunMeta>({ id, fetches: command.fetches }, command.feeds);
    if (layout && layout.bytes <= this.input.byteLength) {
      writeArena(this.input, layout, command.feeds);
      this.ring(SHARED);
    } else {
      const grown = layout && grownArena(layout.bytes);
      if (grown) this.input = grown;
      const request: RunRequest = { kind: 'run', id, feeds: command.feeds, fetches: command.fetches, ...(grown && { input: grown }) };
      this.worker.postMessage(request, [...command.transfer]);
      this.ring(MESSAGE);
    }
    void this.answered(seq).then((done) => {
      // A reply that went by message settles from the 'message' event instead.
      if (done && Atomics.load(this.control, REPLY_VIA) === SHARED) {
        const { meta, tensors } = readArena<SharedResultMeta>(this.output);
        this.settle({ kind: 'result', id: meta.id, outputs: tensors, inferNs: meta.inferNs });
      }
    });
  }

  private ring(via: typeof SHARED | typeof MESSAGE): void {
    Atomics.store(this.control, VIA, via);
    Atomics.store(this.control, REQUEST, this.rung);
    Atomics.notify(this.control, REQUEST);
  }

  /** Resolves true once the worker has stored `seq` in DONE; false if it stopped first. */
  private async answered(seq: number): Promise<boolean> {
    for (;;) {
      const done = Atomics.load(this.control, DONE);
      if (done === seq) return true;
      if (this.failure) return false;
      const wait = Atomics.waitAsync(this.control, DONE, done);
      if (wait.async) await wait.value;
    }
  }

  private settle(reply: WorkerReply): void {
    if (reply.kind !== 'result' && reply.kind !== 'run-failed') return;
    if (reply.kind === 'result' && reply.output) this.output = reply.output;
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    this.busy = false;
    if (reply.kind === 'result') pending.resolve(reply);
    else pending.reject(internal(`onnxruntime: ${reply.message}`));
    this.ringNext();
  }

  /**
   * The thread is gone. Unless close() or a failed load stopped it, that is a death: the runs it
   * held fail at once, then onDeath hears.
   */
  private ended(exitCode: number): void {
    if (this.closing || this.failure) {
      // A closing worker answers its runs before it exits, so this normally fails nothing.
      const closed = this.failure ?? unavailable(`${this.label} closed`);
      this.fail(closed);
      this.rejectLoad(closed);
      return;
    }
    const error = this.thrown;
    const reason = `${this.label} stopped unexpectedly (exit code ${exitCode}${error ? `: ${error.message}` : ''})`;
    const failedRuns = this.pending.size;
    this.fail(unavailable(`${reason}; retry`));
    this.rejectLoad(new Error(reason));
    this.onDeath({ exitCode, error, failedRuns });
  }

  private fail(err: InferenceError): void {
    this.failure ??= err;
    // Wakes answered(), which sees the failure and stops waiting.
    Atomics.notify(this.control, DONE);
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
  }
}
