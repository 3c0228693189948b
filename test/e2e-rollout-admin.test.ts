/**
 * The RolloutAdmin service over real gRPC: the state with live counts, weights set, a version
 * promoted, the previous weights restored, bad instructions refused, and config.json's newest
 * rollout block winning over what the admin set. Every version computes its own line
 * (repository-client.ts), so each answer says which version computed it.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { expectRpcError, writeModelConfig } from './support/e2e-helpers';
import { serveRepository, type RepositoryServer } from './support/generated-models';
import { computedBy, expectComputedBy, inferVersioned, versionedModel } from './support/repository-client';
import { createRolloutAdminClient, windowRequests, type RolloutAdminClient } from './support/rollout-admin-client';
import { waitFor } from './support/wait-for';

const ALL = { max_batch_size: 4, version_policy: { all: {} } };
const rollout = (weights: Record<string, number>): object => ({ ...ALL, rollout: { weights, sticky_parameter: 'user' } });

describe('e2e rollout admin', function () {
  this.timeout(120_000);
  let t: RepositoryServer;
  let admin: RolloutAdminClient;

  before(async () => {
    const v = (...versions: number[]) => new Map(versions.map((n) => [n, versionedModel(n)]));
    t = await serveRepository(
      [
        { name: 'counted', config: rollout({ '1': 50, '2': 50 }), versions: v(1, 2) },
        { name: 'live', config: rollout({ '1': 50, '2': 50 }), versions: v(1, 2) },
        { name: 'promoted', config: rollout({ '1': 90, '2': 10 }), versions: v(1, 2) },
        { name: 'guarded', config: rollout({ '1': 90, '2': 10 }), versions: v(1, 2, 3) },
        { name: 'filed', config: rollout({ '1': 90, '2': 10 }), versions: v(1, 2) },
        { name: 'plain', config: ALL, versions: v(1, 2) },
      ],
      { MODEL_CONTROL_MODE: 'poll', REPOSITORY_POLL_SECONDS: '3600' },
    );
    admin = createRolloutAdminClient(t.port);
  });

  after(async () => {
    admin?.close();
    await t?.stop();
  });

  /** The versions that answered `n` requests pinning none, each checked against its weights. */
  async function served(model: string, n: number): Promise<Set<number>> {
    const answers = await Promise.all(Array.from({ length: n }, () => inferVersioned(t.client, model)));
    for (const res of answers) expectComputedBy(res, Number(res.model_version));
    return new Set(answers.map((res) => Number(res.model_version)));
  }

  it("shows config.json's weights, the sticky parameter and each version's live counts as requests come", async () => {
    const before = await admin.call('GetRollout', { model: 'counted' });
    expect(before).to.include({ model: 'counted', weights_source: 'config', sticky_parameter: 'user', window_seconds: 60 });
    expect(before.weights).to.deep.equal({ '1': 50, '2': 50 });
    expect(before.previous_weights, 'none until weights are set').to.equal(undefined);
    expect(before.guard, 'config.json gives no guard').to.equal(undefined);
    expect(before.guard_state.rolled_back).to.equal(false);
    await served('counted', 200);
    const after = await admin.call('GetRollout', { model: 'counted' });
    expect(windowRequests(after, 1) + windowRequests(after, 2)).to.equal(windowRequests(before, 1) + windowRequests(before, 2) + 200);
    expect(windowRequests(after, 1), 'version 1 answered some').to.be.greaterThan(0);
    for (const v of after.versions!) {
      expect(v.failures).to.equal('0');
      expect(v.p50_ms).to.be.greaterThan(0);
      expect(v.p99_ms).to.be.at.least(v.p50_ms);
    }
  });

  it('routes by weights set through SetWeights, Promote and Rollback from the next request on, with no request failed under continuous load', async () => {
    let running = true;
    const failures: string[] = [];
    /** Each answer: its version, and when its request was sent. */
    const answers: { version: number; sentAt: number }[] = [];
    const loop = async (): Promise<void> => {
      while (running) {
        const sentAt = performance.now();
        try {
          const res = await inferVersioned(t.client, 'live');
          const version = computedBy(res);
          if (String(version) !== res.model_version) failures.push(`labelled ${res.model_version}, computed by ${version}`);
          else answers.push({ version: version!, sentAt });
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    const afterMore = (n: number): Promise<number> => {
      const from = answers.length;
      return waitFor(`${n} more answers`, () => answers.length, (c) => c >= from + n);
    };
    /** When each SetWeights was sent, and when its answer came. */
    const sent: number[] = [];
    const answered: number[] = [];
    try {
      await afterMore(100);
      // 50/50 -> all to 2 (Promote) -> back to 50/50 (Rollback) -> all to 1 (SetWeights).
      const steps: ['Promote' | 'Rollback' | 'SetWeights', object, Record<string, number>][] = [
        ['Promote', { model: 'live', version: 2 }, { '1': 0, '2': 100 }],
        ['Rollback', { model: 'live' }, { '1': 50, '2': 50 }],
        ['SetWeights', { model: 'live', weights: { '1': 100, '2': 0 } }, { '1': 100, '2': 0 }],
      ];
      for (const [rpc, request, weights] of steps) {
        sent.push(performance.now());
        const state = await admin.call(rpc, request);
        answered.push(performance.now());
        expect(state.weights, rpc).to.deep.equal(weights);
        expect(state.weights_source).to.equal('admin');
        await afterMore(100);
      }
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(failures).to.deep.equal([]);
    const sentBetween = (from: number, to: number): Set<number> => new Set(answers.filter((a) => a.sentAt > from && a.sentAt < to).map((a) => a.version));
    expect([...sentBetween(answered[0], sent[1])], 'requests sent after Promote(2) went to 2').to.deep.equal([2]);
    expect([...sentBetween(answered[1], sent[2])].sort(), 'requests sent after Rollback went to both').to.deep.equal([1, 2]);
    expect([...sentBetween(answered[2], Infinity)], 'requests sent after SetWeights(1: 100) went to 1').to.deep.equal([1]);
  });

  it('promotes a version to all the traffic, then rolls back to the weights before', async () => {
    const promoted = await admin.call('Promote', { model: 'promoted', version: 2 });
    expect(promoted.weights).to.deep.equal({ '1': 0, '2': 100 });
    expect(promoted.previous_weights).to.deep.equal({ '1': 90, '2': 10 });
    expect(await served('promoted', 100)).to.deep.equal(new Set([2]));
    const rolledBack = await admin.call('Rollback', { model: 'promoted' });
    expect(rolledBack.weights).to.deep.equal({ '1': 90, '2': 10 });
    expect(rolledBack.previous_weights).to.deep.equal({ '1': 0, '2': 100 });
    expect(await served('promoted', 200)).to.deep.equal(new Set([1, 2]));
  });

  it('refuses bad instructions, naming what is wrong, and routes as before', async () => {
    await expectRpcError(admin.call('SetWeights', { model: 'nosuch', weights: { '1': 1 } }), status.NOT_FOUND, "unknown model 'nosuch'");
    await expectRpcError(admin.call('SetWeights', { model: 'guarded', weights: { '1': 1, '4': 1 } }), status.INVALID_ARGUMENT, 'no loaded version 4', 'loaded: 1, 2, 3');
    await expectRpcError(admin.call('SetWeights', { model: 'guarded', weights: { '1': 1, '2': -1 } }), status.INVALID_ARGUMENT, 'weight of version 2 must be a number >= 0');
    await expectRpcError(admin.call('SetWeights', { model: 'guarded', weights: { '1': 0, '2': 0 } }), status.INVALID_ARGUMENT, 'weight > 0');
    await expectRpcError(admin.call('SetWeights', { model: 'guarded', weights: {} }), status.INVALID_ARGUMENT, 'at least one version');
    await expectRpcError(admin.call('Promote', { model: 'guarded', version: 7 }), status.INVALID_ARGUMENT, 'no loaded version 7');
    await expectRpcError(admin.call('Rollback', { model: 'guarded' }), status.FAILED_PRECONDITION, 'no previous rollout weights');
    await expectRpcError(admin.call('SetWeights', { model: 'plain', weights: { '1': 1 } }), status.FAILED_PRECONDITION, "model 'plain' has no rollout");
    await expectRpcError(admin.call('GetRollout', {}), status.INVALID_ARGUMENT, 'model is required');
    const state = await admin.call('GetRollout', { model: 'guarded' });
    expect(state.weights).to.deep.equal({ '1': 90, '2': 10 });
    expect(state.weights_source).to.equal('config');
    expect(await served('guarded', 200)).to.deep.equal(new Set([1, 2]));
  });

  it("gives way to config.json's newer rollout block, and keeps the admin's weights over a reload that leaves the block as it was", async () => {
    await admin.call('SetWeights', { model: 'filed', weights: { '2': 1 } });
    // max_batch_size changes: the versions reload, the rollout block is the same.
    writeModelConfig(t.repo, 'filed', { name: 'filed', ...rollout({ '1': 90, '2': 10 }), max_batch_size: 2 });
    await t.server.repository.poll();
    expect((await admin.call('GetRollout', { model: 'filed' })).weights).to.deep.equal({ '2': 1 });
    expect(await served('filed', 50)).to.deep.equal(new Set([2]));
    writeModelConfig(t.repo, 'filed', { name: 'filed', ...rollout({ '1': 100 }), max_batch_size: 2 });
    await t.server.repository.poll();
    const state = await admin.call('GetRollout', { model: 'filed' });
    expect(state.weights).to.deep.equal({ '1': 100 });
    expect(state.weights_source).to.equal('config');
    expect(await served('filed', 50)).to.deep.equal(new Set([1]));
  });
});
