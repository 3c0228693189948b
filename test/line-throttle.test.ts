/** One log line per key per interval, counting the lines it stands for. */
import { expect } from 'chai';
import { LineThrottle } from '../src/observability/line-throttle';

describe('LineThrottle', () => {
  it('lets the first line of a key through, skips the rest of its interval, and counts them in the next', () => {
    const throttle = new LineThrottle(1000);
    const taken = [0, 1, 500, 999, 1000, 1001, 2500].map((now) => throttle.take('a', now));
    expect(taken).to.deep.equal([0, undefined, undefined, undefined, 3, undefined, 1]);
  });

  it('keeps each key to its own interval', () => {
    const throttle = new LineThrottle(1000);
    expect([throttle.take('a', 0), throttle.take('b', 1), throttle.take('a', 2), throttle.take('b', 3)]).to.deep.equal([0, 0, undefined, undefined]);
  });
});
