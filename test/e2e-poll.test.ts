/**
 * Model control mode 'poll': what a rescan of the repository does with each kind of change. One
 * server, one model per kind of change; each test changes its model's folder, then calls the
 * in-process repository.poll() (the timer is an hour, so nothing happens unasked), then asks the
 * server over gRPC. The last describe runs the real timer, at one second.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import type { ServedVersion } from '../src/repository/model-version';
import { expectRpcError, removeDir, writeModelConfig, writeModelFile } from './support/e2e-helpers';
import { serveRepository, type RepositoryServer } from './support/generated-models';
import {
  computedBy, expectComputedBy, inferVersioned, loadModel, repositoryIndex, unloadModel, versionedModel, versionStates, WIDTH,
} from './support/repository-client';
import { waitFor } from './support/wait-for';

const GARBAGE = Buffer.from('this is not an ONNX model');
const BATCHING = { max_batch_size: 4 };
const ALL = { ...BATCHING, version_policy: { all: {} } };

interface LogLine {
  msg: string;
  model?: string;
  reason?: string;
  err?: string;
}

describe('e2e model control mode poll', function () {
  this.timeout(60_000);
  let t: RepositoryServer;
  const logs: LogLine[] = [];

  before(async () => {
    const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    const v = (...versions: number[]) => new Map(versions.map((n) => [n, versionedModel(n)]));
    t = await serveRepository(
      [
        { name: 'grows', config: BATCHING, versions: v(1) },
        { name: 'corrupt_newcomer', config: BATCHING, versions: v(1) },
        { name: 'shrinks', config: ALL, versions: v(1, 2) },
        { name: 'goner', config: BATCHING, versions: v(1) },
        { name: 'reconfigured', config: BATCHING, versions: v(1, 2) },
        { name: 'misconfigured', config: BATCHING, versions: v(1) },
        { name: 'to_pbtxt', config: BATCHING, versions: v(1) },
        { name: 'rewritten', config: BATCHING, versions: v(1) },
        { name: 'still', config: ALL, versions: v(1, 2) },
      ],
      { MODEL_CONTROL_MODE: 'poll', REPOSITORY_POLL_SECONDS: '3600' },
      log,
    );
  });

  after(async () => t?.stop());

  const versionsOf = (model: string): Map<number, ServedVersion> => new Map(t.server.repository.get(model)?.versions);
  const metadataVersions = async (model: string): Promise<string[]> =>
    (await t.client.unary<{ versions: string[] }>('ModelMetadata', { name: model })).versions;
  const ready = async (name: string, version = ''): Promise<boolean> =>
    (await t.client.unary<{ ready?: boolean }>('ModelReady', { name, version })).ready ?? false;
  const serverReady = async (): Promise<boolean> => (await t.client.unary<{ ready?: boolean }>('ServerReady', {})).ready ?? false;

  it('reloads nothing when a poll finds nothing changed', async () => {
    const before = versionsOf('still');
    await t.server.repository.poll();
    const after = versionsOf('still');
    expect([...after.keys()]).to.deep.equal([1, 2]);
    for (const [v, version] of before) expect(after.get(v), `version ${v} is the same loaded object`).to.equal(version);
  });

  it('serves a new version dropped into the folder once it is loaded, and unloads the one the policy (latest 1) no longer serves', async () => {
    expectComputedBy(await inferVersioned(t.client, 'grows'), 1);
    const [old] = versionsOf('grows').values();
    writeModelFile(t.repo, 'grows', 2, versionedModel(2));
    await t.server.repository.poll();
    expectComputedBy(await inferVersioned(t.client, 'grows'), 2);
    expect(await metadataVersions('grows')).to.deep.equal(['2']);
    expect(old.state, 'the replaced version was drained and freed').to.equal('UNAVAILABLE');
    expect(await repositoryIndex(t.client)).to.deep.include.members([
      { name: 'grows', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
      { name: 'grows', version: '2', state: 'READY', reason: '' },
    ]);
    await expectRpcError(inferVersioned(t.client, 'grows', '1'), status.UNAVAILABLE, "model 'grows' version 1 is not ready: unloaded");
  });

  it('keeps the old version serving when a new version is garbage, though the policy (latest 1) would serve only the new one, and reports why in RepositoryIndex and the log', async () => {
    writeModelFile(t.repo, 'corrupt_newcomer', 2, GARBAGE);
    await t.server.repository.poll();
    expectComputedBy(await inferVersioned(t.client, 'corrupt_newcomer'), 1);
    expect(await metadataVersions('corrupt_newcomer')).to.deep.equal(['1']);
    const rows = (await repositoryIndex(t.client)).filter((r) => r.name === 'corrupt_newcomer');
    expect(rows.map((r) => `${r.version} ${r.state}`)).to.deep.equal(['1 READY', '2 UNAVAILABLE']);
    expect(rows[1].reason).to.contain('Protobuf parsing failed');
    expect(rows[0].reason, "the serving version's row says a reload failed").to.match(/^reload failed, the versions loaded before keep serving: version 2: .*Protobuf parsing failed/);
    await expectRpcError(inferVersioned(t.client, 'corrupt_newcomer', '2'), status.UNAVAILABLE, "model 'corrupt_newcomer' version 2 failed to load: ", 'Protobuf parsing failed');
    expect(logs.some((l) => l.msg === 'model failed to load' && l.model === 'corrupt_newcomer' && /Protobuf parsing failed/.test(l.reason ?? ''))).to.equal(true);
    expect(await ready('corrupt_newcomer'), 'ModelReady with no version named').to.equal(true);
    expect(await serverReady(), 'a model whose newest version failed while an older one serves is ready').to.equal(true);
  });

  it('unloads a version whose folder was removed; a request pinned to it hears UNAVAILABLE', async () => {
    const before = versionsOf('shrinks');
    fs.rmSync(path.join(t.repo, 'shrinks', '2'), { recursive: true });
    await t.server.repository.poll();
    expect(await metadataVersions('shrinks')).to.deep.equal(['1']);
    expect(versionsOf('shrinks').get(1), 'version 1 was not reloaded').to.equal(before.get(1));
    expect(before.get(2)!.state).to.equal('UNAVAILABLE');
    expect(await versionStates(t.client, 'shrinks')).to.deep.equal(['1 READY', '2 UNAVAILABLE']);
    await expectRpcError(inferVersioned(t.client, 'shrinks', '2'), status.UNAVAILABLE, "model 'shrinks' version 2 is not ready: unloaded");
    expectComputedBy(await inferVersioned(t.client, 'shrinks'), 1);
  });

  it('unloads a model whose folder was removed: gone from RepositoryIndex, NOT_FOUND, and not holding the server unready', async () => {
    const [old] = versionsOf('goner').values();
    removeDir(path.join(t.repo, 'goner'));
    await t.server.repository.poll();
    expect(old.state).to.equal('UNAVAILABLE');
    expect((await repositoryIndex(t.client)).map((r) => r.name)).not.to.include('goner');
    await expectRpcError(inferVersioned(t.client, 'goner'), status.NOT_FOUND, "unknown model 'goner'");
    expect(await ready('goner')).to.equal(false);
    expect(t.server.repository.modelNames()).not.to.include('goner');
    expect(await serverReady()).to.equal(true);
  });

  it('loads a model folder added to the repository', async () => {
    writeModelFile(t.repo, 'newcomer', 3, versionedModel(3));
    expect(await versionStates(t.client, 'newcomer'), 'listed, not loaded, before the poll').to.deep.equal(['']);
    await expectRpcError(inferVersioned(t.client, 'newcomer'), status.NOT_FOUND, "unknown model 'newcomer'");
    await t.server.repository.poll();
    expectComputedBy(await inferVersioned(t.client, 'newcomer'), 3);
    expect(await versionStates(t.client, 'newcomer')).to.deep.equal(['3 READY']);
    expect(t.server.repository.modelNames()).to.include('newcomer');
  });

  it('keeps the server ready when a model folder added later fails to load: the model is not ready, RepositoryIndex says why', async () => {
    writeModelFile(t.repo, 'broken_newcomer', 1, GARBAGE);
    await t.server.repository.poll();
    const [row] = (await repositoryIndex(t.client)).filter((r) => r.name === 'broken_newcomer');
    expect(row).to.deep.include({ version: '1', state: 'UNAVAILABLE' });
    expect(row.reason).to.contain('Protobuf parsing failed');
    expect(await ready('broken_newcomer')).to.equal(false);
    expect(await serverReady(), 'a bad file dropped into a shared repository must not take every replica out of service').to.equal(true);
    removeDir(path.join(t.repo, 'broken_newcomer'));
    await t.server.repository.poll();
  });

  it('reloads every version of a model whose config.json changed, and serves what the new configuration says', async () => {
    const before = versionsOf('reconfigured');
    expect([...before.keys()]).to.deep.equal([2]);
    writeModelConfig(t.repo, 'reconfigured', { name: 'reconfigured', ...ALL, dynamic_batching: { max_queue_delay_microseconds: 700 } });
    await t.server.repository.poll();
    expect(await metadataVersions('reconfigured')).to.deep.equal(['1', '2']);
    expect(versionsOf('reconfigured').get(2), 'version 2 is a new load').not.to.equal(before.get(2));
    expect(before.get(2)!.state, 'the old version 2 was drained and freed').to.equal('UNAVAILABLE');
    const { config } = await t.client.unary<{ config: { dynamic_batching?: { max_queue_delay_microseconds: string } } }>('ModelConfig', { name: 'reconfigured' });
    expect(config.dynamic_batching?.max_queue_delay_microseconds).to.equal('700');
    expectComputedBy(await inferVersioned(t.client, 'reconfigured', '1'), 1);
    expectComputedBy(await inferVersioned(t.client, 'reconfigured'), 2);
  });

  it('keeps the loaded versions serving when the new config.json is not JSON, or names an input the model lacks, and reloads once it is fixed', async () => {
    const before = versionsOf('misconfigured');
    const rowReason = async (): Promise<string> => (await repositoryIndex(t.client)).find((r) => r.name === 'misconfigured')!.reason;

    fs.writeFileSync(path.join(t.repo, 'misconfigured', 'config.json'), '{ "max_batch_size": 4, }');
    await t.server.repository.poll();
    expect(versionsOf('misconfigured').get(1)).to.equal(before.get(1));
    expectComputedBy(await inferVersioned(t.client, 'misconfigured'), 1);
    expect(await rowReason()).to.match(/^reload failed, the versions loaded before keep serving: model 'misconfigured' config\.json is not valid JSON/);

    writeModelConfig(t.repo, 'misconfigured', { ...BATCHING, input: [{ name: 'not_x', data_type: 'TYPE_FP32', dims: [WIDTH] }] });
    await t.server.repository.poll();
    expect(versionsOf('misconfigured').get(1)).to.equal(before.get(1));
    expectComputedBy(await inferVersioned(t.client, 'misconfigured'), 1);
    expect(await rowReason()).to.match(/^reload failed, the versions loaded before keep serving: version 1: .*model input 'x' is missing from input/);
    expect(await versionStates(t.client, 'misconfigured')).to.deep.equal(['1 READY']);

    writeModelConfig(t.repo, 'misconfigured', { ...BATCHING, dynamic_batching: {} });
    await t.server.repository.poll();
    expect(versionsOf('misconfigured').get(1)).not.to.equal(before.get(1));
    expect(await rowReason(), 'the failure is cleared by the load that took').to.equal('');
    expect(t.server.repository.get('misconfigured')!.failures).to.deep.equal([]);
  });

  it('reloads nothing when config.json becomes a config.pbtxt of the same content, and reloads when the config.pbtxt changes', async () => {
    const before = versionsOf('to_pbtxt');
    const pbtxt = path.join(t.repo, 'to_pbtxt', 'config.pbtxt');
    fs.writeFileSync(pbtxt, '# the same configuration, as Triton writes it\nname: "to_pbtxt"\nmax_batch_size: 4\n');
    fs.rmSync(path.join(t.repo, 'to_pbtxt', 'config.json'));
    await t.server.repository.poll();
    expect(versionsOf('to_pbtxt').get(1), 'the same version serves').to.equal(before.get(1));

    fs.writeFileSync(pbtxt, 'max_batch_size: 4\ndynamic_batching { max_queue_delay_microseconds: 300 }\n');
    await t.server.repository.poll();
    expect(versionsOf('to_pbtxt').get(1), 'version 1 is a new load').not.to.equal(before.get(1));
    const { config } = await t.client.unary<{ config: { dynamic_batching?: { max_queue_delay_microseconds: string } } }>('ModelConfig', { name: 'to_pbtxt' });
    expect(config.dynamic_batching?.max_queue_delay_microseconds).to.equal('300');
    expectComputedBy(await inferVersioned(t.client, 'to_pbtxt'), 1);
  });

  it('reloads a version whose model.onnx was rewritten in place, same size, new weights', async () => {
    const file = path.join(t.repo, 'rewritten', '1', 'model.onnx');
    const replacement = versionedModel(4);
    expect(replacement.byteLength, 'the same size: only the modification time tells').to.equal(fs.statSync(file).size);
    fs.writeFileSync(file, replacement);
    await t.server.repository.poll();
    const res = await inferVersioned(t.client, 'rewritten');
    expect(res.model_version).to.equal('1');
    expect(computedBy(res), "the version whose weights answer: the new file's").to.equal(4);
  });

  it('answers RepositoryModelLoad and RepositoryModelUnload with UNAVAILABLE, as Triton does outside explicit mode', async () => {
    const refusal = "explicit model load / unload is not allowed in model control mode 'poll'";
    await expectRpcError(loadModel(t.client, 'grows'), status.UNAVAILABLE, refusal);
    await expectRpcError(unloadModel(t.client, 'grows'), status.UNAVAILABLE, refusal);
    expectComputedBy(await inferVersioned(t.client, 'grows'), 2);
  });
});

describe('e2e model control mode poll, on its timer', function () {
  this.timeout(60_000);
  let t: RepositoryServer;

  before(async () => {
    t = await serveRepository([{ name: 'timed', config: BATCHING, versions: new Map([[1, versionedModel(1)]]) }], { MODEL_CONTROL_MODE: 'poll', REPOSITORY_POLL_SECONDS: '1' });
  });

  after(async () => t?.stop());

  it('picks up a new version within a few polls of REPOSITORY_POLL_SECONDS=1, without being asked', async () => {
    writeModelFile(t.repo, 'timed', 2, versionedModel(2));
    const metadata = (): Promise<{ versions: string[] }> => t.client.unary<{ versions: string[] }>('ModelMetadata', { name: 'timed' });
    await waitFor('version 2 to replace version 1', metadata, (m) => m.versions.join() === '2', 20_000);
    expectComputedBy(await inferVersioned(t.client, 'timed'), 2);
  });
});
