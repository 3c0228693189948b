/**
 * Model control mode 'explicit': --load-model at start, then only RepositoryModelLoad and
 * RepositoryModelUnload change what is loaded; the 'config' parameter; refusals; readiness
 * follows the models asked for. One model per test where a test changes what is loaded.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import type { ServedVersion } from '../src/repository/model-version';
import { createHealthClient, expectRpcError, writeModelFile } from './support/e2e-helpers';
import { serveRepository, type RepositoryServer } from './support/generated-models';
import {
  configParameter, expectComputedBy, inferVersioned, loadModel, repositoryIndex, unloadModel, versionedModel, versionStates, WIDTH,
} from './support/repository-client';
import { waitFor } from './support/wait-for';

const BATCHING = { max_batch_size: 4 };
const ALL = { ...BATCHING, version_policy: { all: {} } };
const v = (...versions: number[]) => new Map(versions.map((n) => [n, versionedModel(n)]));

interface ConfigResponse {
  config: {
    version_policy?: object;
    dynamic_batching?: { max_queue_delay_microseconds: string };
    instance_group: { count: number; kind: string }[];
  };
}

describe('e2e model control mode explicit', function () {
  this.timeout(60_000);
  let t: RepositoryServer;

  before(async () => {
    t = await serveRepository(
      [
        { name: 'preloaded', config: BATCHING, versions: v(1) },
        { name: 'on_demand', config: ALL, versions: v(1, 2) },
        { name: 'overridden', config: BATCHING, versions: v(1, 2) },
        { name: 'kept', config: BATCHING, versions: v(1) },
        { name: 'broken', config: BATCHING, versions: new Map([[1, Buffer.from('not ONNX')]]) },
        { name: 'to_unload', config: BATCHING, versions: v(1) },
        { name: 'stuck', config: BATCHING, versions: v(1) },
        { name: 'watched', config: BATCHING, versions: v(1) },
      ],
      { MODEL_CONTROL_MODE: 'explicit', LOAD_MODELS: 'preloaded' },
    );
  });

  after(async () => t?.stop());

  const versionsOf = (model: string): Map<number, ServedVersion> => new Map(t.server.repository.get(model)?.versions);
  const metadataVersions = async (model: string): Promise<string[]> =>
    (await t.client.unary<{ versions: string[] }>('ModelMetadata', { name: model })).versions;
  const modelConfig = async (model: string): Promise<ConfigResponse['config']> => (await t.client.unary<ConfigResponse>('ModelConfig', { name: model })).config;
  const ready = async (name: string): Promise<boolean> => (await t.client.unary<{ ready?: boolean }>('ModelReady', { name })).ready ?? false;
  const serverReady = async (): Promise<boolean> => (await t.client.unary<{ ready?: boolean }>('ServerReady', {})).ready ?? false;

  describe('at start', () => {
    it('loads only the --load-model models; RepositoryIndex lists the others by name alone, as Triton does', async () => {
      expect(t.server.repository.modelNames()).to.deep.equal(['preloaded']);
      expect(await versionStates(t.client, 'preloaded')).to.deep.equal(['1 READY']);
      expect(await repositoryIndex(t.client)).to.deep.include({ name: 'on_demand', version: '', state: '', reason: '' });
      await expectRpcError(inferVersioned(t.client, 'on_demand'), status.NOT_FOUND, "unknown model 'on_demand'");
      expect(await serverReady(), 'ready: every model asked for is').to.equal(true);
    });

    it('lists only READY versions when RepositoryIndex asks for ready ones', async () => {
      const rows = await repositoryIndex(t.client, true);
      expect(rows.every((r) => r.state === 'READY')).to.equal(true);
      expect(rows.map((r) => r.name)).to.include('preloaded');
    });
  });

  describe('on request', () => {
    it('changes nothing when files change on disk, until RepositoryModelLoad asks', async () => {
      writeModelFile(t.repo, 'preloaded', 2, versionedModel(2));
      expectComputedBy(await inferVersioned(t.client, 'preloaded'), 1);
      await loadModel(t.client, 'preloaded');
      expectComputedBy(await inferVersioned(t.client, 'preloaded'), 2);
      expect(await versionStates(t.client, 'preloaded')).to.deep.equal(['1 UNAVAILABLE', '2 READY']);
    });

    it('answers RepositoryModelLoad once the model is loaded and warm, and reloads nothing when asked again with nothing changed', async () => {
      await loadModel(t.client, 'on_demand');
      expectComputedBy(await inferVersioned(t.client, 'on_demand', '1'), 1);
      expectComputedBy(await inferVersioned(t.client, 'on_demand', '2'), 2);
      expect(await versionStates(t.client, 'on_demand')).to.deep.equal(['1 READY', '2 READY']);
      expect(t.server.repository.modelNames()).to.include('on_demand');
      const before = versionsOf('on_demand');
      await loadModel(t.client, 'on_demand');
      for (const [n, version] of versionsOf('on_demand')) expect(version, `version ${n}`).to.equal(before.get(n));
    });

    it("loads with the 'config' parameter in place of config.json, reports the kind of the provider in use, and goes back to config.json on a load without it", async () => {
      await loadModel(t.client, 'overridden', configParameter({
        name: 'overridden',
        ...BATCHING,
        version_policy: { specific: { versions: [1] } },
        dynamic_batching: { max_queue_delay_microseconds: 321 },
        // KIND_AUTO: the server's providers decide (KIND_GPU would fail here without CUDA, as in Triton).
        instance_group: [{ count: 1, kind: 'KIND_AUTO' }],
      }));
      expect(await metadataVersions('overridden')).to.deep.equal(['1']);
      expectComputedBy(await inferVersioned(t.client, 'overridden'), 1);
      const config = await modelConfig('overridden');
      expect(config.dynamic_batching?.max_queue_delay_microseconds).to.equal('321');
      expect(config.instance_group.map((g) => g.kind), 'KIND_AUTO asked for, the CPU provider in use').to.deep.equal(['KIND_CPU']);

      await loadModel(t.client, 'overridden');
      expect(await metadataVersions('overridden'), "config.json's default policy: latest 1").to.deep.equal(['2']);
      // config.json's: no scheduler named, so the default dynamic batcher (no delay), not the override's 321 µs.
      expect(Number((await modelConfig('overridden')).dynamic_batching?.max_queue_delay_microseconds ?? 0)).to.equal(0);
    });

    it('answers INVALID_ARGUMENT naming why when a load fails, and keeps the versions loaded before serving', async () => {
      await loadModel(t.client, 'kept');
      const before = versionsOf('kept');
      await expectRpcError(
        loadModel(t.client, 'kept', configParameter({ ...BATCHING, input: [{ name: 'nope', data_type: 'TYPE_FP32', dims: [WIDTH] }] })),
        status.INVALID_ARGUMENT,
        "load failed for model 'kept': version 1: ",
        "model input 'x' is missing from input",
      );
      expect(versionsOf('kept').get(1)).to.equal(before.get(1));
      expectComputedBy(await inferVersioned(t.client, 'kept'), 1);
      const [row] = (await repositoryIndex(t.client)).filter((r) => r.name === 'kept');
      expect(row.state).to.equal('READY');
      expect(row.reason).to.match(/^reload failed, the versions loaded before keep serving: /);
    });

    it('keeps the server ready when a model asked for at run time fails to load (the caller hears why), and lists the failure', async () => {
      await expectRpcError(loadModel(t.client, 'broken'), status.INVALID_ARGUMENT, "load failed for model 'broken': version 1: ", 'Protobuf parsing failed');
      const [row] = (await repositoryIndex(t.client)).filter((r) => r.name === 'broken');
      expect(row).to.deep.include({ version: '1', state: 'UNAVAILABLE' });
      expect(row.reason).to.contain('Protobuf parsing failed');
      expect(await ready('broken'), 'the model itself').to.equal(false);
      expect(await serverReady(), 'one bad load request must not take every replica out of service').to.equal(true);
      await unloadModel(t.client, 'broken');
      expect(await serverReady()).to.equal(true);
    });

    it("streams the model's health on Watch as it is loaded and unloaded", async () => {
      const health = createHealthClient(t.port);
      const watched: string[] = [];
      const watch = health.watch('watched', (s) => watched.push(s));
      watch.on('error', () => undefined);
      try {
        await waitFor('the first status', () => watched.length, (n) => n > 0);
        await loadModel(t.client, 'watched');
        await waitFor('SERVING', () => watched.at(-1), (s) => s === 'SERVING');
        await unloadModel(t.client, 'watched');
        await waitFor('NOT_SERVING', () => watched.at(-1), (s) => s === 'NOT_SERVING');
        // Unknown before the load (SERVICE_UNKNOWN, as grpc.health.v1 says), NOT_SERVING while it loads.
        expect(watched).to.deep.equal(['SERVICE_UNKNOWN', 'NOT_SERVING', 'SERVING', 'NOT_SERVING']);
        expect(await health.check('watched')).to.equal('NOT_SERVING');
      } finally {
        watch.cancel();
        health.close();
      }
    });

    it('unloads a model: not ready, UNAVAILABLE to requests, its versions listed as unloaded, no longer holding readiness', async () => {
      await loadModel(t.client, 'to_unload');
      const [loaded] = versionsOf('to_unload').values();
      await unloadModel(t.client, 'to_unload');
      expect(loaded.state, 'drained and freed before the answer').to.equal('UNAVAILABLE');
      expect(await ready('to_unload')).to.equal(false);
      await expectRpcError(inferVersioned(t.client, 'to_unload'), status.UNAVAILABLE, "model 'to_unload' has no ready version");
      await expectRpcError(inferVersioned(t.client, 'to_unload', '1'), status.UNAVAILABLE, "model 'to_unload' version 1 is not ready: unloaded");
      expect(await repositoryIndex(t.client)).to.deep.include({ name: 'to_unload', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' });
      expect(t.server.repository.modelNames()).not.to.include('to_unload');
      expect(await serverReady()).to.equal(true);
      await unloadModel(t.client, 'to_unload');
    });

    it('cancels a load still warming up when the model is unloaded: the load gets CANCELLED, the unload goes through, a later load serves', async () => {
      // 10^12 warm-up runs: without the cancel, the unload would wait behind this load for good.
      const endless = { ...BATCHING, model_warmup: [{ name: 'endless', count: 1e12, inputs: { x: { data_type: 'TYPE_FP32', dims: [WIDTH], zero_data: true } } }] };
      const load = loadModel(t.client, 'stuck', configParameter(endless)).then(
        () => undefined,
        (err: unknown) => err,
      );
      await waitFor('the load under way', () => versionStates(t.client, 'stuck'), (states) => states.includes('1 LOADING'));
      await unloadModel(t.client, 'stuck');
      const refused = (await load) as { code: number; details: string } | undefined;
      expect(refused?.code, refused?.details).to.equal(status.CANCELLED);
      expect(refused?.details).to.equal("load of model 'stuck' cancelled: RepositoryModelUnload asked for the model while it loaded");
      expect(await ready('stuck')).to.equal(false);
      await loadModel(t.client, 'stuck');
      expectComputedBy(await inferVersioned(t.client, 'stuck'), 1);
    });
  });

  describe('refusals', () => {
    it('answers NOT_FOUND to a load or unload of a model the repository does not have, and changes nothing', async () => {
      const names = t.server.repository.modelNames();
      await expectRpcError(loadModel(t.client, 'no_such_model'), status.NOT_FOUND, "failed to load 'no_such_model': no model folder 'no_such_model' in the model repository");
      await expectRpcError(unloadModel(t.client, 'no_such_model'), status.NOT_FOUND, "unknown model 'no_such_model'");
      expect(t.server.repository.modelNames()).to.deep.equal(names);
      expect((await repositoryIndex(t.client)).map((r) => r.name)).not.to.include('no_such_model');
    });

    it('answers INVALID_ARGUMENT to a model name that is empty or not a folder name', async () => {
      await expectRpcError(loadModel(t.client, ''), status.INVALID_ARGUMENT, 'model_name is required');
      await expectRpcError(loadModel(t.client, '../preloaded'), status.INVALID_ARGUMENT, "model_name '../preloaded' is not the name of a folder in the model repository");
      await expectRpcError(unloadModel(t.client, '.hidden'), status.INVALID_ARGUMENT, "model_name '.hidden' is not the name of a folder");
    });

    it("answers INVALID_ARGUMENT to a 'config' that is not JSON, not a string or over 1 MiB, to unknown parameters and to a repository_name", async () => {
      const before = versionsOf('preloaded');
      await expectRpcError(loadModel(t.client, 'preloaded', { config: { string_param: '{ nope' } }), status.INVALID_ARGUMENT, "parameter 'config' is not valid JSON");
      await expectRpcError(loadModel(t.client, 'preloaded', { config: { bool_param: true } }), status.INVALID_ARGUMENT, "parameter 'config' must be a string_param");
      // A megabyte of spaces is valid JSON around '{}', and too long before it is parsed.
      const long = `{}${' '.repeat(2 ** 20 - 1)}`;
      await expectRpcError(loadModel(t.client, 'preloaded', { config: { string_param: long } }), status.INVALID_ARGUMENT, "parameter 'config' holds 1048577 characters: expected at most 1048576");
      await expectRpcError(loadModel(t.client, 'preloaded', { colour: { string_param: 'blue' } }), status.INVALID_ARGUMENT, "unknown parameter 'colour'");
      await expectRpcError(unloadModel(t.client, 'preloaded', { colour: { bool_param: true } }), status.INVALID_ARGUMENT, "unknown parameter 'colour'");
      await expectRpcError(t.client.unary('RepositoryModelLoad', { repository_name: 'other', model_name: 'preloaded' }), status.INVALID_ARGUMENT, "repository_name 'other' is not served here");
      await expectRpcError(t.client.unary('RepositoryIndex', { repository_name: 'other' }), status.INVALID_ARGUMENT, "repository_name 'other'");
      const after = versionsOf('preloaded');
      expect([...after.keys()]).to.deep.equal([...before.keys()]);
      for (const [n, version] of after) expect(version, `version ${n} was not reloaded`).to.equal(before.get(n));
    });

    it("answers UNIMPLEMENTED to a model file sent as a 'file:' parameter", async () => {
      await expectRpcError(
        loadModel(t.client, 'preloaded', { ...configParameter(BATCHING), 'file:1/model.onnx': { bytes_param: Buffer.from(versionedModel(3)) } }),
        status.UNIMPLEMENTED,
        "parameter 'file:1/model.onnx'",
      );
    });

    it("accepts unload_dependents, which means nothing here (no ensembles)", async () => {
      await loadModel(t.client, 'to_unload');
      await unloadModel(t.client, 'to_unload', { unload_dependents: { bool_param: true } });
      expect(await ready('to_unload')).to.equal(false);
    });
  });
});

describe("e2e model control mode explicit, --load-model '*'", function () {
  this.timeout(60_000);

  it('loads every model of the repository at start', async () => {
    const t = await serveRepository([{ name: 'a', config: BATCHING, versions: v(1) }, { name: 'b', config: BATCHING, versions: v(2) }], { MODEL_CONTROL_MODE: 'explicit', LOAD_MODELS: '*' });
    try {
      expect(t.server.repository.modelNames()).to.deep.equal(['a', 'b']);
      expectComputedBy(await inferVersioned(t.client, 'b'), 2);
    } finally {
      await t.stop();
    }
  });

  it("refuses to start when '*' comes with other names, as Triton does", async () => {
    let caught: unknown;
    try {
      await (await serveRepository([{ name: 'a', config: BATCHING, versions: v(1) }], { MODEL_CONTROL_MODE: 'explicit', LOAD_MODELS: '*,a' })).stop();
    } catch (err) {
      caught = err;
    }
    expect((caught as Error | undefined)?.message).to.equal("--load-model '*' loads every model and must be the only --load-model");
  });

  it('starts unready when a --load-model model is not in the repository, and says why in RepositoryIndex', async () => {
    const t = await serveRepository([{ name: 'a', config: BATCHING, versions: v(1) }], { MODEL_CONTROL_MODE: 'explicit', LOAD_MODELS: 'a,missing' });
    try {
      expect((await t.client.unary<{ ready?: boolean }>('ServerReady', {})).ready ?? false).to.equal(false);
      expect(await repositoryIndex(t.client)).to.deep.include({
        name: 'missing', version: '', state: 'UNAVAILABLE', reason: "--load-model names 'missing', but the model repository has no folder 'missing'",
      });
      expectComputedBy(await inferVersioned(t.client, 'a'), 1);
    } finally {
      await t.stop();
    }
  });
});
