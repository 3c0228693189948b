/**
 * config.json input rules end to end: a real server over a temporary repository of generated
 * affine models (y = 2x + 1, 4 columns), real gRPC calls and real scrapes of /metrics. A bad
 * request is refused before it queues, so it fails alone while the requests of its batch window
 * run; the per-column statistics show exactly the values of the requests that were accepted.
 * The batch test waits on no clock: its batch runs when max_batch_size rows are queued.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { freePort } from '../scripts/bench/free-port';
import { inferRequest, startInfer, statistics, statsDelta, type Outcome } from './support/batching-client';
import { affineModel, affineReference, serveRepository, type RepositoryServer } from './support/generated-models';
import { httpRequest } from './support/http-get';
import { parseExposition, type Exposition } from './support/prometheus-text';
import { createLogger } from '../src/observability/logger';

const WIDTH = 4;
const OUTPUT = { name: 'y', scale: 2, bias: 1 };
const ONNX = affineModel([WIDTH], [OUTPUT]);
/** A queue delay no test outlives: the batch runs once max_batch_size rows are queued. */
const HOLD_US = 600_000_000;
const RULES = { reject_non_finite: true, min: -10, max: 10 };
const inputEntry = (extra: object) => ({ input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [WIDTH], ...extra }] });

const rows = (...values: number[][]): Float32Array => Float32Array.from(values.flat());

async function scrape(port: number): Promise<Exposition> {
  const res = await httpRequest(port, '/metrics');
  expect(res.status, res.body).to.equal(200);
  return parseExposition(res.body);
}

/** Every column's samples of one feature metric, by column. */
function columns(text: Exposition, metric: string, model: string): Record<string, number> {
  const samples = text.matching(`inference_input_feature_${metric}`, { model, version: '1', input: 'x' });
  return Object.fromEntries(samples.map((s) => [s.labels.column, s.value]));
}

