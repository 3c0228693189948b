/**
 * A model that opts in to run on the event loop (`parameters.run_on_event_loop`): it serves with
 * no worker thread, and once SLOW_RUNS runs in a row have blocked the loop longer than
 * `event_loop_run_limit_us` (default 1000) it moves to a worker for good, with no request failing.
 * The slow model is sized on this machine (about 120 ms a run), far past the default limit; the
 * tiny affine model runs in tens of microseconds, far below it.
 */
import { expect } from 'chai';
import pino from 'pino';
import type { ModelVersion } from '../src/repository/model-version';
import { SLOW_RUNS } from '../src/runtime/event-loop-instance';
import { SLOW_FEATURES, SLOW_OUTPUTS, sizedSlowModel, slowReference } from './support/batching-slow-model';
import { affineModel, affineReference, affineRequest, serveRepository, valuesOf, type RepositoryServer } from './support/generated-models';
import { readFp32 } from './support/server';
import { waitFor } from './support/wait-for';

const WIDTH = 4;
const OUTPUT = { name: 'y', scale: 2, bias: 1 };
const EVENT_LOOP = { run_on_event_loop: { string_value: 'true' } };

interface LogLine {
  msg: string;
  model?: string;
}

describe('e2e: a model on the event loop', function () {
  this.timeout(60_000);
  let t: RepositoryServer;
  const logs: LogLine[] = [];

  before(async () => {
    const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    const affine = affineModel([WIDTH], [OUTPUT]);
    t = await serveRepository(
      [
        { name: 'tiny', config: { max_batch_size: 8, parameters: EVENT_LOOP }, versions: new Map([[1, affine]]) },
        { name: 'slow', config: { max_batch_size: 8, parameters: EVENT_LOOP }, versions: new Map([[1, await sizedSlowModel()]]) },
        { name: 'tight', config: { max_batch_size: 8, parameters: { ...EVENT_LOOP, event_loop_run_limit_us: { string_value: '1' } } }, versions: new Map([[1, affine]]) },
      ],
      {},
      log,
    );
  });
  after(async () => t?.stop());

  const version = (model: string): ModelVersion => t.server.repository.get(model)!.versions.get(1)!;
  const onLoop = (model: string): boolean => version(model).pool.instances[0].thread === undefined;
  const movedLine = (model: string): boolean => logs.some((l) => l.msg === 'model moved to a worker thread' && l.model === model);

  async function inferAffine(model: string, seed: number): Promise<void> {
    const x = valuesOf(seed, 2 * WIDTH);
    const res = await t.client.unary<{ raw_output_contents: Buffer[] }>('ModelInfer', affineRequest(model, [2, WIDTH], x));
    expect(Array.from(readFp32(res.raw_output_contents[0]))).to.deep.equal(Array.from(affineReference(x, OUTPUT)));
  }

  async function inferSlow(seed: number): Promise<void> {
    const x = valuesOf(seed, SLOW_FEATURES);
    const res = await t.client.unary<{ raw_output_contents: Buffer[] }>('ModelInfer', affineRequest('slow', [1, SLOW_FEATURES], x));
    const y = readFp32(res.raw_output_contents[0]);
    expect(y).to.have.length(SLOW_OUTPUTS);
    slowReference(x).forEach((v, i) => expect(y[i]).to.be.closeTo(v, 1e-4));
  }

  it('serves a tiny model with no worker thread, and keeps it there', async () => {
    expect(onLoop('tiny')).to.equal(true);
    for (let i = 0; i < 50; i++) await inferAffine('tiny', i);
    expect(onLoop('tiny')).to.equal(true);
    expect(movedLine('tiny')).to.equal(false);
  });

  it(`moves a slow model to a worker thread for good after ${SLOW_RUNS} runs in a row past the limit, and fails no request meanwhile`, async () => {
    // The warm-up was one slow run; the rest come from these callers, which go on until the worker serves.
    const callers = Array.from({ length: 3 }, async (_, c) => {
      let served = 0;
      for (let i = 0; !movedLine('slow') || served < 2; i++) {
        await inferSlow(100 * c + i);
        served++;
      }
      return served;
    });
    const served = await Promise.all(callers);
    expect(onLoop('slow')).to.equal(false);
    expect(logs.some((l) => l.msg === 'runs on the event loop took longer than their limit; the model moves to a worker thread for good' && l.model === 'slow')).to.equal(true);
    expect(served.every((n) => n >= 2)).to.equal(true);
    await inferSlow(999);
    expect(onLoop('slow'), 'and stays there').to.equal(false);
  });

  it('honours event_loop_run_limit_us: with 1 µs, a tiny model moves too, serving throughout', async () => {
    for (let i = 0; i < 2 * SLOW_RUNS; i++) await inferAffine('tight', i);
    await waitFor('the move to a worker', () => onLoop('tight'), (still) => !still);
    await inferAffine('tight', 99);
  });
});
