/**
 * The dynamic batcher end to end: a real server over a temporary model repository holding a
 * copy of stock_scorer and a deliberately slow model under several configurations, so that
 * queues build up deterministically. The slow model is sized on this machine (about
 * SLOW_TARGET_MS a run, whatever the batch size), and every duration a test relies on is a
 * fraction of the run time the server reports, so the tests mean the same on any CPU.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EARLIEST_EXPIRY_MS } from '../src/batching/policy-queue';
import { MODELS_DIR, startTestServer, type TestServer } from './support/server';
import { sizedSlowModel, slowReference, SLOW_FEATURES, writeTempRepository, type TempModel } from './support/batching-slow-model';
import { infer, maxAbsDiff, rowsOf, startInfer, inferRequest, statistics, statsDelta, type InferOptions, type Outcome, type Stats } from './support/batching-client';
import { readInitializers, stockScorerReference } from './support/onnx-weights';
import { removeDir } from './support/e2e-helpers';
import { waitFor } from './support/wait-for';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const DELAY_US = 200_000;
const PRIO_DELAY_US = 300_000;

const slowModels = (onnx: Uint8Array): TempModel[] => [
  // (b) delay bound
  { name: 'slow_delay', onnx, config: { max_batch_size: 4, dynamic_batching: { max_queue_delay_microseconds: DELAY_US } } },
  // (b') delay bound with a later, higher-priority arrival
  {
    name: 'slow_prio_delay',
    onnx,
    config: { max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: PRIO_DELAY_US, priority_levels: 2, default_priority_level: 2 } },
  },
  // (c), (d) deadlines, timeouts, cancellation
  { name: 'slow_expiry', onnx, config: { max_batch_size: 8, dynamic_batching: { default_queue_policy: { allow_timeout_override: true } } } },
  // (e) bounded queue
  { name: 'slow_queue', onnx, config: { max_batch_size: 8, dynamic_batching: { default_queue_policy: { max_queue_size: 2 } } } },
  // (f) instance count
  { name: 'slow_single', onnx, config: { max_batch_size: 1, dynamic_batching: {}, instance_group: [{ count: 1, kind: 'KIND_CPU' }] } },
  { name: 'slow_pair', onnx, config: { max_batch_size: 1, dynamic_batching: {}, instance_group: [{ count: 2, kind: 'KIND_CPU' }] } },
  // (g) no batching, and the dynamic batcher Triton's auto-complete turns on
  { name: 'slow_unbatched', onnx, config: { max_batch_size: 0 } },
  { name: 'slow_no_dynamic', onnx, config: { max_batch_size: 1 } },
  { name: 'slow_auto_dynamic', onnx, config: { max_batch_size: 8 } },
  // (h) priorities
  { name: 'slow_prio', onnx, config: { max_batch_size: 1, dynamic_batching: { priority_levels: 2, default_priority_level: 2 } } },
];

const SCORER_DELAY_US = 20_000;

describe('e2e dynamic batching', function () {
  this.timeout(60_000);
  let t: TestServer;
  let repo: string;
  /** One slow run as this server measures it (compute_infer), in ms. */
  let runMs: number;

  before(async () => {
    const scorer = fs.readFileSync(path.join(MODELS_DIR, 'stock_scorer', '1', 'model.onnx'));
    repo = writeTempRepository([
      ...slowModels(await sizedSlowModel()),
      { name: 'stock_scorer', onnx: scorer, config: { max_batch_size: 64, dynamic_batching: { max_queue_delay_microseconds: SCORER_DELAY_US } } },
    ]);
    // One ONNX Runtime thread per instance: runs are CPU-bound on a 2-core machine, and two
    // instances must not fight over the same cores for test (f).
    t = await startTestServer({ MODEL_REPOSITORY: repo, ORT_INTRA_OP_THREADS: '1' });
    const ready = await t.client.unary<{ ready: boolean }>('ServerReady', {});
    expect(ready.ready, 'every temporary model loaded').to.equal(true);
    const before = await stats('slow_single');
    for (const seed of [1, 2]) expectSlowAnswer(await slow('slow_single', seed, 1), seed, 1);
    runMs = inferMs(statsDelta(await stats('slow_single'), before));
  });

  after(async () => {
    await t?.stop();
    if (repo) removeDir(repo);
  });

  const slow = (model: string, seed: number, rows: number, options: InferOptions = {}): Promise<Outcome> =>
    infer(t.client, model, rowsOf(seed, rows, SLOW_FEATURES), SLOW_FEATURES, options);

  /** Checks an OK outcome of the slow model against y = x @ W1 for the same rows. */
  function expectSlowAnswer(o: Outcome, seed: number, rows: number): void {
    expect(o.code, o.details).to.equal(status.OK);
    const y = o.outputs.get('y');
    expect(y, 'output y').to.not.equal(undefined);
    expect(y!.shape).to.deep.equal([rows, 4]);
    expect(maxAbsDiff(y!.data, slowReference(rowsOf(seed, rows, SLOW_FEATURES)))).to.be.below(1e-5);
  }

  const stats = (model: string): Promise<Stats> => statistics(t.client, model);
  const inferMs = (d: Stats): number => d.computeInfer.ns / Math.max(1, d.computeInfer.count) / 1e6;

  /** The model's statistics as a delta from `before`, once `done` holds for it. */
  const statsWhen = (model: string, before: Stats, done: (d: Stats) => boolean, limitMs: number): Promise<Stats> =>
    waitFor(`statistics of ${model}`, async () => statsDelta(await stats(model), before), done, limitMs);

  describe('(a) mixed requests on stock_scorer', () => {
    const REQUESTS = 40;
    const rowsFor = (i: number): number => 1 + (i % 5);
    const features = (i: number): Float32Array => {
      // Plausible feature values: around each feature's mean, as the scorer expects.
      const base = rowsOf(i + 1, rowsFor(i), 8);
      const means = [0.008, 0.094, 0.27, 18.6, 2.9, 22.4, 0.021, 1.04];
      const stds = [0.072, 0.31, 0.12, 9.4, 1.8, 1.7, 0.016, 0.46];
      return base.map((v, k) => means[k % 8] + v * stds[k % 8]);
    };
    const scorerRequest = (i: number, x: Float32Array): object => ({
      model_name: 'stock_scorer',
      id: `req-${i}`,
      inputs: [{ name: 'features', datatype: 'FP32', shape: [rowsFor(i), 8] }],
      raw_input_contents: [Buffer.from(x.buffer, x.byteOffset, x.byteLength)],
    });

    it('batches 40 concurrent requests of 1..5 rows and splits outputs exactly as if sent one at a time', async () => {
      const inputs = Array.from({ length: REQUESTS }, (_, i) => features(i));
      const totalRows = inputs.reduce((sum, _x, i) => sum + rowsFor(i), 0);
      const before = await stats('stock_scorer');
      const together = await Promise.all(inputs.map((x, i) => startInfer(t.client, scorerRequest(i, x)).outcome));
      const d = statsDelta(await stats('stock_scorer'), before);

      // One at a time: each request alone in its run.
      const alone: Outcome[] = [];
      for (let i = 0; i < REQUESTS; i++) alone.push(await startInfer(t.client, scorerRequest(i, inputs[i])).outcome);

      const weights = readInitializers(path.join(MODELS_DIR, 'stock_scorer', '1', 'model.onnx'));
      together.forEach((o, i) => {
        expect(o.code, o.details).to.equal(status.OK);
        expect(o.id).to.equal(`req-${i}`);
        const rows = rowsFor(i);
        const score = o.outputs.get('score')!;
        const standardized = o.outputs.get('standardized')!;
        expect(score.shape).to.deep.equal([rows, 1]);
        expect(standardized.shape).to.deep.equal([rows, 8]);
        const single = alone[i];
        expect(single.code, single.details).to.equal(status.OK);
        expect(maxAbsDiff(score.data, single.outputs.get('score')!.data), `score of request ${i}`).to.be.below(1e-5);
        expect(maxAbsDiff(standardized.data, single.outputs.get('standardized')!.data), `standardized of request ${i}`).to.be.below(1e-5);
        // And both agree with an independent computation.
        const reference = stockScorerReference(inputs[i], rows, weights);
        expect(maxAbsDiff(score.data, reference.score)).to.be.below(1e-4);
      });

      expect(d.success.count).to.equal(REQUESTS);
      expect(d.inferenceCount, 'inference_count counts rows').to.equal(totalRows);
      expect(d.executionCount, 'fewer runs than requests').to.be.below(REQUESTS);
      expect(d.executionCount).to.be.at.least(Math.ceil(totalRows / 64));
      const sizes = [...d.batches.keys()];
      expect(sizes.some((s) => s > 5), `batch sizes ${sizes.join(',')} include a batch of several requests`).to.equal(true);
      expect(Math.max(...sizes)).to.be.at.most(64);
      // batch_stats: one execution per run, rows adding up to inference_count.
      expect([...d.batches.values()].reduce((a, b) => a + b, 0)).to.equal(d.executionCount);
      expect([...d.batches].reduce((sum, [size, count]) => sum + size * count, 0)).to.equal(totalRows);
      // Every request is charged its batch's compute time once.
      expect(d.computeInfer.count).to.equal(REQUESTS);
      expect(d.queue.count).to.equal(REQUESTS);
    });

    it('answers INVALID_ARGUMENT for more rows than max_batch_size, without running', async () => {
      const before = await stats('stock_scorer');
      const x = new Float32Array(65 * 8).fill(1);
      const o = await startInfer(t.client, {
        model_name: 'stock_scorer',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [65, 8] }],
        raw_input_contents: [Buffer.from(x.buffer)],
      }).outcome;
      expect(o.code).to.equal(status.INVALID_ARGUMENT);
      expect(o.details).to.match(/max_batch_size/);
      const d = statsDelta(await stats('stock_scorer'), before);
      expect(d.executionCount).to.equal(0);
      expect(d.inferenceCount).to.equal(0);
      expect(d.fail.count).to.equal(1);
    });
  });

  describe('(b) max_queue_delay_microseconds', () => {
    it('holds a lone request on an idle model for about the delay, and not much longer', async () => {
      const before = await stats('slow_delay');
      const o = await slow('slow_delay', 1, 1);
      expectSlowAnswer(o, 1, 1);
      const d = statsDelta(await stats('slow_delay'), before);
      const latency = o.doneAt - o.startedAt;
      const queuedMs = d.queue.ns / 1e6;
      expect(d.executionCount).to.equal(1);
      // Timers may fire a millisecond early by performance.now(), and late on a loaded machine.
      expect(queuedMs, 'time in the queue').to.be.within(DELAY_US / 1000 - 2, 1.5 * DELAY_US / 1000);
      expect(latency, 'latency').to.be.at.least(DELAY_US / 1000 - 2);
      expect(latency, `latency with a ${inferMs(d).toFixed(0)} ms run`).to.be.below(1.5 * DELAY_US / 1000 + inferMs(d));
    });

    it('sends a batch that reaches max_batch_size at once, without waiting for the delay', async () => {
      const before = await stats('slow_delay');
      const [a, b] = await Promise.all([slow('slow_delay', 2, 2), slow('slow_delay', 3, 2)]);
      expectSlowAnswer(a, 2, 2);
      expectSlowAnswer(b, 3, 2);
      const d = statsDelta(await stats('slow_delay'), before);
      expect(d.executionCount, 'one run for both').to.equal(1);
      expect([...d.batches]).to.deep.equal([[4, 1]]);
      expect(d.queue.ns / d.queue.count / 1e6, 'mean time in the queue').to.be.below(DELAY_US / 1000 / 2);
      const slowest = Math.max(a.doneAt, b.doneAt) - Math.min(a.startedAt, b.startedAt);
      expect(slowest - inferMs(d), 'latency beyond the run itself').to.be.below(DELAY_US / 1000 / 2);
    });

    it('bounds the wait of the oldest request even when a higher-priority request arrives later', async () => {
      // Triton measures the delay from the oldest request of the pending batch. A priority-2
      // request waits alone; a priority-1 request joins 200 ms later; both must leave when the
      // first has waited 300 ms, not 300 ms after the second arrived.
      const before = await stats('slow_prio_delay');
      const first = slow('slow_prio_delay', 4, 1);
      await sleep(200);
      const second = slow('slow_prio_delay', 5, 1, { parameters: { priority: { int64_param: '1' } } });
      const [a, b] = await Promise.all([first, second]);
      expectSlowAnswer(a, 4, 1);
      expectSlowAnswer(b, 5, 1);
      const d = statsDelta(await stats('slow_prio_delay'), before);
      expect(d.executionCount, 'one run for both').to.equal(1);
      const waited = a.doneAt - a.startedAt - inferMs(d);
      expect(waited, 'the first request\'s wait beyond its run').to.be.below(PRIO_DELAY_US / 1000 + 100);
    });
  });

  describe('(c) deadlines and timeouts while queued', () => {
    it('answers DEADLINE_EXCEEDED for a request whose gRPC deadline passes while queued, and never runs it', async () => {
      const before = await stats('slow_expiry');
      // Sent back to back on one channel: the busy request takes the idle instance, the late one queues.
      const busy = slow('slow_expiry', 10, 1);
      const deadlineMs = 0.3 * runMs;
      const late = slow('slow_expiry', 11, 3, { deadlineMs });
      const lateOutcome = await late;
      expect(lateOutcome.code).to.equal(status.DEADLINE_EXCEEDED);
      // The server drops it from the queue as soon as it expires, while the busy run still goes on.
      const mid = await statsWhen('slow_expiry', before, (d) => d.fail.count > 0 || d.executionCount > 0, 5 * runMs);
      expect(mid.fail.count, 'the expired request failed on the server').to.equal(1);
      expect(mid.executionCount, `busy run still going (deadline ${deadlineMs.toFixed(0)} ms, run ${runMs.toFixed(0)} ms)`).to.equal(0);
      const busyOutcome = await busy;
      expectSlowAnswer(busyOutcome, 10, 1);
      expect(lateOutcome.doneAt).to.be.below(busyOutcome.doneAt);
      const d = await statsWhen('slow_expiry', before, (s) => s.success.count === 1, 5 * runMs);
      expect(d.executionCount, 'only the busy run').to.equal(1);
      expect(d.inferenceCount, 'the expired request\'s 3 rows never ran').to.equal(1);
      expect(d.fail.count).to.equal(1);
    });

    it('answers DEADLINE_EXCEEDED when the `timeout` parameter (int64 or uint64 microseconds) passes while queued', async () => {
      const before = await stats('slow_expiry');
      const [shortUs, longUs] = [Math.round(200 * runMs), Math.round(300 * runMs)];
      const busy = slow('slow_expiry', 12, 1);
      const [byInt, byUint] = await Promise.all([
        slow('slow_expiry', 13, 2, { parameters: { timeout: { int64_param: String(shortUs) } } }),
        slow('slow_expiry', 14, 3, { parameters: { timeout: { uint64_param: String(longUs) } } }),
      ]);
      const busyOutcome = await busy;
      expectSlowAnswer(busyOutcome, 12, 1);
      for (const [o, us] of [[byInt, shortUs], [byUint, longUs]] as const) {
        expect(o.code, o.details).to.equal(status.DEADLINE_EXCEEDED);
        expect(o.doneAt - o.startedAt, 'not before its timeout').to.be.at.least(us / 1000 - EARLIEST_EXPIRY_MS);
        expect(o.doneAt, 'answered at its timeout, before the busy run ended').to.be.below(busyOutcome.doneAt);
      }
      const d = await statsWhen('slow_expiry', before, (s) => s.success.count === 1, 5 * runMs);
      expect(d.executionCount).to.equal(1);
      expect(d.inferenceCount, 'timed-out rows never ran').to.equal(1);
      expect(d.fail.count).to.equal(2);
    });
  });

  describe('(d) cancellation', () => {
    it('removes a call cancelled while queued, and never runs it', async () => {
      const before = await stats('slow_expiry');
      const busy = slow('slow_expiry', 20, 2);
      const queued = startInfer(t.client, inferRequest('slow_expiry', rowsOf(21, 4, SLOW_FEATURES), SLOW_FEATURES));
      // A fifth of the run: ample for a request to cross loopback, and the busy run goes on long after.
      await sleep(0.2 * runMs);
      queued.call.cancel();
      const cancelled = await queued.outcome;
      expect(cancelled.code).to.equal(status.CANCELLED);
      const mid = await statsWhen('slow_expiry', before, (d) => d.fail.count > 0 || d.executionCount > 0, 5 * runMs);
      expect(mid.fail.count, 'the server dropped the cancelled request').to.equal(1);
      expect(mid.executionCount, `busy run still going (run ${runMs.toFixed(0)} ms)`).to.equal(0);
      expectSlowAnswer(await busy, 20, 2);
      const d = await statsWhen('slow_expiry', before, (s) => s.success.count === 1, 5 * runMs);
      expect(d.executionCount).to.equal(1);
      expect(d.inferenceCount, 'the cancelled request\'s 4 rows never ran').to.equal(2);
    });
  });

  describe('(e) bounded queue', () => {
    it('answers RESOURCE_EXHAUSTED at once when max_queue_size requests already wait, and serves the rest', async () => {
      const before = await stats('slow_queue');
      // In order on one channel: the first takes the idle instance, two wait, two find the queue full.
      const busy = slow('slow_queue', 30, 1);
      const waiting = [31, 32, 33, 34].map((seed) => slow('slow_queue', seed, 2));
      const outcomes = await Promise.all(waiting);
      const busyOutcome = await busy;
      expectSlowAnswer(busyOutcome, 30, 1);
      expect(outcomes.map((o) => o.code), 'the first two waited, the last two were turned away').to.deep.equal([status.OK, status.OK, status.RESOURCE_EXHAUSTED, status.RESOURCE_EXHAUSTED]);
      for (const o of outcomes.slice(2)) expect(o.doneAt, 'refused without waiting for the busy run').to.be.below(busyOutcome.doneAt);
      expectSlowAnswer(outcomes[0], 31, 2);
      expectSlowAnswer(outcomes[1], 32, 2);
      const d = statsDelta(await stats('slow_queue'), before);
      expect(d.executionCount, 'the busy run, then the two waiting together').to.equal(2);
      expect(d.inferenceCount).to.equal(5);
      expect(d.fail.count).to.equal(2);
    });
  });

  describe('(f) instance_group count', () => {
    it('runs two single-request batches in parallel on two instances', async () => {
      // The server's own queue times tell: the client's receive times move with how busy the
      // test process's event loop is, which serves the client as well as the server here.
      const runTwo = async (model: string): Promise<Stats> => {
        const before = await stats(model);
        const [a, b] = await Promise.all([slow(model, 40, 1), slow(model, 41, 1)]);
        expectSlowAnswer(a, 40, 1);
        expectSlowAnswer(b, 41, 1);
        return statsDelta(await stats(model), before);
      };
      const one = await runTwo('slow_single');
      const two = await runTwo('slow_pair');
      const run = inferMs(one);
      const queuedMs = (d: Stats) => d.queue.ns / 1e6;
      const report = `queued in all: one instance ${queuedMs(one).toFixed(0)} ms, two ${queuedMs(two).toFixed(0)} ms; run ${run.toFixed(0)} ms`;
      expect(one.executionCount).to.equal(2);
      expect(two.executionCount).to.equal(2);
      // One instance: the second request waits for the first run.
      expect(queuedMs(one), report).to.be.at.least(0.6 * run);
      // Two instances: neither waits; both runs start at once. (When they end depends on free
      // cores: on a loaded 2-vCPU machine two CPU-bound runs may not overlap much.)
      expect(queuedMs(two), report).to.be.below(0.2 * run);
    });
  });

  describe('(g) no dynamic batching', () => {
    for (const [model, rows, rowsCounted] of [['slow_unbatched', 2, 1], ['slow_no_dynamic', 1, 1]] as const) {
      it(`${model}: runs each request alone even when they queue up`, async () => {
        const before = await stats(model);
        const outcomes = await Promise.all([50, 51, 52, 53].map((seed) => slow(model, seed, rows)));
        outcomes.forEach((o, i) => expectSlowAnswer(o, 50 + i, rows));
        const d = statsDelta(await stats(model), before);
        expect(d.executionCount, 'one run per request').to.equal(4);
        expect(d.inferenceCount).to.equal(4 * rowsCounted);
        expect([...d.batches]).to.deep.equal([[rowsCounted, 4]]);
      });
    }

    it('slow_auto_dynamic: batches what queues when max_batch_size is above 1 and no scheduler is named, as Triton does', async () => {
      const before = await stats('slow_auto_dynamic');
      // In order on one channel: the first takes the idle instance, the other three queue behind it and leave together.
      const outcomes = await Promise.all([54, 55, 56, 57].map((seed) => slow('slow_auto_dynamic', seed, 2)));
      outcomes.forEach((o, i) => expectSlowAnswer(o, 54 + i, 2));
      const d = statsDelta(await stats('slow_auto_dynamic'), before);
      expect(d.executionCount).to.equal(2);
      expect([...d.batches]).to.deep.equal([[2, 1], [6, 1]]);
    });
  });

  describe('(h) priority', () => {
    it('serves a later priority-1 request before earlier priority-2 ones', async () => {
      const before = await stats('slow_prio');
      const order: string[] = [];
      const track = (label: string, p: Promise<Outcome>): Promise<Outcome> =>
        p.then((o) => {
          order.push(label);
          return o;
        });
      // In order on one channel: the busy request takes the idle instance, the others queue behind it.
      const busy = track('busy', slow('slow_prio', 60, 1));
      const lowDefault = track('low-default', slow('slow_prio', 61, 1));
      const lowExplicit = track('low-explicit', slow('slow_prio', 62, 1, { parameters: { priority: { uint64_param: '2' } } }));
      const high = track('high', slow('slow_prio', 63, 1, { parameters: { priority: { int64_param: '1' } } }));
      const outcomes = await Promise.all([busy, lowDefault, lowExplicit, high]);
      outcomes.forEach((o, i) => expectSlowAnswer(o, 60 + i, 1));
      expect(order).to.deep.equal(['busy', 'high', 'low-default', 'low-explicit']);
      const d = statsDelta(await stats('slow_prio'), before);
      expect(d.executionCount).to.equal(4);
    });
  });
});
