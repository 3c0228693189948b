/**
 * The rollout guard over real gRPC: a canary that fails, or one whose p99 is far above the other
 * versions', is rolled back by itself once it has min_requests in the window: weight 0, an
 * error-level log line with the figures, inference_rollout_rollbacks_total, GetRollout showing it;
 * and it stays so until weights are set again. Windows are long (minutes): the rule fires on the
 * requests counted, not on wall-clock luck.
 */
import { expect } from 'chai';
import pino from 'pino';
import { freePort } from '../scripts/bench/free-port';
import { DataType, floatTensor, node, serializeModel, valueInfo } from '../scripts/onnx/builder';
import { sizedSlowModel, SLOW_FEATURES } from './support/batching-slow-model';
import { affineModel, affineRequest, serveRepository, type RepositoryServer } from './support/generated-models';
import { httpRequest } from './support/http-get';
import { parseExposition } from './support/prometheus-text';
import { computedBy, inferVersioned, versionedModel, weightsOf, WIDTH } from './support/repository-client';
import { createRolloutAdminClient, windowRequests, type RolloutAdminClient, type RolloutStatusMessage } from './support/rollout-admin-client';
import { waitFor } from './support/wait-for';

const MIN_REQUESTS = 20;

/** x FLOAT [batch, n] + a constant of WIDTH values: runs for n = WIDTH (or 1), fails for any other width. */
function failsOffWidthModel(): Uint8Array {
  return serializeModel({
    graphName: 'fails_off_width',
    docString: 'x + bias[WIDTH]: a broadcast error at run time unless x is WIDTH (or 1) wide.',
    inputs: [valueInfo('x', DataType.FLOAT, ['batch', 'n'])],
    outputs: [valueInfo('y', DataType.FLOAT, ['batch', 'n'])],
    initializers: [floatTensor('bias', [WIDTH], new Float32Array(WIDTH))],
    nodes: [node('Add', ['x', 'bias'], ['y'], 'add')],
  });
}

/** A model of any width that computes version 1's line, so the others' answers are checked. */
const anyWidthVersion1 = (): Uint8Array => affineModel(['n'], [weightsOf(1)]);

interface LogLine {
  level: number;
  msg: string;
  model?: string;
  version?: number;
  cause?: string;
  detail?: string;
}

