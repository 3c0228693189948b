/**
 * A model that opts in to run on the event loop (`parameters.run_on_event_loop`): it serves with
 * no worker thread, and a run that blocks the loop longer than `event_loop_run_limit_us` moves it
 * to a worker for good, with no request failing. The limit is derived from runs measured here, on
 * this machine, in this process: between the slowest one-row run and a 128-row run.
 */
import { expect } from 'chai';
import pino from 'pino';
import { performance } from 'node:perf_hooks';
import * as ort from '../src/runtime/onnxruntime';
import type { ModelVersion } from '../src/repository/model-version';
import { affineModel, affineReference, affineRequest, serveRepository, valuesOf, type RepositoryServer } from './support/generated-models';
import { readFp32 } from './support/server';
import { waitFor } from './support/wait-for';

const WIDTH = 16384;
const BIG_ROWS = 128;
const OUTPUT = { name: 'y', scale: 2, bias: 1 };
const MODEL = affineModel([WIDTH], [OUTPUT]);
const onEventLoop = (limitUs: number | string) => ({
  max_batch_size: BIG_ROWS,
  parameters: { run_on_event_loop: { string_value: 'true' }, event_loop_run_limit_us: { string_value: String(limitUs) } },
});

interface LogLine {
  msg: string;
  model?: string;
}

/** The slowest of a fresh session's first one-row runs, and the median 64-row run, in µs. */
async function measureRuns(): Promise<{ small: number; big: number }> {
  const session = await ort.InferenceSession.create(Buffer.from(MODEL), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const timed = async (rows: number): Promise<number> => {
    const x = new ort.Tensor('float32', new Float32Array(rows * WIDTH), [rows, WIDTH]);
    const started = performance.now();
    await session.run({ x });
    return (performance.now() - started) * 1000;
  };
  const smalls: number[] = [];
  for (let i = 0; i < 5; i++) smalls.push(await timed(1));
  const small = Math.max(...smalls);
  const bigs: number[] = [];
  for (let i = 0; i < 5; i++) bigs.push(await timed(BIG_ROWS));
  await session.release();
  return { small, big: bigs.sort((a, b) => a - b)[2] };
}

describe('e2e: a model on the event loop', function () {
  this.timeout(60_000);
  let t: RepositoryServer;
  const logs: LogLine[] = [];
  let limitUs: number;

  before(async function () {
    const { small, big } = await measureRuns();
    if (big < 16 * small) {
      console.log(`      (skipped: a ${BIG_ROWS}-row run (${big.toFixed(0)} µs) is not 16 times the slowest one-row run (${small.toFixed(0)} µs) here)`);
      this.skip();
    }
    limitUs = Math.round(Math.sqrt(small * big));
    const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    t = await serveRepository(
      [
        { name: 'guarded', config: onEventLoop(limitUs), versions: new Map([[1, MODEL]]) },
        { name: 'warmup_too_slow', config: onEventLoop(1), versions: new Map([[1, MODEL]]) },
      ],
      {},
      log,
    );
  });
  after(async () => t?.stop());

  const version = (model: string): ModelVersion => t.server.repository.get(model)!.versions.get(1)!;
  const onLoop = (model: string): boolean => version(model).pool.instances[0].thread === undefined;
  async function infer(model: string, rows: number, seed: number): Promise<void> {
    const x = valuesOf(seed, rows * WIDTH);
    const res = await t.client.unary<{ raw_output_contents: Buffer[] }>('ModelInfer', affineRequest(model, [rows, WIDTH], x));
    expect(Array.from(readFp32(res.raw_output_contents[0])), `${model}, ${rows} rows`).to.deep.equal(Array.from(affineReference(x, OUTPUT)));
  }

  it('serves a model that asks for it with no worker thread', async () => {
    expect(onLoop('guarded')).to.equal(true);
    await infer('guarded', 1, 1);
    await infer('guarded', 2, 2);
    expect(onLoop('guarded'), `one- and two-row runs stay under the limit of ${limitUs} µs`).to.equal(true);
  });

  it('moves to a worker thread for good after a run longer than the limit, and no request fails meanwhile', async () => {
    let stop = false;
    let served = 0;
    const steady = (async () => {
      for (let i = 0; !stop; i++) {
        await infer('guarded', 1, 100 + i);
        served++;
      }
    })();
    try {
      await infer('guarded', BIG_ROWS, 3);
      await waitFor('the move to a worker', () => logs.some((l) => l.msg === 'model moved to a worker thread' && l.model === 'guarded'), (moved) => moved);
      expect(onLoop('guarded')).to.equal(false);
      const before = served;
      await waitFor('requests served by the worker', () => served, (n) => n >= before + 5);
    } finally {
      stop = true;
      await steady;
    }
    expect(logs.some((l) => l.msg === 'a run on the event loop took longer than its limit; the model moves to a worker thread for good' && l.model === 'guarded')).to.equal(true);
    await infer('guarded', BIG_ROWS, 4);
    expect(onLoop('guarded'), 'and stays there').to.equal(false);
  });

  it('moves before serving when a warm-up run is already longer than the limit', async () => {
    expect(onLoop('warmup_too_slow')).to.equal(false);
    await infer('warmup_too_slow', 1, 5);
  });
});
