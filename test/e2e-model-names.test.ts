/**
 * Every RPC that names a model refuses a name that is no folder of the repository (a path, '..',
 * a NUL, an over-long name) with INVALID_ARGUMENT naming the request's field, over the wire and
 * before any file is read: a model folder beside the repository is never loaded.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import * as path from 'node:path';
import { expectRpcError, makeTempDir, removeDir, writeModelFile } from './support/e2e-helpers';
import { affineModel, affineRequest } from './support/generated-models';
import { repositoryIndex } from './support/repository-client';
import { createRolloutAdminClient, type RolloutAdminClient } from './support/rollout-admin-client';
import { startTestServer, type TestServer } from './support/server';

const BAD_NAMES: readonly [string, string][] = [
  ['../outside', "starts with '.'"],
  ['..', "starts with '.'"],
  ['.', "starts with '.'"],
  ['a/b', 'path separator'],
  ['a\\b', 'path separator'],
  ['/etc', 'path separator'],
  ['inside\u0000', 'NUL'],
  ['in\nside', 'control character'],
  ['x'.repeat(256), 'longer than 255 bytes'],
];

describe('e2e: model names are checked in every RPC', function () {
  this.timeout(60_000);
  let root: string;
  let t: TestServer;
  let admin: RolloutAdminClient;

  before(async () => {
    root = makeTempDir('e2e-model-names');
    const repo = path.join(root, 'repo');
    writeModelFile(repo, 'inside', 1, affineModel([2], [{ name: 'y', scale: 2, bias: 0 }]));
    // A loadable model beside the repository: what '../outside' would reach.
    writeModelFile(root, 'outside', 1, affineModel([2], [{ name: 'y', scale: 3, bias: 0 }]));
    t = await startTestServer({ MODEL_REPOSITORY: repo, MODEL_CONTROL_MODE: 'explicit', LOAD_MODELS: 'inside' });
    admin = createRolloutAdminClient(t.port);
  });

  after(async () => {
    admin?.close();
    await t?.stop();
    removeDir(root);
  });

  const x = Float32Array.from([1, 2]);
  const calls: readonly [string, string, (name: string) => Promise<unknown>][] = [
    ['ModelInfer', 'model_name', (name) => t.client.unary('ModelInfer', affineRequest(name, [1, 2], x))],
    ['ModelMetadata', 'name', (name) => t.client.unary('ModelMetadata', { name })],
    ['ModelReady', 'name', (name) => t.client.unary('ModelReady', { name })],
    ['ModelConfig', 'name', (name) => t.client.unary('ModelConfig', { name })],
    ['ModelStatistics', 'name', (name) => t.client.unary('ModelStatistics', { name })],
    ['RepositoryModelLoad', 'model_name', (name) => t.client.unary('RepositoryModelLoad', { model_name: name })],
    ['RepositoryModelUnload', 'model_name', (name) => t.client.unary('RepositoryModelUnload', { model_name: name })],
    ['RolloutAdmin.GetRollout', 'model', (name) => admin.call('GetRollout', { model: name })],
    ['RolloutAdmin.SetWeights', 'model', (name) => admin.call('SetWeights', { model: name, weights: { 1: 100 } })],
    ['RolloutAdmin.Promote', 'model', (name) => admin.call('Promote', { model: name, version: 1 })],
    ['RolloutAdmin.Rollback', 'model', (name) => admin.call('Rollback', { model: name })],
  ];

  for (const [rpc, field, call] of calls) {
    it(`${rpc} refuses each bad name with INVALID_ARGUMENT naming '${field}'`, async () => {
      for (const [name, why] of BAD_NAMES) await expectRpcError(call(name), status.INVALID_ARGUMENT, `${field} '`, why);
    });
  }

  it('ModelStreamInfer answers a bad name with an error message naming model_name, and the stream goes on', async () => {
    const stream = t.client.stream();
    const replies: Record<string, unknown>[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: Record<string, unknown>) => replies.push(m));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write(affineRequest('../outside', [1, 2], x));
    stream.write(affineRequest('inside', [1, 2], x));
    stream.end();
    await ended;
    expect(replies).to.have.length(2);
    expect(replies[0].error_message).to.contain("model_name '../outside' is not the name of a folder in the model repository");
    expect(replies[1].error_message ?? '').to.equal('');
  });

  it('the folder beside the repository was never loaded, and a good name still works', async () => {
    const rows = await repositoryIndex(t.client);
    expect(rows.map((r) => r.name)).to.deep.equal(['inside']);
    await t.client.unary('ModelInfer', affineRequest('inside', [1, 2], x));
  });
});
