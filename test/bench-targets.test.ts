import { expect } from 'chai';
import type { LoadWindow } from '../scripts/bench/load-result';
import type { OrtCeiling } from '../scripts/bench/ort-ceiling';
import { combineRounds } from '../scripts/bench/rounds';
import type { ScenarioResult, ScenarioSpec } from '../scripts/bench/scenario';
import { judgeTargets } from '../scripts/bench/targets';

const spec = (target: 'bare' | 'server', mode: 'unary' | 'stream', concurrency: number, queueDelayUs = 0): ScenarioSpec => ({
  target,
  mode,
  concurrency,
  batching: target === 'bare' ? undefined : { enabled: true, queueDelayUs },
});

function window(s: ScenarioSpec, rps: number, cpu: number, p50Ms = 1, meanBatch?: number): ScenarioResult {
  return { spec: s, label: s.target, load: { rps, p50Ms } as LoadWindow, meanBatch, serverCpuUsPerReq: cpu, serverMainThreadUsPerReq: cpu, serverCpuPct: 0, serverRssMiB: 0, otherCpuPct: 0, servedTotal: 0, attempts: 1 };
}

const ort = (batchSize: number, cpuUsPerRun: number, p50Ms = 0.05): OrtCeiling => ({ batchSize, runs: 1, runsPerSec: 1, rowsPerSec: 1, p50Ms, p99Ms: p50Ms, cpuUsPerRun });
const verdict = (id: string, results: ScenarioResult[], ceilings: OrtCeiling[]) => judgeTargets(results, ceilings, undefined).find((v) => v.id === id)!;

