import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { internal, unavailable, type InferenceError } from '../errors';
import { NoProviderError } from './provider-fallback';
import type { LoadedSession, RunRequest, SessionWorkerData, WireTensor, WorkerCommand, WorkerReply } from './worker-protocol';

export type { LoadedSession };

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

const WORKER_ENTRY = path.join(__dirname, 'session-worker.js');

/** One ONNX Runtime session in its own worker thread; runs one batch at a time. */
export class ModelInstance implements Instance {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
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
    this.worker = new Worker(WORKER_ENTRY, { workerData: data });
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
    const id = this.nextId++;
    const request: RunRequest = { kind: 'run', id, feeds, fetches };
    return new Promise<RunResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(request, [...transfer]);
    });
  }

  /** Lets a run in progress finish and answer, then the worker releases its session and exits. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      // Never loaded, or already gone: nothing runs there, so stopping it from outside is safe.
      if (this.failure) void this.worker.terminate();
      else this.worker.postMessage({ kind: 'close' } satisfies WorkerCommand);
    }
    await this.exited;
  }

  private settle(reply: WorkerReply): void {
    if (reply.kind !== 'result' && reply.kind !== 'run-failed') return;
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (reply.kind === 'result') pending.resolve(reply);
    else pending.reject(internal(`onnxruntime: ${reply.message}`));
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
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
  }
}
