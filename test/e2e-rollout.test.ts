/**
 * Canary rollouts over real gRPC: config.json's rollout block splits the requests that pin no
 * version between a model's versions, by weight, or by a stable hash of a sticky parameter's
 * value. Every version computes its own line (repository-client.ts), so each answer says which
 * version computed it. Poll mode with an hour's timer: a test changes config.json, then calls
 * repository.poll() itself.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import pino from 'pino';
import { freePort } from '../scripts/bench/free-port';
import type { ServedVersion } from '../src/repository/model-version';
import { expectRpcError, writeModelConfig } from './support/e2e-helpers';
import { affineRequest, serveRepository, type RepositoryServer } from './support/generated-models';
import { httpRequest } from './support/http-get';
import { parseExposition } from './support/prometheus-text';
import { computedBy, expectComputedBy, inferVersioned, repositoryIndex, versionedModel, WIDTH, X, type InferResponse } from './support/repository-client';
import { waitFor } from './support/wait-for';

const ALL = { max_batch_size: 4, version_policy: { all: {} } };
const STICKY = 'routing_key';
const rollout = (weights: Record<string, number>): object => ({ ...ALL, rollout: { weights, sticky_parameter: STICKY } });
const keys = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

interface LogLine {
  msg: string;
  model?: string;
  reason?: string;
  rollout?: string;
}

describe('e2e canary rollout', function () {
  this.timeout(120_000);
  let t: RepositoryServer;
  let metricsPort: number;
  const logs: LogLine[] = [];

  before(async () => {
    metricsPort = await freePort();
    const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    const v = (...versions: number[]) => new Map(versions.map((n) => [n, versionedModel(n)]));
    t = await serveRepository(
      [
        { name: 'split', config: rollout({ '1': 90, '2': 10 }), versions: v(1, 2) },
        { name: 'moving', config: rollout({ '1': 90, '2': 10 }), versions: v(1, 2) },
        { name: 'refusing', config: rollout({ '1': 90, '2': 10 }), versions: v(1, 2) },
        { name: 'live', config: rollout({ '1': 50, '2': 50 }), versions: v(1, 2) },
        { name: 'zero', config: { ...ALL, rollout: { weights: { '1': 0, '2': 10 } } }, versions: v(1, 2, 3) },
        { name: 'plain', config: ALL, versions: v(1, 2) },
      ],
      { MODEL_CONTROL_MODE: 'poll', REPOSITORY_POLL_SECONDS: '3600', METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1' },
      log,
    );
  });

  after(async () => t?.stop());

  const infer = (model: string, key?: string): Promise<InferResponse> =>
    t.client.unary<InferResponse>('ModelInfer', {
      ...affineRequest(model, [2, WIDTH], X),
      ...(key !== undefined && { parameters: { [STICKY]: { string_param: key } } }),
    });

  /** Each answer's version, checked against the version whose weights computed it; a few requests at a time. */
  async function servedVersions(model: string, requests: readonly (string | undefined)[]): Promise<number[]> {
    const served: number[] = [];
    for (let i = 0; i < requests.length; i += 32) {
      const answers = await Promise.all(requests.slice(i, i + 32).map((key) => infer(model, key)));
      for (const res of answers) {
        expectComputedBy(res, Number(res.model_version));
        served.push(Number(res.model_version));
      }
    }
    return served;
  }

  const share = (served: readonly number[], version: number): number => served.filter((v) => v === version).length / served.length;
  const setConfig = async (model: string, config: object): Promise<void> => {
    writeModelConfig(t.repo, model, { name: model, ...config });
    await t.server.repository.poll();
  };

  it('splits requests that pin no version by the weights (90/10 within 3 points over 2,000)', async () => {
    const served = await servedVersions('split', new Array<undefined>(2000).fill(undefined));
    expect(share(served, 1)).to.be.closeTo(0.9, 0.03);
    expect(share(served, 2)).to.be.closeTo(0.1, 0.03);
  });

  it('sends a sticky key to the same version every time, sharing keys by weight', async () => {
    const ids = keys('user', 1000);
    const first = await servedVersions('split', ids);
    expect(await servedVersions('split', ids)).to.deep.equal(first);
    expect(share(first, 2)).to.be.closeTo(0.1, 0.04);
  });

  it('moves only keys from 1 to 2, about 10% of them, when the weights go from 90/10 to 80/20; and reloads no version for it', async () => {
    const ids = keys('client', 1000);
    const loaded = new Map(t.server.repository.get('moving')!.versions);
    const before = await servedVersions('moving', ids);
    await setConfig('moving', rollout({ '1': 80, '2': 20 }));
    const after = await servedVersions('moving', ids);
    const moves = ids.map((_, i) => `${before[i]}->${after[i]}`).filter((m) => m !== '1->1' && m !== '2->2');
    expect(new Set(moves)).to.deep.equal(new Set(['1->2']));
    expect(moves.length / ids.length).to.be.closeTo(0.1, 0.04);
    const now = t.server.repository.get('moving')!.versions;
    for (const [version, v] of loaded) expect(now.get(version), `version ${version} is the same loaded object`).to.equal(v);
    expect(logs.filter((l) => l.msg === 'model rollout changed' && l.model === 'moving').map((l) => l.rollout)).to.deep.equal([
      "weights {1: 90, 2: 10}, sticky on 'routing_key'",
      "weights {1: 80, 2: 20}, sticky on 'routing_key'",
    ]);
  });

  it('refuses a rollout that names a version not loaded: the previous routing stays, the reason in RepositoryIndex', async () => {
    const ids = keys('refused', 300);
    const before = await servedVersions('refusing', ids);
    await setConfig('refusing', rollout({ '1': 50, '3': 50 }));
    const rows = (await repositoryIndex(t.client)).filter((r) => r.name === 'refusing');
    expect(rows.map((r) => `${r.version} ${r.state}`)).to.deep.equal(['1 READY', '2 READY']);
    for (const row of rows) {
      expect(row.reason).to.contain('reload failed, the versions loaded before keep serving');
      expect(row.reason).to.contain('rollout weights name version 3, which is not loaded (loaded: 1, 2)');
    }
    expect(await servedVersions('refusing', ids), 'the same keys, the same versions: 90/10 still').to.deep.equal(before);
    const logged = logs.filter((l) => l.msg === 'model failed to load' && l.model === 'refusing').map((l) => l.reason);
    expect(logged).to.have.length(1);
    expect(logged[0]).to.contain('rollout weights name version 3, which is not loaded (loaded: 1, 2)');
  });

  it('serves a pinned request from its version whatever the weights; a weight of 0 gets no traffic', async () => {
    for (let i = 0; i < 20; i++) expectComputedBy(await inferVersioned(t.client, 'split', '2'), 2);
    expectComputedBy(await inferVersioned(t.client, 'zero', '1'), 1);
    expectComputedBy(await inferVersioned(t.client, 'zero', '3'), 3);
    const served = await servedVersions('zero', [...new Array<undefined>(200).fill(undefined), ...keys('zero', 200)]);
    expect(new Set(served), 'version 1 (weight 0) and 3 (not named)').to.deep.equal(new Set([2]));
  });

  it('serves the newest version to requests that pin none when the model has no rollout, sticky parameter or not', async () => {
    const served = await servedVersions('plain', [...new Array<undefined>(50).fill(undefined), ...keys('plain', 50)]);
    expect(new Set(served)).to.deep.equal(new Set([2]));
  });

  it('refuses a sticky parameter that is not a string with INVALID_ARGUMENT naming it', async () => {
    const request = { ...affineRequest('split', [2, WIDTH], X), parameters: { [STICKY]: { int64_param: '42' } } };
    await expectRpcError(t.client.unary('ModelInfer', request), status.INVALID_ARGUMENT, `parameter '${STICKY}' must be a string`, "model 'split'");
  });

  it('publishes the weights as inference_rollout_weight, read at scrape time', async () => {
    const res = await httpRequest(metricsPort, '/metrics');
    const text = parseExposition(res.body);
    expect(text.value('inference_rollout_weight', { model: 'split', version: '1' })).to.equal(90);
    expect(text.value('inference_rollout_weight', { model: 'split', version: '2' })).to.equal(10);
    expect(text.value('inference_rollout_weight', { model: 'zero', version: '1' })).to.equal(0);
    expect(text.matching('inference_rollout_weight', { model: 'plain' })).to.deep.equal([]);
  });

  it('fails no request while the weights change under continuous load, with and without a reload of the versions', async () => {
    let running = true;
    const failures: string[] = [];
    const served = new Map<number, number>();
    const loop = async (): Promise<void> => {
      while (running) {
        try {
          const res = await infer('live');
          const version = computedBy(res);
          if (String(version) !== res.model_version) failures.push(`labelled ${res.model_version}, computed by ${version}`);
          else served.set(version!, (served.get(version!) ?? 0) + 1);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    const count = (): number => [...served.values()].reduce((a, b) => a + b, 0);
    const afterMore = async (n: number): Promise<void> => {
      const from = count();
      await waitFor(`${n} more answers`, count, (c) => c >= from + n);
    };
    try {
      await afterMore(100);
      const first = new Map<number, ServedVersion>(t.server.repository.get('live')!.versions);
      await setConfig('live', rollout({ '1': 10, '2': 90 }));
      await afterMore(100);
      // max_batch_size changes too: every version reloads beside the serving ones, then swaps.
      await setConfig('live', { ...rollout({ '1': 90, '2': 10 }), max_batch_size: 2 });
      expect(t.server.repository.get('live')!.versions.get(1)).not.to.equal(first.get(1));
      await afterMore(100);
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(failures).to.deep.equal([]);
    expect([...served.keys()].sort()).to.deep.equal([1, 2]);
  });
});
