/**
 * A session worker that dies is noticed and replaced: a real server over copies of the sized
 * slow model (about SLOW_TARGET_MS a run, so a request is held long enough to be killed under),
 * real ONNX Runtime workers and a real gRPC client. Under load, a worker is made to stop by itself
 * (process.exit, an uncaught exception) instead of posting a result, so it dies holding a request;
 * the inspector reaches a worker thread from this process and from nowhere a client could.
 * terminate() kills an idle worker only: during an ONNX Runtime call it aborts the whole process
 * (docs/architecture.md).
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as inspector from 'node:inspector/promises';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import type { ModelState, ModelVersion } from '../src/repository/model-version';
import { infer, maxAbsDiff, rowsOf, statistics, type Outcome } from './support/batching-client';
import { sizedSlowModel, slowReference, SLOW_FEATURES, writeTempRepository } from './support/batching-slow-model';
import { createHealthClient, removeDir } from './support/e2e-helpers';
import { startTestServer, type TestServer } from './support/server';
import { waitFor } from './support/wait-for';
import { onnxVersion } from './support/onnx-version';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly model?: string;
  readonly version?: number;
  readonly instance?: number;
  readonly exit_code?: number;
  readonly failed_runs?: number;
  readonly attempt?: number;
  readonly attempts?: number;
  readonly retry_in_ms?: number;
  readonly err?: string;
  /** performance.now() when the line was written, stamped here. */
  readonly at: number;
}

const ERROR = 50;
const WARN = 40;
const INFO = 30;

/** The process's worker threads seen through the inspector: which live, and code run inside one. */
class WorkerInspector {
  private readonly session = new inspector.Session();
  /** Inspector session id by thread id, for every worker thread alive now. */
  private readonly sessions = new Map<number, string>();
  /** Thread ids in the order their workers started. */
  readonly started: number[] = [];
  private readonly answers = new Map<number, (answer: EvaluateAnswer) => void>();
  private nextId = 1;

  async open(): Promise<void> {
    this.session.connect();
    this.session.on('NodeWorker.attachedToWorker', ({ params }) => {
      // The inspector numbers workers its own way; the title names the thread: "[worker <threadId>]".
      const threadId = Number(/^\[worker (\d+)\]/.exec(params.workerInfo.title)![1]);
      this.sessions.set(threadId, params.sessionId);
      this.started.push(threadId);
    });
    this.session.on('NodeWorker.detachedFromWorker', ({ params }) => {
      for (const [threadId, sessionId] of this.sessions) if (sessionId === params.sessionId) this.sessions.delete(threadId);
    });
    this.session.on('NodeWorker.receivedMessageFromWorker', ({ params }) => {
      const answer = JSON.parse(params.message) as EvaluateAnswer;
      this.answers.get(answer.id)?.(answer);
    });
    await this.session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  }

  alive(threadId: number): boolean {
    return this.sessions.has(threadId);
  }

  /** Runs `expression` on the worker's own thread (it must be idle) and waits until it has. */
  async evaluate(threadId: number, expression: string): Promise<void> {
    const sessionId = await waitFor(`the inspector attached to worker ${threadId}`, () => this.sessions.get(threadId), (id) => id !== undefined);
    const id = this.nextId++;
    const answered = new Promise<EvaluateAnswer>((resolve) => this.answers.set(id, resolve));
    await this.session.post('NodeWorker.sendMessageToWorker', { sessionId: sessionId!, message: JSON.stringify({ id, method: 'Runtime.evaluate', params: { expression } }) });
    const answer = await answered;
    this.answers.delete(id);
    expect(answer.error ?? answer.result?.exceptionDetails, `evaluating in worker ${threadId}`).to.equal(undefined);
  }

  close(): void {
    this.session.disconnect();
  }
}

interface EvaluateAnswer {
  readonly id: number;
  readonly error?: unknown;
  readonly result?: { exceptionDetails?: unknown };
}

/**
 * In the worker: the first result it would post is never posted; `stop` runs instead, so the
 * worker stops while the main thread still waits for that request's answer.
 */
