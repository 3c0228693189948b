import { expect } from 'chai';
import { pinNextTickMaps } from '../src/platform/pin-tick-maps';

describe('pinNextTickMaps', () => {
  it('holds one nextTick queue entry, the same one on every call', () => {
    const entry = pinNextTickMaps() as { callback?: unknown };
    expect(entry.callback).to.be.a('function');
    expect(pinNextTickMaps()).to.equal(entry);
  });
});
