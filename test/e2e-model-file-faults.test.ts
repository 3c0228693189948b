/**
 * A model file corrupted or removed under a running server: the sessions already made go on
 * serving, nothing changes until a reload, and the reload that then fails says why in
 * RepositoryIndex and the log and keeps the version loaded before (issue 13). One poll-mode
 * server (the timer is an hour; each test calls repository.poll()) and one explicit-mode server.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import type { ServedVersion } from '../src/repository/model-version';
import { expectRpcError } from './support/e2e-helpers';
import { serveRepository, type RepositoryServer } from './support/generated-models';
import { computedBy, expectComputedBy, inferVersioned, loadModel, repositoryIndex, versionedModel } from './support/repository-client';

const GARBAGE = Buffer.from('this is not an ONNX model');
const BATCHING = { max_batch_size: 4 };

interface LogLine {
  msg: string;
  model?: string;
  reason?: string;
}

const modelFile = (repo: string, model: string): string => path.join(repo, model, '1', 'model.onnx');

function serve(mode: 'poll' | 'explicit', models: readonly string[], logs: LogLine[]): Promise<RepositoryServer> {
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  return serveRepository(
    models.map((name) => ({ name, config: BATCHING, versions: new Map([[1, versionedModel(1)]]) })),
    { MODEL_CONTROL_MODE: mode, REPOSITORY_POLL_SECONDS: '3600', ...(mode === 'explicit' && { LOAD_MODELS: '*' }) },
    log,
  );
}

describe('e2e: a model file corrupted or removed under a running server', function () {
  this.timeout(60_000);

  describe('in poll mode', () => {
    let t: RepositoryServer;
    const logs: LogLine[] = [];
    before(async () => {
      t = await serve('poll', ['corrupted', 'removed'], logs);
    });
    after(async () => t?.stop());

    const loaded = (model: string): ServedVersion | undefined => t.server.repository.get(model)?.versions.get(1);

    async function expectKeptAfterFailedReload(model: string, why: RegExp): Promise<void> {
      const before = loaded(model);
      expectComputedBy(await inferVersioned(t.client, model), 1);
      await t.server.repository.poll();
      expect(loaded(model), 'the version loaded before, not a new one').to.equal(before);
      expect(before!.state).to.equal('READY');
      expectComputedBy(await inferVersioned(t.client, model), 1);
      expectComputedBy(await inferVersioned(t.client, model, '1'), 1);
      const [row] = (await repositoryIndex(t.client)).filter((r) => r.name === model);
      expect(`${row.version} ${row.state}`).to.equal('1 READY');
      expect(row.reason).to.match(/^reload failed, the versions loaded before keep serving: /);
      expect(row.reason).to.match(why);
      expect(logs.some((l) => l.msg === 'model failed to load' && l.model === model && why.test(l.reason ?? '')), 'logged with the reason').to.equal(true);
      expect((await t.client.unary<{ ready?: boolean }>('ModelReady', { name: model })).ready).to.equal(true);
      expect((await t.client.unary<{ ready?: boolean }>('ServerReady', {})).ready).to.equal(true);
    }

    it('serves from the loaded session while model.onnx is garbage, and keeps it when the poll fails to reload it', async () => {
      fs.writeFileSync(modelFile(t.repo, 'corrupted'), GARBAGE);
      await expectKeptAfterFailedReload('corrupted', /version 1: .*Protobuf parsing failed/);
    });

    it('keeps serving a version whose model.onnx was deleted (its folder stays), and says the file is missing', async () => {
      fs.rmSync(modelFile(t.repo, 'removed'));
      await expectKeptAfterFailedReload('removed', /no version folder with model\.onnx/);
    });

    it('reloads the version once the file is good again, and the failure is gone from RepositoryIndex', async () => {
      fs.writeFileSync(modelFile(t.repo, 'corrupted'), versionedModel(3));
      await t.server.repository.poll();
      const res = await inferVersioned(t.client, 'corrupted');
      expect(res.model_version).to.equal('1');
      expect(computedBy(res), "the new file's weights answer").to.equal(3);
      const [row] = (await repositoryIndex(t.client)).filter((r) => r.name === 'corrupted');
      expect(row.reason ?? '').to.equal('');
    });
  });

  describe('in explicit mode', () => {
    let t: RepositoryServer;
    const logs: LogLine[] = [];
    before(async () => {
      t = await serve('explicit', ['corrupted'], logs);
    });
    after(async () => t?.stop());

    it('serves on while the file is garbage; RepositoryModelLoad then answers INVALID_ARGUMENT with the reason and the old version serves', async () => {
      fs.writeFileSync(modelFile(t.repo, 'corrupted'), GARBAGE);
      expectComputedBy(await inferVersioned(t.client, 'corrupted'), 1);
      await expectRpcError(loadModel(t.client, 'corrupted'), status.INVALID_ARGUMENT, "load failed for model 'corrupted': version 1: ", 'Protobuf parsing failed');
      expectComputedBy(await inferVersioned(t.client, 'corrupted'), 1);
      const [row] = (await repositoryIndex(t.client)).filter((r) => r.name === 'corrupted');
      expect(row.state).to.equal('READY');
    });
  });
});
