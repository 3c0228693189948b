import { expect } from 'chai';
import { formatRulesCost } from '../scripts/bench/report';
import { combineRounds } from '../scripts/bench/rounds';
import type { ScenarioResult, ScenarioSpec } from '../scripts/bench/scenario';
import type { LoadWindow } from '../scripts/bench/load-result';

const bare: ScenarioSpec = { target: 'bare', mode: 'unary', concurrency: 64, batching: undefined };
const on: ScenarioSpec = { target: 'server', mode: 'unary', concurrency: 64, batching: { enabled: true, queueDelayUs: 0 } };
const off: ScenarioSpec = { target: 'server', mode: 'unary', concurrency: 64, batching: { enabled: false, queueDelayUs: 0 } };
const onRules: ScenarioSpec = { ...on, inputRules: true };

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
    expect(onRow.roundRatios?.bareCpuUsPerReq).to.deep.equal([100, 50, 80]);
    expect(onRow.roundRatios?.serverCpuUsPerReq).to.deep.equal([150, 60, 200]);
    expect(onRow.roundRatios?.bareRps).to.deep.equal([1000, 2000, 1500]);
    expect(onRow.roundRatios?.rps).to.deep.equal([900, 1800, 1000]);
    expect(shown[0].roundRatios).to.equal(undefined);
    expect(shown.every((r) => r.rounds === 3)).to.equal(true);
  });

  it('with one round returns it unchanged but for the ratios', () => {
    const [b, s] = combineRounds([[window(bare, 1000, 100), window(on, 800, 120)]]);
    expect(b.serverCpuUsPerReq).to.equal(100);
    expect(s.cpuVsBare).to.equal(1.2);
    expect(s.roundRatios).to.equal(undefined);
  });

  it('with --validate picks the round by the server without rules, and sets each +rules row against it round by round', () => {
    const rounds = [
      [window(bare, 1000, 100), window(on, 900, 150), window(onRules, 880, 153)], // on: 1.50x
      [window(bare, 2000, 50), window(on, 1800, 60), window(onRules, 1700, 66)], // on: 1.20x
      [window(bare, 1500, 80), window(on, 1000, 200), window(onRules, 500, 400)], // on: 2.50x, rules 5.00x
    ];
    const shown = combineRounds(rounds);
    expect(shown.map((r) => r.serverCpuUsPerReq), 'the round of on 1.50x, not of rules').to.deep.equal([100, 150, 153]);
    const shownRules = { ...shown[2], label: 'rules' };
    expect(formatRulesCost([shown[0], shown[1], shownRules])).to.deep.equal([
      'rules: server cpu 1.020x, main thread 1.020x, req/s 0.978x, p50 - ms (server cpu by round: 1.020 1.100 2.000)',
    ]);
  });
});