describe('e2e: config.json input validation and per-column statistics', function () {
  this.timeout(60_000);
  let t: RepositoryServer;
  let metricsPort: number;
  const infer = (request: object): Promise<Outcome> => startInfer(t.client, request).outcome;
  const logLines: string[] = [];

  before(async () => {
    metricsPort = await freePort();
    t = await serveRepository(
      [
        // columns 0: off, whatever the server's default.
        { name: 'guarded', config: { max_batch_size: 8, ...inputEntry({ validation: RULES, statistics: { columns: 0 } }) }, versions: new Map([[1, ONNX]]) },
        { name: 'followed', config: { max_batch_size: 8, ...inputEntry({ validation: RULES, statistics: { columns: 3 } }) }, versions: new Map([[1, ONNX]]) },
        {
          name: 'held',
          config: { max_batch_size: 3, ...inputEntry({ validation: RULES }), dynamic_batching: { max_queue_delay_microseconds: HOLD_US } },
          versions: new Map([[1, ONNX]]),
        },
        // No config.json: the server's default follows its first 2 columns, and nothing is validated.
        { name: 'auto', config: undefined, versions: new Map([[1, ONNX]]) },
      ],
      { METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1', DEFAULT_STATISTICS_COLUMNS: '2' },
      createLogger('info', { write: (line: string) => void logLines.push(line) }),
    );
  });
  after(async () => {
    await t?.stop();
  });

  it('tells the caller the value that broke a rule, and the log only where it was and which rule', async () => {
    const outcome = await infer(inferRequest('guarded', rows([1, 2, 3, 12.625]), WIDTH));
    expect(outcome.details).to.equal("input 'x': element 3 (row 0, column 3) is 12.625, above validation.max 10");
    const logged = logLines.filter((l) => l.includes('"msg":"request failed"') && l.includes('"model":"guarded"'));
    expect(logged.map((l) => (JSON.parse(l) as { reason: string }).reason)).to.include("input 'x': element 3 (row 0, column 3) is a value above validation.max 10");
    expect(logLines.join('')).to.not.contain('12.625');
  });

  it('refuses NaN, infinities and out-of-range values with INVALID_ARGUMENT naming the input, element, row, column and value', async () => {
    const cases: [Float32Array, string][] = [
      [rows([1, 2, 3, 4], [5, 6, NaN, 8]), "input 'x': element 6 (row 1, column 2) is NaN, which validation.reject_non_finite refuses"],
      [rows([1, Infinity, 3, 4]), "input 'x': element 1 (row 0, column 1) is Infinity, which validation.reject_non_finite refuses"],
      [rows([1, 2, 3, 4], [5, 6, 7, -Infinity]), "input 'x': element 7 (row 1, column 3) is -Infinity, which validation.reject_non_finite refuses"],
      [rows([1, 2, 3, 12.5]), "input 'x': element 3 (row 0, column 3) is 12.5, above validation.max 10"],
      [rows([0, 0, 0, 0], [-10.5, 0, 0, 0]), "input 'x': element 4 (row 1, column 0) is -10.5, below validation.min -10"],
    ];
    for (const [x, message] of cases) {
      const outcome = await infer(inferRequest('guarded', x, WIDTH));
      expect(status[outcome.code], outcome.details).to.equal('INVALID_ARGUMENT');
      expect(outcome.details).to.equal(message);
    }
  });

  it('serves a request within the rules, bounds included', async () => {
    const x = rows([-10, 0, 10, 9.5], [0, -0, 1e-30, -9.999]);
    const ok = await infer(inferRequest('guarded', x, WIDTH));
    expect(status[ok.code], ok.details).to.equal('OK');
    expect([...ok.outputs.get('y')!.data]).to.deep.equal([...affineReference(x, OUTPUT)]);
  });

  it('fails a bad request alone: the good requests of its batch window run as one batch', async () => {
    const before = await statistics(t.client, 'held');
    const good = [rows([1, 2, 3, 4]), rows([-1, -2, -3, -4]), rows([0.5, 0, 0, 0.5])];
    // The bad one is sent first: had it queued, it would have taken one of the batch's 3 rows.
    const bad = infer(inferRequest('held', rows([1, NaN, 3, 4]), WIDTH));
    const answers = good.map((x) => infer(inferRequest('held', x, WIDTH)));
    const refused = await bad;
    expect(status[refused.code]).to.equal('INVALID_ARGUMENT');
    expect(refused.details).to.contain("input 'x': element 1 (row 0, column 1) is NaN");
    const outcomes = await Promise.all(answers);
    outcomes.forEach((o, i) => {
      expect(status[o.code], o.details).to.equal('OK');
      expect([...o.outputs.get('y')!.data]).to.deep.equal([...affineReference(good[i], OUTPUT)]);
    });
    const delta = statsDelta(await statistics(t.client, 'held'), before);
    expect(delta.executionCount, 'one batch').to.equal(1);
    expect(delta.inferenceCount).to.equal(3);
    expect(delta.fail.count, 'the bad request').to.equal(1);
  });

  it('exports per-column count, sum, min and max of the accepted values, for the configured columns only', async () => {
    const feature = (text: Exposition, metric: string): Record<string, number> => columns(text, metric, 'followed');
    expect(feature(await scrape(metricsPort), 'count'), 'a column shows once it has seen a value').to.deep.equal({});
    expect((await infer(inferRequest('followed', rows([1, 2, 3, 4], [5, -6, 7, 8]), WIDTH))).code).to.equal(status.OK);
    expect((await infer(inferRequest('followed', rows([-10, 0, 10, 9.5]), WIDTH))).code).to.equal(status.OK);
    expect((await infer(inferRequest('followed', rows([-9, -9, NaN, -9]), WIDTH))).code, 'refused: not counted').to.equal(status.INVALID_ARGUMENT);
    const text = await scrape(metricsPort);
    expect(feature(text, 'count')).to.deep.equal({ 0: 3, 1: 3, 2: 3 });
    expect(feature(text, 'sum')).to.deep.equal({ 0: -4, 1: -4, 2: 20 });
    expect(feature(text, 'min')).to.deep.equal({ 0: -10, 1: -6, 2: 3 });
    expect(feature(text, 'max')).to.deep.equal({ 0: 5, 1: 2, 2: 10 });
    expect(feature(text, 'nonfinite_total')).to.deep.equal({ 0: 0, 1: 0, 2: 0 });
    expect(text.types.get('inference_input_feature_sum')).to.equal('gauge');
    expect(columns(text, 'count', 'guarded'), 'columns 0 turns the default off').to.deep.equal({});
  });

  it('counts non-finite values apart, so that they poison neither the sum nor min nor max (the server default, 2 columns)', async () => {
    const outcome = await infer(inferRequest('auto', rows([NaN, 1, 9, 9], [2, Infinity, 9, 9], [-Infinity, -3, 9, 9]), WIDTH));
    expect(status[outcome.code], 'no rules: any value passes').to.equal('OK');
    const text = await scrape(metricsPort);
    const feature = (metric: string): Record<string, number> => columns(text, metric, 'auto');
    expect(feature('count')).to.deep.equal({ 0: 1, 1: 2 });
    expect(feature('sum')).to.deep.equal({ 0: 2, 1: -2 });
    expect(feature('min')).to.deep.equal({ 0: 2, 1: -3 });
    expect(feature('max')).to.deep.equal({ 0: 2, 1: 1 });
    expect(feature('nonfinite_total')).to.deep.equal({ 0: 2, 1: 1 });
  });
});
