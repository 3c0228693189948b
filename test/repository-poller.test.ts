/** RepositoryPoller: scans never overlap, the interval counts from the end of the last scan, stop() waits for the scan under way. */
import { expect } from 'chai';
import pino from 'pino';
import { RepositoryPoller } from '../src/repository/repository-poller';
import { trackTimers } from './support/batching-fakes';
import { waitFor } from './support/wait-for';

const silent = pino({ level: 'silent' });

describe('RepositoryPoller', () => {
  it('scans again only after the last scan ended, and keeps going after a scan fails', async () => {
    let running = 0;
    let most = 0;
    let scans = 0;
    const poller = new RepositoryPoller(
      async () => {
        scans++;
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        if (scans === 2) throw new Error('repository unreadable');
      },
      1,
      silent,
    );
    poller.start();
    await waitFor('four scans', () => scans, (n) => n >= 4);
    await poller.stop();
    expect(most, 'scans at once').to.equal(1);
  });

  it('stop() waits for the scan under way and leaves no timer to start another', async () => {
    const timers = trackTimers();
    let release!: () => void;
    let scans = 0;
    let finished = false;
    const poller = new RepositoryPoller(
      async () => {
        scans++;
        await new Promise<void>((resolve) => (release = resolve));
        finished = true;
      },
      1,
      silent,
    );
    poller.start();
    await waitFor('a scan to start', () => scans, (n) => n === 1);
    const stopped = poller.stop().then(() => finished);
    release();
    try {
      expect(await stopped, 'the scan had finished when stop() resolved').to.equal(true);
      expect(timers.pending(), 'timers left armed').to.equal(0);
      expect(scans).to.equal(1);
    } finally {
      timers.stop();
    }
  });
});