const onFirstResult = (stop: string): string => `(() => {
  const port = process.getBuiltinModule('node:worker_threads').parentPort;
  const post = port.postMessage.bind(port);
  let stopped = false;
  port.postMessage = (message, transfer) => {
    if (stopped) return;
    if (message.kind !== 'result') return post(message, transfer);
    stopped = true;
    ${stop};
  };
})()`;

const warmupFile = (repo: string, model: string): string => path.join(repo, model, 'warmup', 'x.bin');

describe('e2e: a session worker that dies is replaced', function () {
  this.timeout(60_000);
  let repo: string;
  let t: TestServer;
  const workers = new WorkerInspector();
  const logs: LogLine[] = [];
  /** Every state each version has been in since the server started, by model name. */
  const states = new Map<string, ModelState[]>();

  before(async () => {
    const onnx = await sizedSlowModel();
    const config = (count: number): object => ({ max_batch_size: 1, dynamic_batching: {}, instance_group: [{ count, kind: 'KIND_CPU' }] });
    repo = writeTempRepository([
      { name: 'pair', onnx, config: config(2) },
      { name: 'single', onnx, config: config(1) },
      { name: 'reloaded', onnx, config: config(1) },
      {
        name: 'rewarmed',
        onnx,
        config: { ...config(1), model_warmup: [{ name: 'from_file', batch_size: 1, inputs: { x: { data_type: 'TYPE_FP32', dims: [SLOW_FEATURES], input_data_file: 'x.bin' } } }] },
      },
      { name: 'closing', onnx, config: config(1) },
    ]);
    fs.mkdirSync(path.dirname(warmupFile(repo, 'rewarmed')), { recursive: true });
    fs.writeFileSync(warmupFile(repo, 'rewarmed'), Buffer.from(rowsOf(9, 1, SLOW_FEATURES).buffer));
    await workers.open();
    const log = pino({ level: 'info' }, { write: (line: string) => void logs.push({ ...(JSON.parse(line) as Omit<LogLine, 'at'>), at: performance.now() }) });
    // One ONNX Runtime thread per instance, as the batching tests: runs are CPU-bound on small machines.
    t = await startTestServer({ MODEL_REPOSITORY: repo, ORT_INTRA_OP_THREADS: '1' }, log);
    expect((await t.client.unary<{ ready: boolean }>('ServerReady', {})).ready, 'every model loaded').to.equal(true);
    for (const { name } of t.server.repository.entries()) states.set(name, [version(name).state]);
    t.server.repository.on('change', () => {
      for (const [name, seen] of states) {
        // Gone from the repository once the server stops.
        const state = t.server.repository.get(name)?.versions.get(1)?.state;
        if (state && seen[seen.length - 1] !== state) seen.push(state);
      }
    });
  });

  after(async () => {
    await t?.stop();
    workers.close();
    removeDir(repo);
  });

  const version = (model: string): ModelVersion => onnxVersion(t.server.repository.get(model)!.versions.get(1));
  const modelReady = async (model: string): Promise<boolean> => (await t.client.unary<{ ready: boolean }>('ModelReady', { name: model, version: '1' })).ready;
  const slow = (model: string, seed: number): Promise<Outcome> => infer(t.client, model, rowsOf(seed, 1, SLOW_FEATURES), SLOW_FEATURES);
  const logsOf = (model: string, msg: string): LogLine[] => logs.filter((l) => l.model === model && l.msg === msg);
  const deathsOf = (model: string): LogLine[] => logsOf(model, 'model instance stopped unexpectedly; starting a replacement');
  const failedStartsOf = (model: string): LogLine[] => logsOf(model, 'replacement model instance failed to start; retrying');

  function expectSlowAnswer(o: Outcome, seed: number): void {
    expect(o.code, o.details).to.equal(status.OK);
    const y = o.outputs.get('y');
    expect(y, 'output y').to.not.equal(undefined);
    expect(maxAbsDiff(y!.data, slowReference(rowsOf(seed, 1, SLOW_FEATURES)))).to.be.below(1e-5);
  }

  const untilReady = (model: string): Promise<boolean> => waitFor(`ModelReady of ${model}`, () => modelReady(model), (ready) => ready);

  /** While the version is unready, a new request is refused at once, and says so. */
  async function expectRefused(model: string): Promise<void> {
    expect(await modelReady(model), 'ModelReady while an instance is replaced').to.equal(false);
    const refused = await slow(model, 99);
    expect(status[refused.code], refused.details).to.equal('UNAVAILABLE');
    expect(refused.details).to.equal(`model '${model}' has no ready version: version 1: a model instance stopped unexpectedly and its replacement is starting; retry`);
  }

  it('a worker that exits under load fails only the request it held; the other instance and the replacement serve the rest', async () => {
    const pool = version('pair').pool;
    const dead = pool.instances[0];
    const health = createHealthClient(t.port);
    const watched: string[] = [];
    const watch = health.watch('pair', (serving) => watched.push(serving));
    // Cancelling ends the call with an error event; without a listener that would be thrown.
    watch.on('error', () => undefined);
    await waitFor('the first status of Watch', () => watched.length, (n) => n > 0);
    await workers.evaluate(dead.thread!.threadId, onFirstResult('process.exit(3)'));
    // max_batch_size 1 and two instances: two runs start at once and four requests queue behind them.
    const seeds = [1, 2, 3, 4, 5, 6];
    const outcomes = seeds.map((seed) => slow('pair', seed));
    await waitFor('the death', () => deathsOf('pair'), (lines) => lines.length > 0);
    await expectRefused('pair');

    const results = await Promise.all(outcomes);
    const failed = results.filter((o) => o.code !== status.OK);
    expect(failed.map((o) => status[o.code]), 'only the request on the dead instance failed').to.deep.equal(['UNAVAILABLE']);
    expect(failed[0].details).to.equal("model 'pair' version 1 instance 0 stopped unexpectedly (exit code 3); retry");
    results.forEach((o, i) => {
      if (o !== failed[0]) expectSlowAnswer(o, seeds[i]);
    });

    await untilReady('pair');
    expect(states.get('pair'), 'unready from the death until the replacement serves').to.deep.equal(['READY', 'UNAVAILABLE', 'READY']);
    await waitFor('health of pair to follow', () => watched, (seen) => seen.length >= 3);
    watch.cancel();
    health.close();
    expect(watched).to.deep.equal(['SERVING', 'NOT_SERVING', 'SERVING']);
    expect(pool.instances[0]).to.not.equal(dead);
    expect(deathsOf('pair')).to.have.length(1);
    expect(deathsOf('pair')[0]).to.include({ level: ERROR, version: 1, instance: 0, exit_code: 3, failed_runs: 1 });
    const replaced = logsOf('pair', 'model instance replaced');
    expect(replaced).to.have.length(1);
    expect(replaced[0]).to.include({ level: INFO, instance: 0, attempts: 1 });
    // Two at once on two instances: one of them runs on the replacement.
    const after = await Promise.all([slow('pair', 7), slow('pair', 8)]);
    after.forEach((o, i) => expectSlowAnswer(o, 7 + i));
  });

  it('a worker that throws an uncaught exception fails the request it held; those queued behind it run on the replacement', async () => {
    await workers.evaluate(version('single').pool.instances[0].thread!.threadId, onFirstResult("setImmediate(() => { throw new Error('injected fault'); })"));
    // One instance: the first request runs, the other two queue behind it during its run.
    const [held, ...queued] = await Promise.all([slow('single', 1), slow('single', 2), slow('single', 3)]);
    expect(status[held.code], held.details).to.equal('UNAVAILABLE');
    expect(held.details).to.equal("model 'single' version 1 instance 0 stopped unexpectedly (exit code 1: injected fault); retry");
    queued.forEach((o, i) => expectSlowAnswer(o, 2 + i));
    expect(states.get('single')).to.deep.equal(['READY', 'UNAVAILABLE', 'READY']);
    expect(deathsOf('single')).to.have.length(1);
    expect(deathsOf('single')[0]).to.include({ exit_code: 1, err: 'injected fault', failed_runs: 1 });
  });

  it('an idle worker killed with terminate() leaves the idle list at once and is replaced', async () => {
    const pool = version('single').pool;
    const killed = pool.instances[0];
    await killed.thread!.terminate();
    expect(pool.acquire(), 'no idle instance while the only one is replaced').to.equal(undefined);
    await expectRefused('single');
    await untilReady('single');
    expect(pool.instances[0]).to.not.equal(killed);
    expectSlowAnswer(await slow('single', 4), 4);
    expect(deathsOf('single')[1]).to.include({ exit_code: 1, failed_runs: 0 });
  });

  it('a replacement that cannot load is retried after growing waits, and the version stays unready until one loads', async () => {
    const file = path.join(repo, 'reloaded', '1', 'model.onnx');
    fs.renameSync(file, `${file}.away`);
    await version('reloaded').pool.instances[0].thread!.terminate();
    const [first, second] = await waitFor('two failed starts', () => failedStartsOf('reloaded'), (lines) => lines.length >= 2);
    await expectRefused('reloaded');
    fs.renameSync(`${file}.away`, file);

    expect(first).to.include({ level: ERROR, instance: 0, attempt: 1 });
    expect(first.err).to.contain('model.onnx');
    expect(second).to.include({ attempt: 2, retry_in_ms: 2 * first.retry_in_ms! });
    // Node's timers may fire up to a millisecond early.
    expect(second.at - first.at, 'the second attempt waited its turn').to.be.at.least(first.retry_in_ms! - 1);
    await untilReady('reloaded');
    expectSlowAnswer(await slow('reloaded', 1), 1);
    const replaced = logsOf('reloaded', 'model instance replaced');
    expect(replaced).to.have.length(1);
    expect(replaced[0].attempts, 'the first two attempts failed').to.be.at.least(3);
    expect(states.get('reloaded')).to.deep.equal(['READY', 'UNAVAILABLE', 'READY']);
  });

  it("a replacement runs the version's model_warmup before it serves: one whose warm-up fails is retried", async () => {
    const file = warmupFile(repo, 'rewarmed');
    fs.renameSync(file, `${file}.away`);
    await version('rewarmed').pool.instances[0].thread!.terminate();
    const [failed] = await waitFor('a failed start', () => failedStartsOf('rewarmed'), (lines) => lines.length >= 1);
    expect(failed.err).to.contain('x.bin');
    await expectRefused('rewarmed');
    fs.renameSync(`${file}.away`, file);
    await untilReady('rewarmed');
    expectSlowAnswer(await slow('rewarmed', 1), 1);
  });

  it('unloading while a replacement starts stops the replacement: it never serves and its thread ends', async () => {
    const closing = version('closing');
    const killed = closing.pool.instances[0];
    const before = workers.started.length;
    await killed.thread!.terminate();
    const [replacement] = await waitFor('the replacement worker', () => workers.started.slice(before), (ids) => ids.length > 0);
    expect(closing.ready, 'the replacement has not finished its warm-up').to.equal(false);
    await closing.unload();
    await waitFor('the replacement thread to end', () => workers.alive(replacement), (alive) => !alive);
    expect(closing.pool.instances[0], 'no replacement joined').to.equal(killed);
    expect(logsOf('closing', 'model instance replaced')).to.have.length(0);
    expect(workers.started.slice(before), 'no further attempt').to.have.length(1);
    const warnings = logs.filter((l) => l.model === 'closing' && l.level >= WARN).map((l) => l.msg);
    expect(warnings, 'no failed start, no failed warm-up').to.deep.equal(['model instance stopped unexpectedly; starting a replacement']);
  });

  it('unloading a version while it runs answers the running requests, then stops its workers without treating that as a death', async () => {
    const pair = version('pair');
    const threads = pair.pool.instances.map((i) => i.thread!.threadId);
    const before = await statistics(t.client, 'pair');
    const running = [slow('pair', 1), slow('pair', 2)];
    await waitFor('both instances running', async () => (await statistics(t.client, 'pair')).queue.count - before.queue.count, (started) => started === 2);
    const started = workers.started.length;
    await pair.unload();
    (await Promise.all(running)).forEach((o, i) => expectSlowAnswer(o, 1 + i));
    // unload() resolves once every thread has ended, so each exit has been handled: none was a death.
    expect(deathsOf('pair')).to.have.length(1);
    await waitFor('the inspector to see the threads end', () => threads.filter((id) => workers.alive(id)), (alive) => alive.length === 0);
    expect(workers.started.slice(started), 'no worker started').to.deep.equal([]);
  });
});
