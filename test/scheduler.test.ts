/** Scheduler with hand-driven instances: which batch goes where, and in what order answers leave. */
import { expect } from 'chai';
import { Scheduler } from '../src/batching/scheduler';
import { ModelStatistics } from '../src/observability/model-statistics';
import type { DynamicBatching, ModelConfig } from '../src/repository/model-config';
import type { InstancePool } from '../src/runtime/instance-pool';
import type { RunResult } from '../src/runtime/model-instance';
import type { WireTensor } from '../src/runtime/worker-protocol';
import { Cancellation } from '../src/batching/cancellation';
import { fakeJob, policy, sleep, trackTimers, type FakeJob } from './support/batching-fakes';

interface HeldRun {
  readonly x: Float32Array;
  finish(): void;
  fail(message: string): void;
}

/** Stands in for a ModelInstance: each run waits until the test finishes it, then echoes x as y. */
class HeldInstance {
  readonly runs: HeldRun[] = [];

  constructor(readonly name: string) {}

  run(feeds: Record<string, WireTensor>): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const { dims, data } = feeds.x;
      this.runs.push({
        x: data as Float32Array,
        finish: () => resolve({ outputs: { y: { type: 'float32', dims, data } }, inferNs: 1000 }),
        fail: (message) => reject(new Error(message)),
      });
    });
  }
}

/** What Scheduler asks of its pool; idle instances are handed out first come, first served. */
class HeldPool {
  readonly idle: HeldInstance[];

  constructor(readonly instances: HeldInstance[]) {
    this.idle = [...instances];
  }

  get canRun(): boolean {
    return this.idle.length > 0;
  }

  acquire(): HeldInstance | undefined {
    return this.idle.shift();
  }

  release(instance: HeldInstance): void {
    this.idle.push(instance);
  }
}

function config(maxBatchSize: number, batching: Partial<DynamicBatching> | undefined): ModelConfig {
  return {
    name: 'm',
    platform: 'onnxruntime_onnx',
    maxBatchSize,
    inputs: [{ name: 'x', datatype: 'FP32', dims: [1] }],
    outputs: [{ name: 'y', datatype: 'FP32', dims: [1] }],
    versionPolicy: { kind: 'latest', numVersions: 1 },
    instanceCount: 2,
    instanceGroup: { kind: 'KIND_AUTO', count: 2, gpus: [] },
    cudaOptions: {},
    dynamicBatching: batching && {
      maxQueueDelayMicros: 0,
      preferredBatchSizes: [],
      preserveOrdering: false,
      priorityLevels: 0,
      defaultPriorityLevel: 0,
      defaultQueuePolicy: policy(),
      priorityQueuePolicy: new Map(),
      ...batching,
    },
    warmup: [],
  };
}

/** A one-row job whose single input value is `value`, so runs show which jobs they hold. */
const job = (value: number): FakeJob =>
  fakeJob({ label: String(value), rows: 1, shapeKey: '1;', outputs: ['y'], inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: Float32Array.of(value) }] });

function start(maxBatchSize: number, batching: Partial<DynamicBatching> | undefined): { scheduler: Scheduler; a: HeldInstance; b: HeldInstance; stats: ModelStatistics } {
  const a = new HeldInstance('a');
  const b = new HeldInstance('b');
  const stats = new ModelStatistics();
  // The scheduler only asks canRun and calls acquire() and release(); a real pool would start worker threads.
  const pool = new HeldPool([a, b]) as unknown as InstancePool;
  return { scheduler: new Scheduler(config(maxBatchSize, batching), pool, stats, policy()), a, b, stats };
}

const answer = (j: FakeJob): number[] => Array.from(j.outcome.resolved?.[0].data as Float32Array);