describe('e2e rollout guard', function () {
  this.timeout(180_000);
  let t: RepositoryServer;
  let admin: RolloutAdminClient;
  let metricsPort: number;
  const logs: LogLine[] = [];

  before(async () => {
    metricsPort = await freePort();
    const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    const guarded = (guard: object): object => ({ max_batch_size: 4, version_policy: { all: {} }, rollout: { weights: { '1': 50, '2': 50 }, guard } });
    t = await serveRepository(
      [
        {
          name: 'failing',
          config: guarded({ canary: 2, max_error_rate: 0.2, max_p99_ratio: 1000, min_requests: MIN_REQUESTS, window_seconds: 600 }),
          versions: new Map([[1, anyWidthVersion1()], [2, failsOffWidthModel()]]),
        },
        {
          name: 'slow',
          config: guarded({ canary: 2, max_error_rate: 1, max_p99_ratio: 3, min_requests: 10, window_seconds: 600 }),
          versions: new Map([[1, anyWidthVersion1()], [2, await sizedSlowModel()]]),
        },
        {
          name: 'healthy',
          config: guarded({ canary: 2, max_error_rate: 0, max_p99_ratio: 1000, min_requests: MIN_REQUESTS, window_seconds: 600 }),
          versions: new Map([[1, versionedModel(1)], [2, versionedModel(2)]]),
        },
      ],
      { MODEL_CONTROL_MODE: 'poll', REPOSITORY_POLL_SECONDS: '3600', METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1' },
      log,
    );
    admin = createRolloutAdminClient(t.port);
  });

  after(async () => {
    admin?.close();
    await t?.stop();
  });

  /** Sends `request()` from 4 loops, pinning no version, until GetRollout shows the canary rolled back. */
  async function loadUntilRolledBack(model: string, request: () => Promise<unknown>): Promise<RolloutStatusMessage> {
    let running = true;
    const loop = async (): Promise<void> => {
      while (running) await request().catch(() => undefined);
    };
    const loops = Array.from({ length: 4 }, loop);
    try {
      return await waitFor(`the guard to roll back ${model}'s canary`, () => admin.call('GetRollout', { model }), (s) => s.guard_state.rolled_back, 60_000);
    } finally {
      running = false;
      await Promise.all(loops);
    }
  }

  async function rollbacksMetric(model: string): Promise<{ labels: Record<string, string>; value: number }[]> {
    const text = parseExposition((await httpRequest(metricsPort, '/metrics')).body);
    return text.matching('inference_rollout_rollbacks_total', { model }).map((s) => ({ labels: s.labels, value: s.value }));
  }

  /** Versions that answered `n` requests pinning none, each checked against version 1's line where it is 1's. */
  async function served(model: string, n: number): Promise<Set<number>> {
    const answers = await Promise.all(Array.from({ length: n }, () => inferVersioned(t.client, model)));
    for (const res of answers) if (res.model_version === '1') expect(computedBy(res)).to.equal(1);
    return new Set(answers.map((res) => Number(res.model_version)));
  }

  it("rolls back a canary whose error rate breaks the guard once it has min_requests, logs and counts it, and keeps it rolled back until weights are set", async () => {
    const offWidth = affineRequest('failing', [2, WIDTH - 1], new Float32Array(2 * (WIDTH - 1)).fill(1));
    const state = await loadUntilRolledBack('failing', () => t.client.unary('ModelInfer', offWidth));
    expect(state.weights).to.deep.equal({ '1': 50, '2': 0 });
    expect(state.previous_weights).to.deep.equal({ '1': 50, '2': 50 });
    expect(state.weights_source).to.equal('guard');
    expect(state.guard).to.deep.include({ canary: 2, min_requests: MIN_REQUESTS });
    expect(state.guard_state).to.include({ rolled_back: true, cause: 'error_rate' });
    expect(Date.parse(state.guard_state.rolled_back_at!)).to.be.closeTo(Date.now(), 60_000);
    expect(state.guard_state.detail).to.match(/^error rate 1 \(\d+ of \d+\) > max_error_rate 0.2 over 600 s$/);
    expect(windowRequests(state, 2), 'the canary had min_requests').to.be.at.least(MIN_REQUESTS);

    const logged = logs.filter((l) => l.msg === 'rollout canary rolled back');
    expect(logged.map((l) => ({ level: l.level, model: l.model, version: l.version, cause: l.cause }))).to.deep.equal([{ level: 50, model: 'failing', version: 2, cause: 'error_rate' }]);
    expect(logged[0].detail).to.equal(state.guard_state.detail);
    expect(await rollbacksMetric('failing')).to.deep.equal([{ labels: { model: 'failing', version: '2', cause: 'error_rate' }, value: 1 }]);
    const weightGauge = parseExposition((await httpRequest(metricsPort, '/metrics')).body).value('inference_rollout_weight', { model: 'failing', version: '2' });
    expect(weightGauge).to.equal(0);

    expect(await served('failing', 100), 'the canary gets no traffic').to.deep.equal(new Set([1]));
    expect((await admin.call('GetRollout', { model: 'failing' })).guard_state.rolled_back, 'still rolled back').to.equal(true);

    const reset = await admin.call('SetWeights', { model: 'failing', weights: { '1': 50, '2': 50 } });
    expect(reset.guard_state.rolled_back).to.equal(false);
    expect(reset.weights_source).to.equal('admin');
    expect(windowRequests(reset, 2), 'the windows restart with the new weights').to.equal(0);
    expect(await served('failing', 200), 'the canary serves again').to.deep.equal(new Set([1, 2]));
    const after = await admin.call('GetRollout', { model: 'failing' });
    expect(after.guard_state.rolled_back, 'judged on its requests since: none failed').to.equal(false);
    expect(Number(after.versions!.find((v) => v.version === 2)!.total_requests)).to.be.greaterThan(windowRequests(after, 2));
  });

  it("rolls back a canary whose p99 is above max_p99_ratio times the other versions' p99", async () => {
    const request = affineRequest('slow', [1, SLOW_FEATURES], new Float32Array(SLOW_FEATURES).fill(0.5));
    const state = await loadUntilRolledBack('slow', () => t.client.unary('ModelInfer', request));
    expect(state.weights).to.deep.equal({ '1': 50, '2': 0 });
    expect(state.guard_state).to.include({ rolled_back: true, cause: 'p99_latency' });
    expect(state.guard_state.detail).to.match(/^p99 [\d.]+ ms > max_p99_ratio 3 × the other versions' p99 [\d.]+ ms over 600 s/);
    const [fast, slow] = [1, 2].map((v) => state.versions!.find((x) => x.version === v)!);
    expect(slow.p99_ms).to.be.greaterThan(3 * fast.p99_ms);
    expect(Number(slow.failures)).to.equal(0);
    expect(await rollbacksMetric('slow')).to.deep.equal([{ labels: { model: 'slow', version: '2', cause: 'p99_latency' }, value: 1 }]);
  });

  it('leaves a healthy canary alone', async () => {
    await served('healthy', 400);
    const state = await admin.call('GetRollout', { model: 'healthy' });
    expect(windowRequests(state, 2)).to.be.at.least(MIN_REQUESTS);
    expect(state.guard_state.rolled_back).to.equal(false);
    expect(state.weights).to.deep.equal({ '1': 50, '2': 50 });
    expect(await rollbacksMetric('healthy')).to.deep.equal([]);
  });
});
