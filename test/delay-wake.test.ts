/**
 * DelayWake against a plain setTimeout, in the same run: a sub-millisecond queue delay is kept to
 * within a fraction of the timer's lateness, never ends early, and leaves nothing armed after.
 */
import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { DelayWake } from '../src/batching/delay-wake';

const TRIALS = 41;

/** How late past `delayMs` the wait ends, the way the scheduler waits: recheck on each wake, re-arm if early. */
function lateness(delayMs: number, arm: (ms: number, wake: () => void) => void): Promise<number> {
  return new Promise((resolve) => {
    const start = performance.now();
    const wake = (): void => {
      const waited = performance.now() - start;
      if (waited >= delayMs) resolve(waited - delayMs);
      else arm(delayMs - waited, wake);
    };
    arm(delayMs, wake);
  });
}

const withDelayWake = (ms: number, wake: () => void): void => new DelayWake(wake).arm(ms);
const withTimer = (ms: number, wake: () => void): void => void setTimeout(wake, ms);

async function medianLateness(delayMs: number, arm: (ms: number, wake: () => void) => void): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < TRIALS; i++) samples.push(await lateness(delayMs, arm));
  expect(Math.min(...samples), 'never ends before the delay').to.be.at.least(0);
  return samples.sort((a, b) => a - b)[TRIALS >> 1];
}

const activeImmediates = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;

describe('queue delay wake-up', () => {
  for (const delayMs of [0.1, 0.2, 0.5]) {
    it(`ends a ${delayMs * 1000} µs wait with under a third of a timer's median lateness`, async () => {
      const timer = await medianLateness(delayMs, withTimer);
      const wake = await medianLateness(delayMs, withDelayWake);
      expect(wake, `median lateness ${wake.toFixed(3)} ms against the timer's ${timer.toFixed(3)} ms`).to.be.below(timer / 3);
    });
  }

  it('uses a timer for a wait longer than its slack, and still ends it on time', async () => {
    const wake = await medianLateness(3, withDelayWake);
    const timer = await medianLateness(3, withTimer);
    expect(wake).to.be.below(Math.max(timer / 3, 0.1));
  });

  it('leaves nothing armed once the wait is over, and cancel() disarms both kinds', async () => {
    await lateness(0.2, withDelayWake);
    expect(activeImmediates()).to.equal(0);
    const wake = new DelayWake(() => expect.fail('cancelled'));
    wake.arm(0.2);
    expect(activeImmediates()).to.equal(1);
    wake.cancel();
    expect(activeImmediates()).to.equal(0);
    wake.arm(50);
    wake.cancel();
    await new Promise((resolve) => setTimeout(resolve, 60));
  });

  it('waits out a delay past the 32-bit timer range without waking early or an overflow warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): number => warnings.push(w.name);
    process.on('warning', onWarning);
    const wake = new DelayWake(() => expect.fail('woke ~25 days early'));
    try {
      wake.arm(1e13);
      await new Promise((resolve) => setTimeout(resolve, 30));
    } finally {
      wake.cancel();
      process.off('warning', onWarning);
    }
    expect(warnings).to.deep.equal([]);
  });
});