describe('scheduler', () => {
  it('gives each idle instance a batch and holds further jobs until an instance is free', async () => {
    const { scheduler, a, b } = start(1, {});
    const jobs = [job(1), job(2), job(3)];
    for (const j of jobs) scheduler.submit(j);
    expect(a.runs.map((r) => Array.from(r.x))).to.deep.equal([[1]]);
    expect(b.runs.map((r) => Array.from(r.x))).to.deep.equal([[2]]);

    b.runs[0].finish();
    await jobs[1].settled;
    expect(answer(jobs[1])).to.deep.equal([2]);
    expect(b.runs.map((r) => Array.from(r.x)), 'the third job goes to the instance that came free').to.deep.equal([[2], [3]]);
    expect(a.runs).to.have.length(1);

    a.runs[0].finish();
    b.runs[1].finish();
    await Promise.all(jobs.map((j) => j.settled));
    expect(jobs.map(answer)).to.deep.equal([[1], [2], [3]]);
  });

  it('without preserve_ordering, answers a batch as soon as its run ends, before an earlier batch', async () => {
    const { scheduler, a, b } = start(1, { preserveOrdering: false });
    const [first, second] = [job(1), job(2)];
    scheduler.submit(first);
    scheduler.submit(second);
    b.runs[0].finish();
    await second.settled;
    expect(first.outcome.resolved, 'the first batch is still running').to.equal(undefined);
    a.runs[0].finish();
    await first.settled;
    expect(first.outcome.settledAt!).to.be.above(second.outcome.settledAt!);
  });

  it('with preserve_ordering, holds a finished batch until every batch that started before it has answered', async () => {
    const { scheduler, a, b } = start(1, { preserveOrdering: true });
    const [first, second, third] = [job(1), job(2), job(3)];
    scheduler.submit(first);
    scheduler.submit(second);
    scheduler.submit(third);
    b.runs[0].finish();
    await sleep(5);
    expect(second.outcome.resolved, 'the second batch waits for the first').to.equal(undefined);
    // Its instance is free again, so the third job already runs.
    b.runs[1].finish();
    await sleep(5);
    expect(third.outcome.resolved, 'the third batch waits too').to.equal(undefined);

    a.runs[0].finish();
    await Promise.all([first.settled, second.settled, third.settled]);
    expect([first, second, third].map(answer)).to.deep.equal([[1], [2], [3]]);
    expect(first.outcome.settledAt!).to.be.at.most(second.outcome.settledAt!);
    expect(second.outcome.settledAt!).to.be.at.most(third.outcome.settledAt!);
  });

  it('with preserve_ordering, a failed batch answers in its turn and does not hold later ones back', async () => {
    const { scheduler, a, b } = start(1, { preserveOrdering: true });
    const [first, second] = [job(1), job(2)];
    scheduler.submit(first);
    scheduler.submit(second);
    b.runs[0].finish();
    a.runs[0].fail('out of memory');
    await Promise.all([first.settled, second.settled]);
    expect(first.outcome.rejected?.message).to.match(/out of memory/);
    expect(answer(second)).to.deep.equal([2]);
    expect(first.outcome.settledAt!).to.be.at.most(second.outcome.settledAt!);
  });

  it('splits one batched run back to its jobs and counts it once in the statistics', async () => {
    const { scheduler, a, stats } = start(8, {});
    // While both instances are busy, jobs 3 to 5 queue up and leave together.
    const jobs = [job(1), job(2), job(3), job(4), job(5)];
    for (const j of jobs) scheduler.submit(j);
    a.runs[0].finish();
    await jobs[0].settled;
    expect(a.runs.map((r) => Array.from(r.x))).to.deep.equal([[1], [3, 4, 5]]);
    a.runs[1].finish();
    await Promise.all([jobs[2].settled, jobs[3].settled, jobs[4].settled]);
    expect(jobs.slice(2).map(answer)).to.deep.equal([[3], [4], [5]]);
    expect(stats.executionCount).to.equal(2);
    expect(stats.inferenceCount).to.equal(4);
    expect([...stats.batchStats.keys()].sort()).to.deep.equal([1, 3]);
  });

  describe('pending and whenIdle (what an unload drains)', () => {
    it('counts queued and running jobs as pending, and whenIdle resolves only once the last is answered', async () => {
      const { scheduler, a, b } = start(1, {});
      const jobs = [job(1), job(2), job(3)];
      for (const j of jobs) scheduler.submit(j);
      expect(scheduler.pending, 'two running, one queued').to.equal(3);
      let idle = false;
      const drained = scheduler.whenIdle().then(() => (idle = true));
      a.runs[0].finish();
      b.runs[0].finish();
      await Promise.all([jobs[0].settled, jobs[1].settled]);
      await sleep(1);
      expect(scheduler.pending, 'the queued job now runs').to.equal(1);
      expect(idle, 'idle while a job still runs').to.equal(false);
      (a.runs[1] ?? b.runs[1]).finish();
      await drained;
      expect(scheduler.pending).to.equal(0);
      expect(jobs.map(answer)).to.deep.equal([[1], [2], [3]]);
    });

    it('whenIdle resolves at once when nothing is pending', async () => {
      const { scheduler } = start(1, {});
      await scheduler.whenIdle();
      expect(scheduler.pending).to.equal(0);
    });

    it('with preserve_ordering, a finished batch held for an earlier one still counts as pending', async () => {
      const { scheduler, a, b } = start(1, { preserveOrdering: true });
      const [first, second] = [job(1), job(2)];
      scheduler.submit(first);
      scheduler.submit(second);
      b.runs[0].finish();
      await sleep(5);
      expect(scheduler.pending, 'the second is held back, unanswered').to.equal(2);
      a.runs[0].finish();
      await scheduler.whenIdle();
      expect([first, second].map(answer)).to.deep.equal([[1], [2]]);
    });

    it('leaves no timer behind once idle: the queue-delay timer of a job cancelled while waiting for company is cleared', async () => {
      const timers = trackTimers();
      try {
        const { scheduler, a } = start(8, { maxQueueDelayMicros: 60_000_000 });
        const cancellation = new Cancellation();
        const waiting = fakeJob({ label: 'w', rows: 1, shapeKey: '1;', cancellation, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: Float32Array.of(1) }] });
        scheduler.submit(waiting);
        expect(a.runs, 'a lone job waits out the queue delay').to.have.length(0);
        expect(timers.pending(), 'the scheduler armed its delay timer').to.equal(1);
        const drained = scheduler.whenIdle();
        cancellation.cancel();
        await drained;
        expect(waiting.outcome.rejected?.message).to.match(/cancelled/);
        expect(timers.pending(), 'no timer outlives the drain').to.equal(0);
      } finally {
        timers.stop();
      }
    });
  });
});
