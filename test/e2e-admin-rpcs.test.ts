/**
 * The admin RPCs (RepositoryIndex, RepositoryModelLoad / Unload, RolloutAdmin) can be turned off,
 * guarded by a bearer token read from a file, or moved to their own port; the inference RPCs stay
 * open in every case. Real server, real grpc-js clients, and grpcurl where /work/shared/clients has it.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createHealthClient, expectRpcError, makeTempDir, removeDir } from './support/e2e-helpers';
import { repositoryIndex } from './support/repository-client';
import { createRolloutAdminClient } from './support/rollout-admin-client';
import { createClient, startTestServer, type InferenceClient, type TestServer } from './support/server';

const GRPCURL = '/work/shared/clients/bin/grpcurl';
const TOKEN = 'admin-token-7f3a9c';

/** ServerLive and ModelMetadata answer: the inference RPCs are open. */
async function expectInferenceOpen(client: InferenceClient): Promise<void> {
  expect(await client.unary('ServerLive', {})).to.deep.include({ live: true });
  expect(await client.unary('ModelMetadata', { name: 'stock_scorer' })).to.have.property('name', 'stock_scorer');
}

describe('e2e: admin RPCs', function () {
  this.timeout(60_000);
  let dir: string;
  let tokenFile: string;

  before(() => {
    dir = makeTempDir('e2e-admin');
    tokenFile = path.join(dir, 'token');
  });
  after(() => removeDir(dir));

  describe('ADMIN_RPCS=off', () => {
    let t: TestServer;
    before(async () => (t = await startTestServer({ ADMIN_RPCS: 'off' })));
    after(async () => t?.stop());

    it('answers every admin RPC UNIMPLEMENTED, naming the setting, and keeps the inference RPCs open', async () => {
      for (const rpc of ['RepositoryIndex', 'RepositoryModelLoad', 'RepositoryModelUnload']) {
        await expectRpcError(t.client.unary(rpc, { model_name: 'stock_scorer' }), status.UNIMPLEMENTED, `${rpc} is turned off`, 'ADMIN_RPCS=off');
      }
      const admin = createRolloutAdminClient(t.port);
      try {
        for (const rpc of ['GetRollout', 'SetWeights', 'Promote', 'Rollback'] as const) {
          await expectRpcError(admin.call(rpc, { model: 'stock_scorer' }), status.UNIMPLEMENTED, 'ADMIN_RPCS=off');
        }
      } finally {
        admin.close();
      }
      await expectInferenceOpen(t.client);
    });
  });

  describe('ADMIN_TOKEN_FILE on the inference port', () => {
    let t: TestServer;
    before(async () => {
      fs.writeFileSync(tokenFile, `${TOKEN}\n`);
      t = await startTestServer({ ADMIN_TOKEN_FILE: tokenFile });
    });
    after(async () => t?.stop());

    it('refuses admin RPCs without a token or with a wrong one: UNAUTHENTICATED', async () => {
      await expectRpcError(t.client.unary('RepositoryIndex', {}), status.UNAUTHENTICATED, "'authorization: Bearer <token>'");
      await expectRpcError(t.client.unary('RepositoryModelLoad', { model_name: 'stock_scorer' }), status.UNAUTHENTICATED);
      for (const header of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, TOKEN, 'Bearer ']) {
        const client = createClient(t.port, { headers: { authorization: header } });
        try {
          await expectRpcError(client.unary('RepositoryIndex', {}), status.UNAUTHENTICATED);
        } finally {
          client.close();
        }
      }
      const admin = createRolloutAdminClient(t.port, { headers: { authorization: 'Bearer nope' } });
      try {
        await expectRpcError(admin.call('GetRollout', { model: 'stock_scorer' }), status.UNAUTHENTICATED, 'not valid');
      } finally {
        admin.close();
      }
    });

    it('serves admin RPCs with the token (any case of "Bearer"), and inference RPCs without one', async () => {
      const client = createClient(t.port, { headers: { authorization: `bearer ${TOKEN}` } });
      const admin = createRolloutAdminClient(t.port, { headers: { authorization: `Bearer ${TOKEN}` } });
      try {
        expect((await repositoryIndex(client)).map((r) => r.name)).to.include('stock_scorer');
        // Past the guard: the rollout admin's own answer for a model without a rollout.
        await expectRpcError(admin.call('GetRollout', { model: 'stock_scorer' }), status.FAILED_PRECONDITION, 'has no rollout');
      } finally {
        client.close();
        admin.close();
      }
      await expectInferenceOpen(t.client);
    });

    it('reads the token file at each call: a replaced token takes over without a restart', async () => {
      const rotated = `${TOKEN}-rotated`;
      fs.writeFileSync(tokenFile, rotated);
      const before = createClient(t.port, { headers: { authorization: `Bearer ${TOKEN}` } });
      const after = createClient(t.port, { headers: { authorization: `Bearer ${rotated}` } });
      try {
        await expectRpcError(before.unary('RepositoryIndex', {}), status.UNAUTHENTICATED);
        await after.unary('RepositoryIndex', {});
      } finally {
        before.close();
        after.close();
        fs.writeFileSync(tokenFile, TOKEN);
      }
    });

    it('grpcurl sends the token as a header and is served; without it, refused', async function () {
      if (!fs.existsSync(GRPCURL)) this.skip();
      const run = promisify(execFile);
      const target = `127.0.0.1:${t.port}`;
      const served = await run(GRPCURL, ['-plaintext', '-H', `authorization: Bearer ${TOKEN}`, target, 'inference.GRPCInferenceService/RepositoryIndex']);
      expect(served.stdout).to.contain('stock_scorer');
      const refused = await run(GRPCURL, ['-plaintext', target, 'inference.GRPCInferenceService/RepositoryIndex']).then(
        () => undefined,
        (err: { stderr: string }) => err.stderr,
      );
      expect(refused).to.contain('Unauthenticated');
    });
  });

  describe('ADMIN_GRPC_PORT: the admin RPCs on their own listener', () => {
    let t: TestServer;
    let adminClient: InferenceClient;
    before(async () => {
      fs.writeFileSync(tokenFile, TOKEN);
      t = await startTestServer({ ADMIN_GRPC_PORT: '0', ADMIN_TOKEN_FILE: tokenFile });
      adminClient = createClient(t.server.adminPort!, { headers: { authorization: `Bearer ${TOKEN}` } });
    });
    after(async () => {
      adminClient?.close();
      await t?.stop();
    });

    it('listens on a port of its own', () => {
      expect(t.server.adminPort).to.be.a('number').and.not.equal(t.port);
    });

    it('the inference port refuses admin RPCs, even with the token, and serves inference', async () => {
      const withToken = createClient(t.port, { headers: { authorization: `Bearer ${TOKEN}` } });
      const admin = createRolloutAdminClient(t.port, { headers: { authorization: `Bearer ${TOKEN}` } });
      try {
        await expectRpcError(withToken.unary('RepositoryIndex', {}), status.UNIMPLEMENTED, 'admin port only');
        await expectRpcError(withToken.unary('RepositoryModelUnload', { model_name: 'stock_scorer' }), status.UNIMPLEMENTED, 'admin port only');
        await expectRpcError(admin.call('GetRollout', { model: 'stock_scorer' }), status.UNIMPLEMENTED, 'admin port only');
      } finally {
        withToken.close();
        admin.close();
      }
      await expectInferenceOpen(t.client);
    });

    it('the admin port serves the admin RPCs with the token, refuses them without, and serves no inference', async () => {
      expect((await repositoryIndex(adminClient)).map((r) => r.name)).to.include('stock_scorer');
      const admin = createRolloutAdminClient(t.server.adminPort!, { headers: { authorization: `Bearer ${TOKEN}` } });
      const anonymous = createClient(t.server.adminPort!);
      try {
        await expectRpcError(admin.call('GetRollout', { model: 'stock_scorer' }), status.FAILED_PRECONDITION, 'has no rollout');
        await expectRpcError(anonymous.unary('RepositoryIndex', {}), status.UNAUTHENTICATED);
        await expectRpcError(adminClient.unary('ModelMetadata', { name: 'stock_scorer' }), status.UNIMPLEMENTED);
      } finally {
        admin.close();
        anonymous.close();
      }
    });

    it('the admin port answers health checks', async () => {
      const health = createHealthClient(t.server.adminPort!);
      try {
        expect(await health.check('')).to.equal('SERVING');
      } finally {
        health.close();
      }
    });
  });

  it('a server whose token file cannot be read does not start', async () => {
    let caught: unknown;
    try {
      const t = await startTestServer({ ADMIN_TOKEN_FILE: path.join(dir, 'missing') });
      await t.stop();
    } catch (err) {
      caught = err;
    }
    expect(String(caught)).to.contain('ADMIN_TOKEN_FILE').and.contain('ENOENT');
  });
});
