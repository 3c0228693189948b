/** The weighted choice alone: stable per key, proportional to the weights, and moving only the keys a weight change must. */
import { expect } from 'chai';
import { WeightedChoice } from '../src/rollout/weighted-choice';

interface FakeVersion {
  readonly version: number;
  ready: boolean;
}

const serving = (...versions: number[]): Map<number, FakeVersion> => new Map(versions.map((version) => [version, { version, ready: true }]));
const keys = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);
const choice = (weights: Record<number, number>): WeightedChoice => new WeightedChoice(new Map(Object.entries(weights).map(([v, w]) => [Number(v), w])));

function assign(c: WeightedChoice, versions: Map<number, FakeVersion>): number[] {
  return keys.map((key) => c.pick(versions, key)!.version);
}

const share = (assigned: readonly number[], version: number): number => assigned.filter((v) => v === version).length / assigned.length;

describe('weighted rendezvous choice', () => {
  it('gives a key the same version every time, and in a fresh instance (no per-process state)', () => {
    const versions = serving(1, 2, 3);
    const first = assign(choice({ 1: 50, 2: 30, 3: 20 }), versions);
    expect(assign(choice({ 1: 50, 2: 30, 3: 20 }), versions)).to.deep.equal(first);
  });

  it('is pinned across processes: fixed keys keep fixed versions', () => {
    // The hash is part of the contract: a change here would move every sticky client at the next deploy.
    const c = choice({ 1: 50, 2: 50 });
    expect(['alice', 'bob', 'carol', 'dave', 'erin', 'frank'].map((k) => c.pick(serving(1, 2), k)!.version)).to.deep.equal([1, 2, 2, 2, 1, 1]);
  });

  it('shares keys in proportion to the weights', () => {
    const assigned = assign(choice({ 1: 50, 2: 30, 3: 20 }), serving(1, 2, 3));
    expect(share(assigned, 1)).to.be.closeTo(0.5, 0.02);
    expect(share(assigned, 2)).to.be.closeTo(0.3, 0.02);
    expect(share(assigned, 3)).to.be.closeTo(0.2, 0.02);
  });

  it('moves only keys from the version whose weight fell to the one whose weight rose, about the weight moved', () => {
    const versions = serving(1, 2);
    const before = assign(choice({ 1: 90, 2: 10 }), versions);
    const after = assign(choice({ 1: 80, 2: 20 }), versions);
    const moved = keys.map((_, i) => [before[i], after[i]]).filter(([a, b]) => a !== b);
    expect(moved.every(([a, b]) => a === 1 && b === 2), 'every move is 1 -> 2').to.equal(true);
    expect(moved.length / keys.length).to.be.closeTo(0.1, 0.02);
  });

  it('adding a version takes keys only to it', () => {
    const before = assign(choice({ 1: 50, 2: 50 }), serving(1, 2, 3));
    const after = assign(choice({ 1: 50, 2: 50, 3: 25 }), serving(1, 2, 3));
    expect(keys.every((_, i) => before[i] === after[i] || after[i] === 3)).to.equal(true);
    expect(share(after, 3)).to.be.closeTo(0.2, 0.02);
  });

  it('gives a weight of 0 and a version not named no traffic', () => {
    const c = choice({ 1: 0, 2: 10 });
    expect(new Set(assign(c, serving(1, 2, 3)))).to.deep.equal(new Set([2]));
    for (let i = 0; i < 1000; i++) expect(c.pick(serving(1, 2, 3), undefined, () => i / 1000)!.version).to.equal(2);
  });

  it('passes over a version that is not ready, and gives its keys back when it is', () => {
    const versions = serving(1, 2);
    const c = choice({ 1: 50, 2: 50 });
    const before = assign(c, versions);
    versions.get(2)!.ready = false;
    expect(new Set(assign(c, versions))).to.deep.equal(new Set([1]));
    expect(c.pick(versions, undefined, () => 0.99)!.version).to.equal(1);
    versions.get(1)!.ready = false;
    expect(c.pick(versions, 'k'), 'nothing weighted is ready').to.equal(undefined);
    expect(c.pick(versions, undefined)).to.equal(undefined);
    versions.get(1)!.ready = true;
    versions.get(2)!.ready = true;
    expect(assign(c, versions)).to.deep.equal(before);
  });

  it('without a key, splits by weight over the random draw', () => {
    const c = choice({ 1: 90, 2: 10 });
    const versions = serving(1, 2);
    const counts = new Map<number, number>();
    for (let i = 0; i < 10_000; i++) {
      const v = c.pick(versions, undefined, () => (i + 0.5) / 10_000)!.version;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts].sort()).to.deep.equal([[1, 9000], [2, 1000]]);
    expect(c.pick(versions, undefined, () => 0.9999999999999999)!.version).to.equal(2);
  });

  it('keeps the split of weights whose sum passes Number.MAX_VALUE, with a key and without', () => {
    const c = choice({ 1: 1e308, 2: 1e308 });
    const versions = serving(1, 2);
    expect([0.25, 0.75].map((draw) => c.pick(versions, undefined, () => draw)!.version)).to.deep.equal([1, 2]);
    const assigned = assign(c, versions);
    expect(share(assigned, 1)).to.be.within(0.47, 0.53);
    expect(assigned).to.deep.equal(assign(choice({ 1: 1, 2: 1 }), versions));
  });
});
