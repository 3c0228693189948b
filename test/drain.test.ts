/** The drain sequence against fake targets: order of steps, the delay, the grace limit and the cut count. */
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { Admission } from '../src/dataplane/admission';
import type { Readiness } from '../src/health/readiness';
import { drain, type DrainTargets } from '../src/lifecycle/drain';
import { createLogger } from '../src/observability/logger';

const log = createLogger('silent');

function fakeTargets(admission: Admission, queued: number): { targets: DrainTargets; steps: string[] } {
  const steps: string[] = [];
  const readiness = Object.assign(new EventEmitter(), { markDraining: () => steps.push('not ready') }) as unknown as Readiness;
  return {
    steps,
    targets: {
      readiness,
      admission,
      stopModelControl: () => void steps.push('stop model control'),
      cutQueued: () => {
        steps.push(`cut ${queued}`);
        for (let i = 0; i < queued; i++) admission.leave();
        return queued;
      },
      closeTransport: async () => void steps.push('close transport'),
      unloadModels: async () => void steps.push('unload'),
    },
  };
}

describe('Admission', () => {
  it('counts requests in and out and wakes every waiter when the last one leaves', async () => {
    const a = new Admission();
    a.enter();
    a.enter();
    let woken = 0;
    const waiters = [a.whenIdle().then(() => woken++), a.whenIdle().then(() => woken++)];
    a.leave();
    await Promise.resolve();
    expect(woken).to.equal(0);
    a.leave();
    await Promise.all(waiters);
    expect(woken).to.equal(2);
    expect(a.pending).to.equal(0);
  });

  it('is open until closed', () => {
    const a = new Admission();
    expect(a.open).to.equal(true);
    a.close();
    expect(a.open).to.equal(false);
  });
});

describe('drain', () => {
  it('when idle: not ready, closes admission, closes the transport, unloads; cuts nothing', async () => {
    const admission = new Admission();
    const { targets, steps } = fakeTargets(admission, 0);
    const outcome = await drain(targets, { delayMs: 0, graceMs: 60_000 }, log);
    expect(outcome).to.deep.equal({ cut: 0 });
    expect(admission.open).to.equal(false);
    expect(steps).to.deep.equal(['not ready', 'stop model control', 'close transport', 'unload']);
  });

  it('keeps admission open during the delay and waits for accepted requests', async () => {
    const admission = new Admission();
    admission.enter();
    const { targets, steps } = fakeTargets(admission, 0);
    const done = drain(targets, { delayMs: 20, graceMs: 60_000 }, log);
    expect(admission.open, 'during the delay').to.equal(true);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(admission.open, 'after the delay').to.equal(false);
    expect(steps).to.deep.equal(['not ready', 'stop model control']);
    admission.leave();
    expect(await done).to.deep.equal({ cut: 0 });
    expect(steps).to.deep.equal(['not ready', 'stop model control', 'close transport', 'unload']);
  });

  it('at the grace limit cuts the queued requests, reports how many, and still waits for the running ones', async () => {
    const admission = new Admission();
    for (let i = 0; i < 4; i++) admission.enter();
    const { targets, steps } = fakeTargets(admission, 3);
    const done = drain(targets, { delayMs: 0, graceMs: 10 }, log);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(steps, 'waiting for the running request').to.deep.equal(['not ready', 'stop model control', 'cut 3']);
    admission.leave();
    expect(await done).to.deep.equal({ cut: 3 });
    expect(steps).to.deep.equal(['not ready', 'stop model control', 'cut 3', 'close transport', 'unload']);
  });
});
