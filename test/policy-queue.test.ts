import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { Cancellation } from '../src/batching/cancellation';
import { InferenceError } from '../src/errors';
import { EARLIEST_EXPIRY_MS, PolicyQueue, type QueuedJob } from '../src/batching/policy-queue';
import type { QueuePolicy } from '../src/repository/model-config';
import { fakeJob, policy, sleep, trackTimers, type FakeJob, type FakeJobOptions } from './support/batching-fakes';

/** A queue over the given level policies that records onRemoved calls. */
function makeQueue(policies: readonly QueuePolicy[] = [policy()]): { queue: PolicyQueue; removed: () => number } {
  let removed = 0;
  const queue = new PolicyQueue(policies, () => removed++);
  return { queue, removed: () => removed };
}

const order = (queue: PolicyQueue): string[] => [...queue.waiting()].map((e) => (e.job as FakeJob).label);

function entryOf(queue: PolicyQueue, label: string): QueuedJob {
  for (const e of queue.waiting()) if ((e.job as FakeJob).label === label) return e;
  throw new Error(`no waiting job ${label}`);
}

function add(queue: PolicyQueue, label: string, options: FakeJobOptions = {}): FakeJob {
  const job = fakeJob({ label, ...options });
  queue.add(job);
  return job;
}

function expectCode(err: Error | undefined, code: string): void {
  expect(err, `expected a rejection with ${code}`).to.be.instanceOf(InferenceError);
  expect((err as InferenceError).code).to.equal(code);
}

/** Takes every waiting job, as a batch leaving would. */
function drain(queue: PolicyQueue): void {
  for (const e of [...queue.waiting()]) queue.take(e);
}

