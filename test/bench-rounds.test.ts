import { expect } from 'chai';
import { combineRounds } from '../scripts/bench/rounds';
import type { ScenarioResult, ScenarioSpec } from '../scripts/bench/scenario';
import type { LoadWindow } from '../scripts/bench/load-result';

const bare: ScenarioSpec = { target: 'bare', mode: 'unary', concurrency: 64, batching: undefined };
const on: ScenarioSpec = { target: 'server', mode: 'unary', concurrency: 64, batching: { enabled: true, queueDelayUs: 0 } };
const off: ScenarioSpec = { target: 'server', mode: 'unary', concurrency: 64, batching: { enabled: false, queueDelayUs: 0 } };

function window(spec: ScenarioSpec, rps: number, cpu: number): ScenarioResult {
  const load = { rps } as LoadWindow;
  return { spec, label: spec.target, load, meanBatch: undefined, serverCpuUsPerReq: cpu, serverMainThreadUsPerReq: cpu, serverCpuPct: 0, serverRssMiB: 0, otherCpuPct: 0, servedTotal: 0, attempts: 1 };
}

describe('bench rounds', () => {
  it('shows every row of a group from the round where the batching server is the median against its own round\'s bare', () => {
    const rounds = [
      [window(bare, 1000, 100), window(off, 500, 300), window(on, 900, 150)], // on: 1.50x
      [window(bare, 2000, 50), window(off, 600, 250), window(on, 1800, 60)], // on: 1.20x
      [window(bare, 1500, 80), window(off, 700, 200), window(on, 1000, 200)], // on: 2.50x
    ];
    const shown = combineRounds(rounds);
    expect(shown.map((r) => r.serverCpuUsPerReq)).to.deep.equal([100, 300, 150]);
    const onRow = shown[2];
    expect(onRow.cpuVsBare).to.equal(1.5);
    expect(onRow.rpsVsBare).to.equal(0.9);
    expect(onRow.roundRatios?.cpuVsBare).to.deep.equal([1.5, 1.2, 2.5]);
    expect(shown[0].roundRatios).to.equal(undefined);
    expect(shown.every((r) => r.rounds === 3)).to.equal(true);
  });

  it('with one round returns it unchanged but for the ratios', () => {
    const [b, s] = combineRounds([[window(bare, 1000, 100), window(on, 800, 120)]]);
    expect(b.serverCpuUsPerReq).to.equal(100);
    expect(s.cpuVsBare).to.equal(1.2);
    expect(s.roundRatios).to.equal(undefined);
  });
});
