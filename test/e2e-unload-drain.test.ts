/**
 * RepositoryModelUnload drains: the version stops taking requests at once, answers the one it is
 * running and those queued behind it, and only then stops its workers and answers the unload.
 * The slow model (sized on this machine, one instance, one request per run) keeps them waiting.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { inferRequest, maxAbsDiff, rowsOf, startInfer } from './support/batching-client';
import { sizedSlowModel, slowReference, SLOW_FEATURES } from './support/batching-slow-model';
import { expectRpcError } from './support/e2e-helpers';
import { serveRepository, type RepositoryServer } from './support/generated-models';
import { unloadModel, versionStates } from './support/repository-client';
import { waitFor } from './support/wait-for';
import { onnxVersion } from './support/onnx-version';

const REQUESTS = 4;

/** OS threads of this process (Linux); a model instance is a worker thread. */
const threads = (): number => fs.readdirSync('/proc/self/task').length;

describe('e2e RepositoryModelUnload drains, then frees', function () {
  this.timeout(60_000);
  let t: RepositoryServer;

  before(async () => {
    const config = { max_batch_size: 1, dynamic_batching: {}, instance_group: [{ count: 1, kind: 'KIND_CPU' }] };
    t = await serveRepository([{ name: 'slow', config, versions: new Map([[1, await sizedSlowModel()]]) }], { MODEL_CONTROL_MODE: 'explicit', LOAD_MODELS: 'slow' });
  });

  after(async () => t?.stop());

  it('answers the running and the queued requests, refuses new ones meanwhile, then stops the workers and answers the unload', async () => {
    const version = onnxVersion(t.server.repository.get('slow')!.versions.get(1));
    const inputs = Array.from({ length: REQUESTS }, (_, i) => rowsOf(i + 1, 1, SLOW_FEATURES));
    const calls = inputs.map((x) => startInfer(t.client, inferRequest('slow', x, SLOW_FEATURES)).outcome);
    await waitFor('one request running and the rest queued', () => version.scheduler.pending, (n) => n === REQUESTS);
    const threadsBefore = process.platform === 'linux' ? threads() : 0;

    let unloadedAt = 0;
    const unloading = unloadModel(t.client, 'slow').then(() => (unloadedAt = performance.now()));
    await waitFor('the version to show UNLOADING', () => versionStates(t.client, 'slow'), (rows) => rows.join() === '1 UNLOADING');
    expect(version.scheduler.pending, 'still draining when the check was made').to.be.above(0);
    await expectRpcError(t.client.unary('ModelInfer', inferRequest('slow', inputs[0], SLOW_FEATURES)), status.UNAVAILABLE, "model 'slow' has no ready version");
    const pinned = { ...inferRequest('slow', inputs[0], SLOW_FEATURES), model_version: '1' };
    await expectRpcError(t.client.unary('ModelInfer', pinned), status.UNAVAILABLE, "model 'slow' version 1 is not ready: unloading");

    await unloading;
    const outcomes = await Promise.all(calls);
    outcomes.forEach((o, i) => {
      expect(o.code, `request ${i}: ${o.details}`).to.equal(status.OK);
      expect(maxAbsDiff(o.outputs.get('y')!.data, slowReference(inputs[i])), `request ${i}'s y`).to.be.below(1e-4);
      expect(o.doneAt, `request ${i} answered before the unload`).to.be.at.most(unloadedAt);
    });
    expect(version.scheduler.pending).to.equal(0);
    expect(version.state, 'its workers stopped').to.equal('UNAVAILABLE');
    if (process.platform === 'linux') expect(threads(), 'the instance thread is gone').to.be.below(threadsBefore);
    expect(await versionStates(t.client, 'slow')).to.deep.equal(['1 UNAVAILABLE']);
  });
});
