/**
 * SIGTERM and SIGINT on the real server process: readiness turns NOT_SERVING at once, calls
 * are still served during SHUTDOWN_DELAY_SECONDS, then refused with UNAVAILABLE; what was
 * accepted finishes, and the exit code says whether SHUTDOWN_GRACE_SECONDS had to cut any.
 * The queued work is the sized slow model (about SLOW_TARGET_MS a run on any machine).
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { INFERENCE_SERVICE } from '../src/transport/server';
import { rowsOf, startInfer, inferRequest, type Outcome } from './support/batching-client';
import { sizedSlowModel, slowModelCost, slowReference, SLOW_FEATURES, SLOW_TARGET_MS, writeTempRepository } from './support/batching-slow-model';
import { startChildServer, type ChildServer } from './support/child-server';
import { createHealthClient, removeDir, type HealthClient } from './support/e2e-helpers';
import { affineModel, affineReference, affineRequest, valuesOf } from './support/generated-models';
import { configParameter } from './support/repository-client';
import { createClient, type InferenceClient } from './support/server';
import { waitFor } from './support/wait-for';

const DOUBLE = { name: 'y', scale: 2, bias: 0 };

describe('e2e: graceful drain on SIGTERM and SIGINT (child process)', function () {
  this.timeout(120_000);
  let repo: string;
  let server: ChildServer | undefined;
  let client: InferenceClient | undefined;
  let health: HealthClient | undefined;

  before(async () => {
    repo = writeTempRepository([
      { name: 'slow', onnx: await sizedSlowModel(), config: { max_batch_size: 1 } },
      { name: 'fast', onnx: affineModel([4], [DOUBLE]), config: { max_batch_size: 8 } },
    ]);
  });
  after(() => removeDir(repo));

  afterEach(async () => {
    health?.close();
    client?.close();
    if (server && server.process.exitCode === null && server.process.signalCode === null) {
      server.kill('SIGKILL');
      await server.exited;
    }
    server = client = health = undefined;
  });

  const start = async (env: NodeJS.ProcessEnv): Promise<{ server: ChildServer; client: InferenceClient }> => {
    server = await startChildServer({ MODEL_REPOSITORY: repo, ...env });
    client = createClient(server.port);
    return { server, client };
  };

  /** `count` slow calls, all known to the server when this resolves: a later call on the same channel has been answered. */
  const queueSlowCalls = async (c: InferenceClient, count: number): Promise<{ x: Float32Array; outcome: Promise<Outcome> }[]> => {
    const calls = Array.from({ length: count }, (_, i) => {
      const x = rowsOf(i + 1, 1, SLOW_FEATURES);
      return { x, outcome: startInfer(c, inferRequest('slow', x, SLOW_FEATURES)).outcome };
    });
    await c.unary('ServerLive', {});
    return calls;
  };

  const fastCall = (c: InferenceClient, seed: number): Promise<Outcome> => startInfer(c, affineRequest('fast', [1, 4], valuesOf(seed, 4))).outcome;

  const expectSlowAnswer = (call: { x: Float32Array }, outcome: Outcome): void => {
    expect(outcome.code, outcome.details).to.equal(status.OK);
    const y = outcome.outputs.get('y')!.data;
    const want = slowReference(call.x);
    for (let i = 0; i < want.length; i++) expect(y[i]).to.be.closeTo(want[i], 1e-4);
  };

  it('with a delay: NOT_SERVING at once, served during the delay, UNAVAILABLE after it, every accepted call answered, exit 0', async () => {
    const delaySeconds = 2;
    const { server, client } = await start({ SHUTDOWN_DELAY_SECONDS: String(delaySeconds), SHUTDOWN_GRACE_SECONDS: '60' });
    health = createHealthClient(server.port);
    const watched: string[] = [];
    const watch = health.watch(INFERENCE_SERVICE, (s) => watched.push(s));
    watch.on('error', () => undefined);
    await waitFor('SERVING on Watch', () => watched.length, (n) => n > 0);
    expect(watched).to.deep.equal(['SERVING']);

    // Work that outlasts the delay by more than a second, so that the drain is still waiting when calls are refused.
    const queued = await queueSlowCalls(client, Math.ceil((delaySeconds * 1000 + 1500) / (SLOW_TARGET_MS * slowModelCost())));
    const signalledAt = performance.now();
    server.kill('SIGTERM');
    await waitFor('NOT_SERVING on Watch', () => watched.length, (n) => n > 1);
    expect(watched).to.deep.equal(['SERVING', 'NOT_SERVING']);
    expect(await health.check(''), 'liveness while draining').to.equal('SERVING');
    expect(await health.check('fast'), "a model's readiness while draining").to.equal('NOT_SERVING');
    expect((await client.unary<{ ready?: boolean }>('ServerReady', {})).ready ?? false).to.equal(false);

    // New calls, one after another, until the first refusal: all before it are served.
    const served: Outcome[] = [];
    let refused: Outcome | undefined;
    for (let seed = 1; !refused; seed++) {
      const outcome = await fastCall(client, seed);
      if (outcome.code === status.OK) {
        expect(outcome.outputs.get('y')!.data).to.deep.equal(affineReference(valuesOf(seed, 4), DOUBLE));
        served.push(outcome);
      } else refused = outcome;
    }
    expect(served.length, 'calls served during the delay').to.be.greaterThan(0);
    expect(refused.code, refused.details).to.equal(status.UNAVAILABLE);
    // The server's own refusal, not a closed connection: it comes while accepted work is still running.
    expect(refused.details).to.contain('the server is shutting down and takes no new requests');
    expect(refused.doneAt - signalledAt, 'the refusal comes after the delay').to.be.at.least(delaySeconds * 1000 - 50);

    const answered = await Promise.all(queued.map((call) => call.outcome));
    queued.forEach((call, i) => expectSlowAnswer(call, answered[i]));
    expect(Math.max(...answered.map((o) => o.doneAt)), 'queued work still running when calls were refused').to.be.greaterThan(refused.doneAt);
    expect(await server.exited, 'exit code').to.equal(0);
    expect(server.logs.find((l) => l.msg === 'drained')).to.include({ cut: 0 });
  });

  it('past the grace limit: cuts what is left, gives every call a status, and exits 1', async () => {
    const graceSeconds = 1;
    // Three times the grace's worth of runs, at the time a run is sized to take here.
    const count = Math.ceil((3 * graceSeconds * 1000) / (SLOW_TARGET_MS * slowModelCost()));
    const { server, client } = await start({ SHUTDOWN_DELAY_SECONDS: '0', SHUTDOWN_GRACE_SECONDS: String(graceSeconds) });
    const queued = await queueSlowCalls(client, count);
    server.kill('SIGTERM');
    const outcomes = await Promise.all(queued.map((c) => c.outcome));
    expect(await server.exited, 'exit code').to.equal(1);
    const failed = outcomes.filter((o) => o.code !== status.OK);
    for (const o of failed) expect(o.code, o.details).to.equal(status.UNAVAILABLE);
    expect(failed.length, 'calls cut').to.be.greaterThan(0);
    outcomes.forEach((o, i) => {
      if (o.code === status.OK) expectSlowAnswer(queued[i], o);
    });
    expect(server.logs.find((l) => l.msg === 'drained'), 'the log counts the cut calls').to.include({ cut: failed.length });
  });

  it('a second signal ends the process at once, by that signal', async () => {
    const runs = Math.ceil(10_000 / (SLOW_TARGET_MS * slowModelCost()));
    const { server, client } = await start({ SHUTDOWN_DELAY_SECONDS: '0', SHUTDOWN_GRACE_SECONDS: '60' });
    const queued = await queueSlowCalls(client, runs);
    server.kill('SIGTERM');
    await server.logged('draining: new calls are refused; waiting for accepted requests');
    server.kill('SIGTERM');
    expect(await server.exited).to.equal('SIGTERM');
    const outcomes = await Promise.all(queued.map((c) => c.outcome));
    expect(outcomes.some((o) => o.code !== status.OK), 'about ten seconds of queued work was not waited for').to.equal(true);
  });

  it('answers every request already sent on an open ModelStreamInfer stream, then ends the stream with OK', async () => {
    const { server, client } = await start({ SHUTDOWN_DELAY_SECONDS: '0', SHUTDOWN_GRACE_SECONDS: '60' });
    const stream = client.stream();
    const answers: Record<string, unknown>[] = [];
    const ended = new Promise<{ code: number; details: string }>((resolve) => {
      stream.on('data', (m: Record<string, unknown>) => answers.push(m));
      stream.on('status', (s: { code: number; details: string }) => resolve(s));
      stream.on('error', () => undefined);
    });
    const sent = Array.from({ length: 5 }, (_, i) => rowsOf(i + 1, 1, SLOW_FEATURES));
    sent.forEach((x, i) => stream.write({ ...inferRequest('slow', x, SLOW_FEATURES), id: `r${i}` }));
    await waitFor('the first answer', () => answers.length, (n) => n > 0);
    server.kill('SIGTERM');
    const end = await ended;
    expect(end.code, `stream status: ${end.details}`).to.equal(status.OK);
    expect(answers.map((a) => (a.infer_response as { id: string }).id)).to.deep.equal(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(answers.every((a) => !a.error_message)).to.equal(true);
    expect(await server.exited).to.equal(0);
  });

  it('abandons a model load still warming up: the load is answered UNAVAILABLE and the process exits 0', async () => {
    const { server, client } = await start({ MODEL_CONTROL_MODE: 'explicit', LOAD_MODELS: 'fast', SHUTDOWN_DELAY_SECONDS: '0', SHUTDOWN_GRACE_SECONDS: '60' });
    // 10^12 warm-up runs: a load the drain would otherwise wait for, far past any grace.
    const endless = {
      max_batch_size: 8,
      model_warmup: [{ name: 'endless', count: 1e12, inputs: { x: { data_type: 'TYPE_FP32', dims: [4], zero_data: true } } }],
    };
    const load = client.unary('RepositoryModelLoad', { model_name: 'fast', parameters: configParameter(endless) }).then(
      () => ({ code: status.OK, details: '' }),
      (err: { code: number; details: string }) => err,
    );
    // A later call on the same channel answered: the load has reached the server.
    await client.unary('ServerLive', {});
    server.kill('SIGTERM');
    const refused = await load;
    expect(refused.code, refused.details).to.equal(status.UNAVAILABLE);
    expect(refused.details).to.equal("load of model 'fast' abandoned: the server is stopping");
    expect(await server.exited, 'exit code').to.equal(0);
    expect(server.logs.find((l) => l.msg === 'model version failed to load')).to.include({ err: 'the server is stopping: the load was abandoned' });
  });

  it('SIGINT on an idle server exits 0 at once', async () => {
    const { server } = await start({ SHUTDOWN_GRACE_SECONDS: '60' });
    server.kill('SIGINT');
    expect(await server.exited).to.equal(0);
    expect(server.logs.find((l) => l.msg === 'drained')).to.include({ cut: 0 });
  });
});