describe('policy-queue', () => {
  describe('bounds', () => {
    it('answers RESOURCE_EXHAUSTED at once when a level is full, and has room again after a take', () => {
      const { queue } = makeQueue([policy({ maxQueueSize: 2 })]);
      add(queue, 'a');
      add(queue, 'b');
      let thrown: unknown;
      try {
        add(queue, 'c');
      } catch (err) {
        thrown = err;
      }
      expectCode(thrown as Error, 'RESOURCE_EXHAUSTED');
      expect(queue.size).to.equal(2);
      expect(order(queue)).to.deep.equal(['a', 'b']);
      queue.take(entryOf(queue, 'a'));
      add(queue, 'c');
      expect(order(queue)).to.deep.equal(['b', 'c']);
    });

    it('bounds each priority level on its own', () => {
      const { queue } = makeQueue([policy({ maxQueueSize: 1 }), policy({ maxQueueSize: 2 })]);
      add(queue, 'hi', { priority: 1 });
      expect(() => add(queue, 'hi2', { priority: 1 })).to.throw(InferenceError).with.property('code', 'RESOURCE_EXHAUSTED');
      add(queue, 'lo1', { priority: 2 });
      add(queue, 'lo2', { priority: 2 });
      expect(() => add(queue, 'lo3', { priority: 2 })).to.throw(InferenceError).with.property('code', 'RESOURCE_EXHAUSTED');
      expect(queue.size).to.equal(3);
    });

    it('frees a slot when a queued job is cancelled or expires', async () => {
      const { queue } = makeQueue([policy({ maxQueueSize: 1 })]);
      const controller = new Cancellation();
      add(queue, 'a', { cancellation: controller });
      controller.cancel();
      add(queue, 'b', { deadlineAt: performance.now() + 10 });
      await sleep(40);
      expect(queue.size).to.equal(0);
      add(queue, 'c');
      drain(queue);
    });
  });

  describe('order', () => {
    it('serves by priority level (1 highest), then oldest first', () => {
      const { queue } = makeQueue([policy(), policy(), policy()]);
      add(queue, 'p2a', { priority: 2 });
      add(queue, 'p3a', { priority: 3 });
      add(queue, 'p1a', { priority: 1 });
      add(queue, 'p2b', { priority: 2 });
      add(queue, 'p1b', { priority: 1 });
      expect(order(queue)).to.deep.equal(['p1a', 'p1b', 'p2a', 'p2b', 'p3a']);
    });

    it('take() removes a job from any position and keeps the rest in order', () => {
      const { queue, removed } = makeQueue();
      for (const l of ['a', 'b', 'c', 'd']) add(queue, l);
      queue.take(entryOf(queue, 'b'));
      queue.take(entryOf(queue, 'a'));
      expect(order(queue)).to.deep.equal(['c', 'd']);
      expect(queue.size).to.equal(2);
      // Leaving in a batch is not a removal: the scheduler is not poked.
      expect(removed()).to.equal(0);
      drain(queue);
      expect(queue.size).to.equal(0);
    });

    it('keeps order and size right across many adds and takes (compaction)', () => {
      const { queue } = makeQueue([policy({ maxQueueSize: 1000 })]);
      for (let i = 0; i < 300; i++) add(queue, `j${i}`);
      for (let i = 0; i < 200; i++) queue.take(entryOf(queue, `j${i}`));
      for (let i = 300; i < 310; i++) add(queue, `j${i}`);
      const now = order(queue);
      expect(now).to.have.length(110);
      expect(now[0]).to.equal('j200');
      expect(now[109]).to.equal('j309');
      expect(queue.size).to.equal(110);
      drain(queue);
    });
  });

  describe('timeouts', () => {
    it('REJECT: a job past the level\'s default timeout is removed and answered DEADLINE_EXCEEDED', async () => {
      const { queue, removed } = makeQueue([policy({ defaultTimeoutMicros: 20_000, timeoutAction: 'REJECT' })]);
      const started = performance.now();
      const job = add(queue, 'a');
      await job.settled;
      expectCode(job.outcome.rejected, 'DEADLINE_EXCEEDED');
      expect(job.outcome.settledAt! - started).to.be.at.least(20 - EARLIEST_EXPIRY_MS);
      expect(queue.size).to.equal(0);
      expect(removed()).to.equal(1);
    });

    it('DELAY: a timed-out job stays queued but goes behind every punctual job of its level', async () => {
      const { queue, removed } = makeQueue([policy({ defaultTimeoutMicros: 20_000, timeoutAction: 'DELAY' }), policy()]);
      const late = add(queue, 'late');
      await sleep(50);
      add(queue, 'punctual1');
      add(queue, 'punctual2');
      add(queue, 'low', { priority: 2 });
      expect(late.outcome.rejected).to.equal(undefined);
      expect(entryOf(queue, 'late').delayed).to.equal(true);
      // Still ahead of lower priority levels.
      expect(order(queue)).to.deep.equal(['punctual1', 'punctual2', 'late', 'low']);
      expect(removed()).to.equal(0);
      drain(queue);
    });

    it('DELAY: a delayed job is still rejected when its gRPC deadline passes', async () => {
      // The deadline lies far past the check, so even a stalled event loop sees the job delayed first.
      const { queue } = makeQueue([policy({ defaultTimeoutMicros: 10_000, timeoutAction: 'DELAY' })]);
      const job = add(queue, 'a', { deadlineAt: performance.now() + 300 });
      await sleep(25);
      expect(entryOf(queue, 'a').delayed).to.equal(true);
      await job.settled;
      expectCode(job.outcome.rejected, 'DEADLINE_EXCEEDED');
      expect(queue.size).to.equal(0);
    });

    it('a request timeout shortens the default when the level allows overrides', async () => {
      const { queue } = makeQueue([policy({ defaultTimeoutMicros: 5_000_000, allowTimeoutOverride: true })]);
      const started = performance.now();
      const job = add(queue, 'a', { timeoutMicros: 20_000 });
      await job.settled;
      expectCode(job.outcome.rejected, 'DEADLINE_EXCEEDED');
      expect(job.outcome.settledAt! - started).to.be.within(20 - EARLIEST_EXPIRY_MS, 1000);
    });

    it('a request timeout cannot lengthen the default', async () => {
      const { queue } = makeQueue([policy({ defaultTimeoutMicros: 20_000, allowTimeoutOverride: true })]);
      const started = performance.now();
      const job = add(queue, 'a', { timeoutMicros: 10_000_000 });
      await job.settled;
      expectCode(job.outcome.rejected, 'DEADLINE_EXCEEDED');
      expect(job.outcome.settledAt! - started).to.be.below(1000);
    });

    it('a request timeout is ignored when the level has a timeout and forbids overrides', async () => {
      // The level's timeout lies far past the check, so a stalled event loop cannot reach both.
      const { queue } = makeQueue([policy({ defaultTimeoutMicros: 300_000, allowTimeoutOverride: false })]);
      const job = add(queue, 'a', { timeoutMicros: 5_000 });
      await sleep(30);
      expect(job.outcome.rejected).to.equal(undefined);
      expect(queue.size).to.equal(1);
      await job.settled;
      expectCode(job.outcome.rejected, 'DEADLINE_EXCEEDED');
    });

    it('a request timeout applies when the level has no timeout of its own', async () => {
      const { queue } = makeQueue([policy()]);
      const job = add(queue, 'a', { timeoutMicros: 15_000 });
      await job.settled;
      expectCode(job.outcome.rejected, 'DEADLINE_EXCEEDED');
    });

    it('a request timeout past the 32-bit timer range keeps the job queued, with no overflow warning', async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error): number => warnings.push(w.name);
      process.on('warning', onWarning);
      try {
        const { queue } = makeQueue([policy()]);
        add(queue, 'a', { timeoutMicros: Number.MAX_SAFE_INTEGER });
        add(queue, 'b', { deadlineAt: performance.now() + 1e13 });
        await sleep(30);
        expect(order(queue)).to.deep.equal(['a', 'b']);
        drain(queue);
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings).to.deep.equal([]);
    });

    it('a gRPC deadline removes the job and answers DEADLINE_EXCEEDED, leaving the others', async () => {
      const { queue, removed } = makeQueue();
      add(queue, 'keep');
      const job = add(queue, 'short', { deadlineAt: performance.now() + 15 });
      await job.settled;
      expectCode(job.outcome.rejected, 'DEADLINE_EXCEEDED');
      expect(order(queue)).to.deep.equal(['keep']);
      expect(removed()).to.equal(1);
      drain(queue);
    });

    it('a deadline already past removes the job on the next turn of the event loop', async () => {
      const { queue } = makeQueue();
      const job = add(queue, 'a', { deadlineAt: performance.now() - 5 });
      await job.settled;
      expectCode(job.outcome.rejected, 'DEADLINE_EXCEEDED');
    });

    it('a job taken into a batch is never rejected by its timer later', async () => {
      const { queue, removed } = makeQueue([policy({ defaultTimeoutMicros: 10_000 })]);
      const job = add(queue, 'a', { deadlineAt: performance.now() + 10 });
      queue.take(entryOf(queue, 'a'));
      await sleep(30);
      expect(job.outcome.rejected).to.equal(undefined);
      expect(removed()).to.equal(0);
    });
  });

  describe('cancellation', () => {
    it('an abort removes the queued job at once and answers CANCELLED', () => {
      const { queue, removed } = makeQueue();
      const controller = new Cancellation();
      add(queue, 'a');
      const job = add(queue, 'b', { cancellation: controller });
      add(queue, 'c');
      controller.cancel();
      expectCode(job.outcome.rejected, 'CANCELLED');
      expect(order(queue)).to.deep.equal(['a', 'c']);
      expect(queue.size).to.equal(2);
      expect(removed()).to.equal(1);
      drain(queue);
    });

    it('refuses a job whose cancellation has already happened with CANCELLED, without queueing it', () => {
      const { queue, removed } = makeQueue();
      const controller = new Cancellation();
      controller.cancel();
      expect(() => add(queue, 'gone', { cancellation: controller })).to.throw(InferenceError).with.property('code', 'CANCELLED');
      expect(queue.size).to.equal(0);
      expect(removed()).to.equal(0);
    });

    it('an abort after the job left in a batch does nothing', () => {
      const { queue, removed } = makeQueue();
      const controller = new Cancellation();
      const job = add(queue, 'a', { cancellation: controller });
      queue.take(entryOf(queue, 'a'));
      controller.cancel();
      expect(job.outcome.rejected).to.equal(undefined);
      expect(removed()).to.equal(0);
    });

    it('one shared cancellation (a stream) cancels every job still queued on it', () => {
      const { queue } = makeQueue();
      const controller = new Cancellation();
      const jobs = ['a', 'b', 'c'].map((l) => add(queue, l, { cancellation: controller }));
      queue.take(entryOf(queue, 'a'));
      controller.cancel();
      expect(jobs[0].outcome.rejected).to.equal(undefined);
      expectCode(jobs[1].outcome.rejected, 'CANCELLED');
      expectCode(jobs[2].outcome.rejected, 'CANCELLED');
      expect(queue.size).to.equal(0);
    });

    it('removes its cancellation listener once the job leaves the queue', async () => {
      // A stream shares one signal across all its requests: a listener left behind per job keeps
      // every finished job (and its input tensors) alive until the stream ends.
      const { queue } = makeQueue([policy({ defaultTimeoutMicros: 10_000 })]);
      const controller = new Cancellation();
      add(queue, 'taken', { cancellation: controller });
      queue.take(entryOf(queue, 'taken'));
      const expired = add(queue, 'expired', { cancellation: controller });
      await expired.settled;
      expect(controller.listenerCount).to.equal(0);
    });
  });

  describe('timers', () => {
    let timers: ReturnType<typeof trackTimers>;
    beforeEach(() => {
      timers = trackTimers();
    });
    afterEach(() => timers.stop());

    it('keeps one timer for the whole queue, armed for the earliest expiry, however many jobs wait', async () => {
      const { queue } = makeQueue();
      const now = performance.now();
      for (let i = 0; i < 50; i++) add(queue, `late${i}`, { deadlineAt: now + 60_000 + i });
      expect(timers.created()).to.equal(1);
      const soon = add(queue, 'soon', { deadlineAt: now + 15 });
      expect(timers.pending(), 'an earlier expiry moves the one timer').to.equal(1);
      await soon.settled;
      expectCode(soon.outcome.rejected, 'DEADLINE_EXCEEDED');
      expect(queue.size).to.equal(50);
      expect(timers.pending(), 'armed again for the next expiry').to.equal(1);
      drain(queue);
      expect(timers.pending()).to.equal(0);
    });

    it('leaves no timer behind once jobs are taken, expired or cancelled', async () => {
      const { queue } = makeQueue([policy({ defaultTimeoutMicros: 60_000_000, timeoutAction: 'DELAY' }), policy({ defaultTimeoutMicros: 15_000 })]);
      const controller = new Cancellation();
      add(queue, 'taken', { deadlineAt: performance.now() + 60_000 });
      add(queue, 'cancelled', { cancellation: controller, deadlineAt: performance.now() + 60_000 });
      const expiring = add(queue, 'expiring', { priority: 2 });
      queue.take(entryOf(queue, 'taken'));
      controller.cancel();
      await expiring.settled;
      expect(queue.size).to.equal(0);
      expect(timers.pending()).to.equal(0);
    });

    it('lets the timer of a job that left fire once, touching no one, and arms none after', async () => {
      const { queue, removed } = makeQueue();
      add(queue, 'taken', { deadlineAt: performance.now() + 10 });
      const stays = add(queue, 'stays');
      queue.take(entryOf(queue, 'taken'));
      await sleep(30);
      expect(stays.outcome.rejected).to.equal(undefined);
      expect(removed()).to.equal(0);
      expect(timers.pending()).to.equal(0);
      drain(queue);
    });

    it("keeps a DELAY job's deadline after its timeout moved it back, and leaves no timer once it is taken", async () => {
      const { queue } = makeQueue([policy({ defaultTimeoutMicros: 5_000, timeoutAction: 'DELAY' })]);
      add(queue, 'a', { deadlineAt: performance.now() + 60_000 });
      while (!entryOf(queue, 'a').delayed) await new Promise((resolve) => setImmediate(resolve));
      expect(timers.pending(), 'armed for the deadline').to.equal(1);
      queue.take(entryOf(queue, 'a'));
      expect(timers.pending()).to.equal(0);
    });

    it('rejects a DELAY job in the same sweep when its deadline has passed as well as its timeout', async () => {
      const { queue } = makeQueue([policy({ defaultTimeoutMicros: 2_000, timeoutAction: 'DELAY' })]);
      const job = add(queue, 'a', { deadlineAt: performance.now() + 4 });
      // Keep the event loop busy past both times, so the one timer finds both due.
      const until = performance.now() + 10;
      while (performance.now() < until);
      await job.settled;
      expectCode(job.outcome.rejected, 'DEADLINE_EXCEEDED');
      expect(job.outcome.rejected?.message).to.match(/deadline/);
      expect(timers.created(), 'no second timer for the deadline').to.equal(1);
      expect(timers.pending()).to.equal(0);
    });

    it('arms no timer for a job with neither timeout nor deadline', () => {
      const { queue } = makeQueue();
      add(queue, 'a');
      expect(timers.created()).to.equal(0);
      drain(queue);
    });
  });
});
