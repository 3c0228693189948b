/**
 * Hot reload under continuous load: clients keep requests in flight the whole time a new version
 * arrives and a config.json changes, and every answer is checked (OK, the version it names, and
 * values only that version's weights give). Zero failed requests is the requirement.
 */
import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import type { ServedVersion } from '../src/repository/model-version';
import { writeModelConfig, writeModelFile } from './support/e2e-helpers';
import { serveRepository, type RepositoryServer } from './support/generated-models';
import { computedBy, inferVersioned, versionedModel } from './support/repository-client';
import { waitFor } from './support/wait-for';

const CLIENTS = 4;
/** Answers each phase must see before the test moves on. */
const ENOUGH = 20;

interface Answer {
  readonly startedAt: number;
  readonly version: number;
}

/** CLIENTS loops, each sending its next request as soon as the last is answered, until stop(). */
class ContinuousLoad {
  readonly answers: Answer[] = [];
  readonly failures: string[] = [];
  inFlight = 0;
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(private readonly t: RepositoryServer, private readonly model: string) {
    this.loops = Array.from({ length: CLIENTS }, () => this.loop());
  }

  answeredBy(version: number, since = 0): number {
    return this.answers.filter((a) => a.version === version && a.startedAt >= since).length;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const startedAt = performance.now();
      this.inFlight++;
      try {
        const res = await inferVersioned(this.t.client, this.model);
        const version = computedBy(res);
        if (version === undefined || String(version) !== res.model_version) this.failures.push(`labelled ${res.model_version}, computed by ${version}`);
        else this.answers.push({ startedAt, version });
      } catch (err) {
        this.failures.push((err as Error).message);
      } finally {
        this.inFlight--;
      }
    }
  }
}

describe('e2e hot reload under continuous load', function () {
  this.timeout(60_000);
  let t: RepositoryServer;
  let load: ContinuousLoad | undefined;

  before(async () => {
    t = await serveRepository([{ name: 'live', config: { max_batch_size: 4 }, versions: new Map([[1, versionedModel(1)]]) }], {
      MODEL_CONTROL_MODE: 'poll',
      REPOSITORY_POLL_SECONDS: '3600',
    });
  });

  after(async () => {
    await load?.stop();
    await t?.stop();
  });

  /** Runs `change` and a poll while the load runs; returns when the swap happened and how many requests were in flight then. */
  async function swapUnderLoad(swapped: (versions: ReadonlyMap<number, ServedVersion>) => boolean, change: () => void): Promise<{ at: number; inFlight: number; pollDone: number }> {
    let seen: { at: number; inFlight: number } | undefined;
    const onChange = (): void => {
      const versions = t.server.repository.get('live')?.versions;
      if (!seen && versions && swapped(versions)) seen = { at: performance.now(), inFlight: load!.inFlight };
    };
    t.server.repository.on('change', onChange);
    try {
      change();
      await t.server.repository.poll();
    } finally {
      t.server.repository.off('change', onChange);
    }
    expect(seen, 'the swap was seen').not.to.equal(undefined);
    return { ...seen!, pollDone: performance.now() };
  }

  it('moves every request to a new version, and then to a reconfigured one, without one failure', async () => {
    load = new ContinuousLoad(t, 'live');
    await waitFor('answers from version 1', () => load!.answeredBy(1), (n) => n >= ENOUGH);

    // A new version: loaded and warmed beside version 1, swapped in, version 1 drained and freed.
    const [v1] = t.server.repository.get('live')!.versions.values();
    const first = await swapUnderLoad((versions) => versions.has(2), () => writeModelFile(t.repo, 'live', 2, versionedModel(2)));
    expect(first.inFlight, 'requests were in flight at the swap').to.be.above(0);
    expect(v1.state, 'version 1 drained and freed once the poll returned').to.equal('UNAVAILABLE');
    await waitFor('answers from version 2 after the swap', () => load!.answeredBy(2, first.pollDone), (n) => n >= ENOUGH);
    expect(load.answers.filter((a) => a.startedAt >= first.at && a.version !== 2), 'requests sent after the swap').to.deep.equal([]);

    // A changed config.json: version 2 reloaded beside itself and swapped in the same way.
    const v2 = t.server.repository.get('live')!.versions.get(2)!;
    const second = await swapUnderLoad(
      (versions) => versions.get(2) !== v2,
      () => writeModelConfig(t.repo, 'live', { name: 'live', max_batch_size: 4, dynamic_batching: { max_queue_delay_microseconds: 100 } }),
    );
    expect(second.inFlight, 'requests were in flight at the second swap').to.be.above(0);
    expect(v2.state, 'the old version 2 drained and freed').to.equal('UNAVAILABLE');
    const answeredBefore = load.answers.length;
    await waitFor('answers from the reloaded version 2', () => load!.answers.length - answeredBefore, (n) => n >= ENOUGH);
    await load.stop();

    expect(load.failures, 'failed requests').to.deep.equal([]);
    expect(load.answeredBy(1)).to.be.at.least(ENOUGH);
    expect(load.answeredBy(2)).to.be.at.least(3 * ENOUGH);
  });
});
