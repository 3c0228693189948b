import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { internal, unavailable } from '../errors';
import type { ExecutionProvider } from '../config/schema';
import { NoProviderError } from './provider-fallback';
import type { IoMetadata, ProviderFailure, RunRequest, SessionWorkerData, WireTensor, WorkerCommand, WorkerReply } from './worker-protocol';

export interface LoadedSession {
  readonly provider: ExecutionProvider;
  readonly failures: readonly ProviderFailure[];
  readonly inputs: readonly IoMetadata[];
  readonly outputs: readonly IoMetadata[];
}

export interface RunResult {
  readonly outputs: Record<string, WireTensor>;
  readonly inferNs: number;
}

interface Pending {
  resolve(result: RunResult): void;
  reject(err: Error): void;
}

const WORKER_ENTRY = path.join(__dirname, 'session-worker.js');

/** One ONNX Runtime session in its own worker thread; runs one batch at a time. */
export class ModelInstance {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  private closing = false;
  private readonly exited: Promise<void>;
  readonly loaded: Promise<LoadedSession>;

  constructor(data: SessionWorkerData) {
    this.worker = new Worker(WORKER_ENTRY, { workerData: data });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.loaded = new Promise<LoadedSession>((resolve, reject) => {
      this.worker.once('message', (reply: WorkerReply) => {
        if (reply.kind === 'loaded') {
          this.worker.on('message', (r: WorkerReply) => this.settle(r));
          resolve(reply);
        } else if (reply.kind === 'load-failed') {
          this.fail(unavailable('model instance failed to load'));
          void this.worker.terminate();
          reject(new NoProviderError(reply.failures));
        } else {
          reject(new Error(`session worker sent '${reply.kind}' before loading`));
        }
      });
      this.worker.once('error', (err) => reject(err));
    });
    this.worker.on('error', (err) => this.fail(internal(`model instance crashed: ${err.message}`)));
    this.worker.on('exit', (code) => this.fail(unavailable(`model instance exited with code ${code}`)));
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

  private fail(err: Error): void {
    this.failure ??= err;
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
  }
}
