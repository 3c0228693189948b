import { expect } from 'chai';
import { median, summarizeOverhead, type ClientOverheadRun } from '../scripts/bench/client-overhead';

const run = (side: ClientOverheadRun['side'], concurrency: number, calls: number, cpuUs: number, wallMs: number): ClientOverheadRun => ({ side, concurrency, calls, cpuUs, wallMs });

describe('bench client overhead', () => {
  it('weighs every call alike over the rounds and keeps each round\'s ratio', () => {
    const [c1] = summarizeOverhead([
      run('raw', 1, 100, 10_000, 50),
      run('client', 1, 100, 12_000, 60),
      run('client', 1, 300, 33_000, 150),
      run('raw', 1, 300, 30_000, 150),
    ]);
    expect(c1.concurrency).to.equal(1);
    expect(c1.calls).to.equal(400);
    expect(c1.rawCpuUsPerCall).to.equal(100);
    expect(c1.clientCpuUsPerCall).to.equal(112.5);
    expect(c1.cpuRatio).to.equal(1.125);
    expect(c1.rawCallsPerSec).to.equal(2000);
    expect(c1.clientWallUsPerCall).to.equal(525);
    expect(c1.roundRatios.map((x) => x.toFixed(2))).to.deep.equal(['1.20', '1.10']);
    expect(c1.medianRoundRatio).to.be.closeTo(1.15, 1e-9);
  });

  it('gives one row per concurrency, in order', () => {
    const rows = summarizeOverhead([run('raw', 16, 1, 1, 1), run('client', 16, 1, 2, 1), run('raw', 1, 1, 1, 1), run('client', 1, 1, 1, 1)]);
    expect(rows.map((r) => [r.concurrency, r.cpuRatio])).to.deep.equal([[1, 1], [16, 2]]);
  });

  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([])).to.be.NaN;
  });
});