describe('bench targets', () => {
  it('sets the CPU per request against bare grpc-js plus ONNX Runtime per row at the batch the server formed, round by round', () => {
    // ORT at batch 20: 100 us per run, 5 us per row. Rounds: 60/(40+5)=1.33, 50/(40+5)=1.11, 55/(45+5)=1.10.
    const rounds = [
      [window(spec('bare', 'unary', 64), 1000, 40), window(spec('server', 'unary', 64), 900, 60, 1, 20)],
      [window(spec('bare', 'unary', 64), 1000, 40), window(spec('server', 'unary', 64), 950, 50, 1, 20)],
      [window(spec('bare', 'unary', 64), 1000, 45), window(spec('server', 'unary', 64), 900, 55, 1, 20)],
    ];
    const v = verdict('cpu-per-request', combineRounds(rounds), [ort(1, 20), ort(20, 100)]);
    expect(v.pass).to.equal(true);
    expect(v.detail).to.match(/^1\.11x, median of rounds 1\.33 1\.11 1\.10/);
    // Without the model's work in the ceiling the same windows would fail: 1.25x, 1.22x, 1.5x.
    expect(verdict('cpu-per-request', combineRounds(rounds), [ort(1, 0), ort(20, 0)]).pass).to.equal(false);
  });

  it('judges throughput against bare grpc-js slowed by the inference CPU per row', () => {
    // Bare 40 us/req at 1000 req/s; with 10 us per row of inference: 800 req/s. The server's 760 is 95% of that, 76% of bare.
    const results = [window(spec('bare', 'unary', 64), 1000, 40), window(spec('server', 'unary', 64), 760, 52, 1, 10)];
    const v = verdict('throughput', results, [ort(10, 100)]);
    expect(v.pass).to.equal(true);
    expect(v.detail).to.match(/^95\.0%/);
    expect(verdict('throughput', results, [ort(10, 0)]).pass).to.equal(false);
  });

  it('needs streaming at 4x unary and 85% of bare streaming', () => {
    const base = [window(spec('bare', 'unary', 64), 1000, 40), window(spec('server', 'unary', 64), 900, 45, 1, 10), window(spec('bare', 'stream', 64), 5000, 10)];
    expect(verdict('stream-vs-unary', [...base, window(spec('server', 'stream', 64), 4400, 12, 1, 10)], [ort(10, 10)]).pass).to.equal(true);
    expect(verdict('stream-vs-unary', [...base, window(spec('server', 'stream', 64), 3500, 12, 1, 10)], [ort(10, 10)]).pass, '3.9x unary').to.equal(false);
    const fastUnary = [window(spec('bare', 'unary', 64), 1000, 40), window(spec('server', 'unary', 64), 800, 45, 1, 10), window(spec('bare', 'stream', 64), 6000, 10)];
    expect(verdict('stream-vs-unary', [...fastUnary, window(spec('server', 'stream', 64), 4400, 12, 1, 10)], [ort(10, 10)]).pass, '73% of bare').to.equal(false);
  });

  it('slows bare streaming by the inference the server does, as unary throughput is', () => {
    // 10 us of bare grpc-js per streamed request plus 10 us of inference per row: half of bare's rate is the most a one-core server can give.
    const base = [window(spec('bare', 'unary', 64), 1000, 40), window(spec('server', 'unary', 64), 500, 45, 1, 10), window(spec('bare', 'stream', 64), 5000, 10)];
    const heavy = [ort(10, 100)];
    const at = (rps: number) => verdict('stream-vs-unary', [...base, window(spec('server', 'stream', 64), rps, 20, 1, 10)], heavy);
    expect(at(2200).pass, '88% of 2500').to.equal(true);
    expect(at(2200).detail).to.match(/88\.0% of bare streaming/);
    expect(at(2000).pass, '80% of 2500').to.equal(false);
  });

  it('allows a queue delay D under 1 ms to add D + 0.05 ms at c=1, and ignores delays of 1 ms or more', () => {
    const c1 = (delayUs: number, p50Ms: number): ScenarioResult => window(spec('server', 'unary', 1, delayUs), 1000, 100, p50Ms, 1);
    const ok = verdict('queue-delay', [c1(0, 0.5), c1(100, 0.64), c1(500, 1.04), c1(2000, 4)], []);
    expect(ok.pass).to.equal(true);
    expect(ok.detail).to.equal('D=100 us: +0.040 ms, D=500 us: +0.040 ms beyond D, medians (limit +0.05 ms)');
    expect(verdict('queue-delay', [c1(0, 0.5), c1(200, 0.8)], []).pass).to.equal(false);
    expect(verdict('queue-delay', [c1(0, 0.5)], []).pass, 'no delay measured').to.equal(undefined);
  });

  it('sets c=1 p50 against bare grpc-js p50 + ORT batch-1 p50 + 0.2 ms', () => {
    const results = (p50: number) => [window(spec('bare', 'unary', 1), 1000, 100, 0.3), window(spec('server', 'unary', 1), 800, 150, p50, 1)];
    expect(verdict('c1-latency', results(0.54), [ort(1, 20, 0.05)]).pass).to.equal(true);
    expect(verdict('c1-latency', results(0.56), [ort(1, 20, 0.05)]).pass).to.equal(false);
  });

  it('judges the c=1 latencies round by round and keeps the median, as the CPU target does', () => {
    // Each round's p50 against the same round's bare (or delay 0): one slow round does not decide.
    const rounds = (r: ScenarioResult, p50Ms: number[], bareP50Ms: number[]): ScenarioResult => ({
      ...r,
      roundRatios: { cpuVsBare: [], rpsVsBare: [], serverCpuUsPerReq: p50Ms.map(() => 1), bareCpuUsPerReq: p50Ms.map(() => 1), rps: p50Ms.map(() => 1), bareRps: p50Ms.map(() => 1), p50Ms, bareP50Ms },
    });
    const bare = window(spec('bare', 'unary', 1), 1000, 100, 0.3);
    const server = rounds(window(spec('server', 'unary', 1), 800, 150, 0.9, 1), [0.9, 0.5, 0.44], [0.3, 0.3, 0.2]);
    const latency = verdict('c1-latency', [bare, server], [ort(1, 20, 0.05)]);
    expect(latency.pass, 'gaps +0.55, +0.15, +0.19').to.equal(true);
    expect(latency.detail).to.match(/^\+0\.190 ms \(limit \+0\.2 ms\), median of rounds \+0\.550 \+0\.150 \+0\.190;/);

    const zero = rounds(window(spec('server', 'unary', 1, 0), 1000, 100, 0.5, 1), [0.5, 0.4, 0.6], [0.3, 0.3, 0.3]);
    const delayed = (p50Ms: number[]) => rounds(window(spec('server', 'unary', 1, 200), 1000, 100, p50Ms[0], 1), p50Ms, [0.3, 0.3, 0.3]);
    expect(verdict('queue-delay', [zero, delayed([0.9, 0.62, 0.84])], []).pass, 'extras +0.2, +0.02, +0.04').to.equal(true);
    expect(verdict('queue-delay', [zero, delayed([0.9, 0.62, 0.9])], []).pass, 'extras +0.2, +0.02, +0.1').to.equal(false);
  });
});
