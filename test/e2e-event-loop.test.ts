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
import type { Instance } from '../src/runtime/model-instance';
import { SLOW_FEATURES, SLOW_OUTPUTS, sizedSlowModel, slowReference } from './support/batching-slow-model';
import { affineModel, affineReference, affineRequest, serveRepository, valuesOf, type RepositoryServer } from './support/generated-models';
import { readFp32 } from './support/server';
import { waitFor } from './support/wait-for';
import { onnxVersion } from './support/onnx-version';

const WIDTH = 4;
const OUTPUT = { name: 'y', scale: 2, bias: 1 };
const EVENT_LOOP = { run_on_event_loop: { string_value: 'true' } };
const LONE = { run_on_event_loop: { string_value: 'lone' } };

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
        { name: 'lone', config: { max_batch_size: 8, dynamic_batching: {}, parameters: LONE }, versions: new Map([[1, affine]]) },
        { name: 'lone_tight', config: { max_batch_size: 8, dynamic_batching: {}, parameters: { ...LONE, event_loop_run_limit_us: { string_value: '1' } } }, versions: new Map([[1, affine]]) },
      ],
      {},
      log,
    );
  });
  after(async () => t?.stop());

  const version = (model: string): ModelVersion => onnxVersion(t.server.repository.get(model)!.versions.get(1));
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
  describe('run_on_event_loop "lone"', () => {
    /** Counts the runs of each of the version's sessions, and the most that ran at once. */
    function countRuns(model: string): { loop: number; worker: number; most: number } {
      const { pool } = version(model);
      const counts = { loop: 0, worker: 0, most: 0 };
      let running = 0;
      const count = (instance: Instance, key: 'loop' | 'worker'): void => {
        const run = instance.run.bind(instance);
        instance.run = async (...args) => {
          counts[key]++;
          counts.most = Math.max(counts.most, ++running);
          try {
            return await run(...args);
          } finally {
            running--;
          }
        };
      };
      count(pool.loneInstance!, 'loop');
      count(pool.instances[0]!, 'worker');
      return counts;
    }

    it('runs a request that comes alone on the event loop, a batch under load on the worker, never two at once', async () => {
      expect(onLoop('lone'), 'its slot is a worker').to.equal(false);
      const runs = countRuns('lone');
      for (let i = 0; i < 20; i++) await inferAffine('lone', i);
      expect(runs).to.deep.equal({ loop: 20, worker: 0, most: 1 });
      // Concurrent callers queue behind the one that came first, and leave in a batch for the worker.
      for (let burst = 0; runs.worker === 0 && burst < 50; burst++) {
        await Promise.all(Array.from({ length: 16 }, (_, i) => inferAffine('lone', 100 * burst + i)));
      }
      expect(runs.worker, 'batches ran on the worker').to.be.greaterThan(0);
      expect(runs.most, 'one instance: one run at a time').to.equal(1);
    });

    it(`sends lone requests to the worker for good after ${SLOW_RUNS} runs in a row past the limit, serving throughout`, async () => {
      const runs = countRuns('lone_tight');
      for (let i = 0; i < SLOW_RUNS; i++) await inferAffine('lone_tight', i);
      await waitFor('the lone session retired', () => logs.some((l) => l.msg === 'runs on the event loop took longer than their limit; lone requests go to the worker threads for good' && l.model === 'lone_tight'), (seen) => seen);
      // The warm-up's run counts towards the limit too, so the retirement may come before the last of these.
      const before = { ...runs };
      for (let i = 0; i < 5; i++) await inferAffine('lone_tight', 50 + i);
      expect(runs.loop, 'no more runs on the event loop').to.equal(before.loop);
      expect(runs.worker).to.equal(before.worker + 5);
    });
  });
});
