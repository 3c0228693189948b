import { expect } from 'chai';
import { OutcomeWindow, quantileMs } from '../src/rollout/outcome-window';
import { checkGuard } from '../src/rollout/rollout-guard';

const GUARD = { canary: 2, maxErrorRate: 0.1, maxP99Ratio: 2, minRequests: 10, windowSeconds: 10 };

describe('outcome window', () => {
  it('counts requests and failures within the window, and forgets them a window later, a tenth at a time', () => {
    const w = new OutcomeWindow(10);
    for (let i = 0; i < 10; i++) w.record(i * 1000, 1, i % 2 === 0);
    expect(w.counts(9_999)).to.deep.equal({ requests: 10, failures: 5 });
    // At 10.5 s the bucket of [0, 1) s has left: one success (t = 0) and nothing else.
    expect(w.counts(10_500)).to.deep.equal({ requests: 9, failures: 5 });
    expect(w.counts(30_000)).to.deep.equal({ requests: 0, failures: 0 });
    expect([w.totalRequests, w.totalFailures]).to.deep.equal([10, 5]);
    w.record(30_000, 1, true);
    w.restart();
    expect(w.counts(30_000)).to.deep.equal({ requests: 0, failures: 0 });
    expect(w.totalRequests).to.equal(11);
  });

  it('gives quantiles within one bin (19%) above the true value', () => {
    const w = new OutcomeWindow(10);
    for (let i = 1; i <= 100; i++) w.record(0, i, true);
    const h = [w.histogram(0)];
    expect(quantileMs(h, 0.5)).to.be.within(50, 50 * 1.19);
    expect(quantileMs(h, 0.99)).to.be.within(99, 99 * 1.19);
    expect(quantileMs([new OutcomeWindow(1).histogram(0)], 0.99)).to.equal(0);
  });

  it("breaks the guard on the canary's error rate only from min_requests on, and on p99 only when the others have min_requests too", () => {
    const windows = new Map([[1, new OutcomeWindow(10)], [2, new OutcomeWindow(10)]]);
    for (let i = 0; i < 9; i++) windows.get(2)!.record(0, 1, false);
    expect(checkGuard(GUARD, windows, 0)).to.equal(undefined);
    windows.get(2)!.record(0, 1, false);
    expect(checkGuard(GUARD, windows, 0)?.cause).to.equal('error_rate');

    const slow = new Map([[1, new OutcomeWindow(10)], [2, new OutcomeWindow(10)]]);
    for (let i = 0; i < 10; i++) slow.get(2)!.record(0, 100, true);
    for (let i = 0; i < 9; i++) slow.get(1)!.record(0, 10, true);
    expect(checkGuard(GUARD, slow, 0), 'the others have 9 requests').to.equal(undefined);
    slow.get(1)!.record(0, 10, true);
    expect(checkGuard(GUARD, slow, 0)?.cause).to.equal('p99_latency');
  });
});
