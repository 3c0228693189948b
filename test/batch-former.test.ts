import { expect } from 'chai';
import { candidateBatch, chooseBatch, type BatchLimits } from '../src/batching/batch-former';
import type { QueuedJob } from '../src/batching/policy-queue';
import { entry, fakeJob, type FakeJob } from './support/batching-fakes';

/** Queue entries with the given row counts (and optional shape keys), labelled j0, j1, ... */
function queue(rows: readonly number[], keys: readonly string[] = []): QueuedJob[] {
  return rows.map((r, i) => entry(fakeJob({ label: `j${i}`, rows: r, shapeKey: keys[i] ?? '8;' })));
}

const labels = (entries: readonly QueuedJob[] | undefined): string[] => (entries ?? []).map((e) => (e.job as FakeJob).label);

const limits = (overrides: Partial<BatchLimits> = {}): BatchLimits => ({
  maxRows: 8,
  maxJobs: Number.POSITIVE_INFINITY,
  preferredSizes: new Set(),
  ...overrides,
});

describe('batch-former', () => {
  describe('candidateBatch', () => {
    it('counts rows, not requests: three 3-row requests give a batch of two (6 rows) under max 8', () => {
      const c = candidateBatch(queue([3, 3, 3]), limits());
      expect(labels(c.entries)).to.deep.equal(['j0', 'j1']);
      expect(c.rows).to.equal(6);
      // The third cannot join, so nothing later could: the batch is closed.
      expect(c.closed).to.equal(true);
    });

    it('is closed when it reaches max rows exactly', () => {
      const c = candidateBatch(queue([4, 4]), limits());
      expect(c.rows).to.equal(8);
      expect(c.closed).to.equal(true);
    });

    it('stays open while under max rows and the queue has nothing more', () => {
      const c = candidateBatch(queue([2, 3]), limits());
      expect(c.rows).to.equal(5);
      expect(c.closed).to.equal(false);
    });

    it('stops at the first job whose non-batch dims differ, and closes the batch', () => {
      const c = candidateBatch(queue([1, 1, 1, 1], ['8;', '8;', '4;', '8;']), limits());
      expect(labels(c.entries)).to.deep.equal(['j0', 'j1']);
      expect(c.rows).to.equal(2);
      expect(c.closed).to.equal(true);
    });

    it('takes the first job\'s shape key as the batch\'s', () => {
      const c = candidateBatch(queue([1, 1, 1], ['2x3;', '2x3;', '2x3;']), limits());
      expect(c.rows).to.equal(3);
      expect(c.closed).to.equal(false);
    });

    it('keeps order: a later smaller job does not jump over one that does not fit', () => {
      const c = candidateBatch(queue([5, 4, 1]), limits());
      expect(labels(c.entries)).to.deep.equal(['j0']);
      expect(c.closed).to.equal(true);
    });

    it('with maxJobs 1 takes one job and is closed', () => {
      const c = candidateBatch(queue([1, 1, 1]), limits({ maxJobs: 1 }));
      expect(labels(c.entries)).to.deep.equal(['j0']);
      expect(c.closed).to.equal(true);
    });

    it('is empty for an empty queue', () => {
      const c = candidateBatch([], limits());
      expect(c.entries).to.have.length(0);
      expect(c.rows).to.equal(0);
    });
  });

  describe('chooseBatch', () => {
    it('waits (undefined) while the batch is open and the delay has not run out', () => {
      expect(chooseBatch(candidateBatch(queue([1, 2]), limits()), limits(), false)).to.equal(undefined);
    });

    it('sends everything once the delay has run out', () => {
      const b = chooseBatch(candidateBatch(queue([1, 2]), limits()), limits(), true);
      expect(labels(b?.entries)).to.deep.equal(['j0', 'j1']);
      expect(b?.rows).to.equal(3);
    });

    it('sends a batch that reached max rows at once, before the delay', () => {
      const b = chooseBatch(candidateBatch(queue([3, 5, 1]), limits()), limits(), false);
      expect(labels(b?.entries)).to.deep.equal(['j0', 'j1']);
      expect(b?.rows).to.equal(8);
    });

    it('sends at once when the next job would overflow max rows', () => {
      const b = chooseBatch(candidateBatch(queue([6, 3]), limits()), limits(), false);
      expect(labels(b?.entries)).to.deep.equal(['j0']);
      expect(b?.rows).to.equal(6);
    });

    it('sends at once when the next job has other non-batch dims', () => {
      const b = chooseBatch(candidateBatch(queue([1, 1, 1], ['8;', '8;', '16;']), limits()), limits(), false);
      expect(labels(b?.entries)).to.deep.equal(['j0', 'j1']);
    });

    it('with maxJobs 1 (no dynamic batching) sends one job at once', () => {
      const b = chooseBatch(candidateBatch(queue([1, 1]), limits({ maxJobs: 1 })), limits({ maxJobs: 1 }), false);
      expect(labels(b?.entries)).to.deep.equal(['j0']);
      expect(b?.rows).to.equal(1);
    });

    it('sends the largest prefix whose rows are a preferred size, before the delay', () => {
      const b = chooseBatch(candidateBatch(queue([1, 1, 1]), limits({ preferredSizes: new Set([2, 4]) })), limits({ preferredSizes: new Set([2, 4]) }), false);
      expect(labels(b?.entries)).to.deep.equal(['j0', 'j1']);
      expect(b?.rows).to.equal(2);
      const c = chooseBatch(candidateBatch(queue([1, 1, 1, 1, 1]), limits({ preferredSizes: new Set([2, 4]) })), limits({ preferredSizes: new Set([2, 4]) }), false);
      expect(labels(c?.entries)).to.deep.equal(['j0', 'j1', 'j2', 'j3']);
      expect(c?.rows).to.equal(4);
    });

    it('counts rows for preferred sizes: 1 + 3 rows make the preferred 4', () => {
      const b = chooseBatch(candidateBatch(queue([1, 3, 1]), limits({ preferredSizes: new Set([4]) })), limits({ preferredSizes: new Set([4]) }), false);
      expect(labels(b?.entries)).to.deep.equal(['j0', 'j1']);
      expect(b?.rows).to.equal(4);
    });

    it('waits when no prefix hits a preferred size', () => {
      expect(chooseBatch(candidateBatch(queue([3]), limits({ preferredSizes: new Set([2, 4]) })), limits({ preferredSizes: new Set([2, 4]) }), false)).to.equal(undefined);
      expect(chooseBatch(candidateBatch(queue([1, 2]), limits({ preferredSizes: new Set([2, 4]) })), limits({ preferredSizes: new Set([2, 4]) }), false)).to.equal(undefined);
    });

    it('sends the whole open batch, not only a preferred prefix, once the delay has run out', () => {
      const b = chooseBatch(candidateBatch(queue([1, 1, 1]), limits({ preferredSizes: new Set([2]) })), limits({ preferredSizes: new Set([2]) }), true);
      expect(b?.rows).to.equal(3);
    });

    it('returns undefined for an empty queue even when the delay has run out', () => {
      expect(chooseBatch(candidateBatch([], limits()), limits(), true)).to.equal(undefined);
    });

    it('reads the queue once, in the order given (works on a generator)', () => {
      const entries = queue([1, 1, 1]);
      function* gen(): Generator<QueuedJob> {
        yield* entries;
      }
      const b = chooseBatch(candidateBatch(gen(), limits()), limits(), true);
      expect(labels(b?.entries)).to.deep.equal(['j0', 'j1', 'j2']);
    });

    it('measures the delay from the longest-waiting job of the candidate, not its first in service order', () => {
      const late = entry(fakeJob({ label: 'p1', rows: 1, shapeKey: '8;' }), 200);
      const early = entry(fakeJob({ label: 'p2', rows: 1, shapeKey: '8;' }), 100);
      expect(candidateBatch([late, early], limits()).oldestEnqueuedAt).to.equal(100);
    });
  });
});
