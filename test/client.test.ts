/**
 * The TypeScript client (src/client/, `onnx-grpc-server/client`) against the real server: every
 * datatype through type_echo, metadata, readiness and statistics, errors, deadlines, retries
 * against a server that sheds load, and the routing key of a canary rollout.
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { InferenceClient, InferenceClientError, type InferenceClientOptions, type StreamRequest, type TensorData, type TensorValue } from '../src/client';
import { freePort } from '../scripts/bench/free-port';
import { SLOW_FEATURES, slowReference, sizedSlowModel, writeSlowToLoadRepository } from './support/batching-slow-model';
import { removeDir } from './support/e2e-helpers';
import { affineReference, serveRepository, type RepositoryServer } from './support/generated-models';

import { REPO_ROOT, startTestServer, type TestServer } from './support/server';
import { versionedModel, weightsOf, WIDTH, X } from './support/repository-client';

/** A client that counts the calls it starts (its attempts), through a grpc-js interceptor. */
function countingClient(port: number, options: InferenceClientOptions = {}): { client: InferenceClient; attempts: () => number } {
  let attempts = 0;
  const count: grpc.Interceptor = (callOptions, nextCall) => {
    attempts++;
    return new grpc.InterceptingCall(nextCall(callOptions));
  };
  const client = new InferenceClient(`127.0.0.1:${port}`, { ...options, grpcOptions: { ...options.grpcOptions, interceptors: [count] } });
  return { client, attempts: () => attempts };
}

/** Float outputs against a reference computed in JavaScript: float32 rounding apart, equal. */
function expectClose(actual: TensorData, expected: Float32Array, what: string): void {
  expect(actual, what).to.be.instanceOf(Float32Array);
  expect(actual.length, what).to.equal(expected.length);
  expected.forEach((value, i) => expect((actual as Float32Array)[i], `${what} [${i}]`).to.be.closeTo(value, 1e-4));
}

async function thrown(call: Promise<unknown>): Promise<InferenceClientError> {
  try {
    await call;
  } catch (err) {
    expect(err).to.be.instanceOf(InferenceClientError);
    return err as InferenceClientError;
  }
  return expect.fail('expected the call to throw');
}

describe('client: InferenceClient against the real server', function () {
  this.timeout(120_000);

  describe('bundled models', () => {
    let t: TestServer;
    let client: InferenceClient;

    before(async () => {
      t = await startTestServer();
      client = new InferenceClient(`127.0.0.1:${t.port}`);
    });

    after(async () => {
      client?.close();
      await t?.stop();
    });

    /** Shape [2, 3] for each; the edges of every range, FP16 as its bit patterns (1, max, -0, -2, the least subnormal, 1/3). */
    const inputs: Record<string, TensorValue> = {
      in_bool: Uint8Array.from([1, 0, 1, 0, 0, 1]),
      in_uint8: Uint8Array.from([0, 1, 127, 128, 254, 255]),
      in_int8: Int8Array.from([-128, -1, 0, 1, 64, 127]),
      in_uint16: Uint16Array.from([0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff]),
      in_int16: Int16Array.from([-32768, -1, 0, 1, 1000, 32767]),
      in_uint32: Uint32Array.from([0, 1, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1, 12345]),
      in_int32: Int32Array.from([-(2 ** 31), -1, 0, 1, 2 ** 31 - 1, 7]),
      in_uint64: BigUint64Array.from([0n, 1n, 2n ** 63n, 2n ** 64n - 2n, 2n ** 64n - 1n, 9007199254740993n]),
      in_int64: BigInt64Array.from([-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n, -9007199254740993n]),
      in_fp16: Uint16Array.from([0x3c00, 0x7bff, 0x8000, 0xc000, 0x0001, 0x3555]),
      in_fp32: Float32Array.from([-0, 1.5, -3.25, 3.4028234663852886e38, 1e-45, Math.fround(Math.PI)]),
      in_fp64: Float64Array.from([-0, Math.PI, -1e308, 5e-324, 1 / 3, 2 ** 53 + 2]),
      in_bytes: ['', 'a', 'héllo wörld', 'tab\there', 'x'.repeat(300), '😀'],
    };
    const expectedType: Record<string, string> = {
      bool: 'BOOL', uint8: 'UINT8', int8: 'INT8', uint16: 'UINT16', int16: 'INT16', uint32: 'UINT32', int32: 'INT32',
      uint64: 'UINT64', int64: 'INT64', fp16: 'FP16', fp32: 'FP32', fp64: 'FP64', bytes: 'BYTES',
    };

    it('sends every datatype as raw contents and reads each back exactly, as the same typed array, with its shape', async () => {
      const res = await client.infer('type_echo', inputs, { shape: [2, 3], datatypes: { in_bool: 'BOOL', in_uint16: 'UINT16' }, id: 'all-types' });
      expect(res.modelName).to.equal('type_echo');
      expect(res.modelVersion).to.equal('1');
      expect(res.id).to.equal('all-types');
      expect(Object.keys(res.outputs).sort()).to.deep.equal(Object.keys(expectedType).map((s) => `out_${s}`).sort());
      for (const [suffix, datatype] of Object.entries(expectedType)) {
        const out = res.outputs[`out_${suffix}`];
        const sent = inputs[`in_${suffix}`];
        expect(out.datatype, suffix).to.equal(datatype);
        expect(out.shape, suffix).to.deep.equal([2, 3]);
        expect(out.data.constructor, suffix).to.equal(sent.constructor);
        expect([...out.data], suffix).to.deep.equal([...sent]);
      }
    });

    it('asks for the outputs named, and takes a shape per input', async () => {
      const res = await client.infer(
        'type_echo',
        { ...inputs, in_fp32: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) },
        { shape: [2, 3], shapes: { in_fp32: [2, 4] }, datatypes: { in_bool: 'BOOL', in_uint16: 'UINT16' }, outputs: ['out_fp32', 'out_bytes'] },
      );
      expect(Object.keys(res.outputs).sort()).to.deep.equal(['out_bytes', 'out_fp32']);
      expect(res.outputs.out_fp32.shape).to.deep.equal([2, 4]);
      expect([...res.outputs.out_fp32.data]).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    });

    it('refuses, before sending, an array told a datatype it cannot hold or a shape that does not fit it', async () => {
      const { client: counted, attempts } = countingClient(t.port);
      try {
        await counted.infer('type_echo', { in_fp32: new Float32Array(4) }, { datatypes: { in_fp32: 'INT32' } }).then(
          () => expect.fail('sent'),
          (err: Error) => expect(err.message).to.contain('cannot be sent as INT32'),
        );
        await counted.infer('type_echo', { in_fp32: new Float32Array(4) }, { shape: [3, 2] }).then(
          () => expect.fail('sent'),
          (err: Error) => expect(err.message).to.contain('holds 6 elements, the value has 4'),
        );
        expect(attempts()).to.equal(0);
      } finally {
        counted.close();
      }
    });

    it('never retries a RESOURCE_EXHAUSTED for a message over a size limit, which would fail again', async () => {
      const { client: counted, attempts } = countingClient(t.port, { retries: 5, grpcOptions: { 'grpc.max_receive_message_length': 16 } });
      try {
        const err = await thrown(counted.infer('stock_scorer', { features: new Float32Array(8) }, { shape: [1, 8] }));
        expect(err.codeName).to.equal('RESOURCE_EXHAUSTED');
        expect(err.details).to.match(/message larger than max/);
        expect(err.attempts).to.equal(1);
        expect(attempts(), 'calls started').to.equal(1);
      } finally {
        counted.close();
      }
    });

    it('throws INVALID_ARGUMENT at once, the server\'s message with it, and never retries it', async () => {
      const { client: counted, attempts } = countingClient(t.port, { retries: 5 });
      try {
        const err = await thrown(counted.infer('type_echo', { in_fp32: new Float32Array(6) }, { shape: [2, 3] }));
        expect(err.code).to.equal(grpc.status.INVALID_ARGUMENT);
        expect(err.codeName).to.equal('INVALID_ARGUMENT');
        expect(err.details).to.contain('in_bool');
        expect(err.attempts).to.equal(1);
        expect(attempts(), 'calls started').to.equal(1);
      } finally {
        counted.close();
      }
    });

    it('throws NOT_FOUND for an unknown model, and reports it not ready', async () => {
      expect((await thrown(client.metadata('no_such_model'))).code).to.equal(grpc.status.NOT_FOUND);
      expect(await client.ready('no_such_model')).to.equal(false);
    });

    it('reads metadata, readiness (server and model) and statistics', async () => {
      const meta = await client.metadata('type_echo');
      expect(meta.name).to.equal('type_echo');
      const metaInputs = meta.inputs as { name: string; datatype: string }[];
      expect(metaInputs.find((i) => i.name === 'in_fp16')?.datatype).to.equal('FP16');
      expect(await client.ready()).to.equal(true);
      expect(await client.ready('type_echo')).to.equal(true);
      await client.waitUntilReady({ timeoutMs: 5000 });
      const stats = await client.statistics('type_echo');
      const versionStats = stats.model_stats?.[0] as { name: string; inference_count?: string };
      expect(versionStats.name).to.equal('type_echo');
      expect(Number(versionStats.inference_count)).to.be.at.least(2);
    });
  });

  describe('a slow model and a canary rollout', () => {
    let t: RepositoryServer;
    let client: InferenceClient;
    /** The slow model's mean run time as the server measured it (compute_infer), in ms. */
    let runMs: number;
    const row = (seed: number): Float32Array => Float32Array.from({ length: SLOW_FEATURES }, (_, i) => seed + i / 8);

    before(async () => {
      const slow = new Map([[1, await sizedSlowModel()]]);
      const shedding = { max_batch_size: 1, dynamic_batching: { default_queue_policy: { max_queue_size: 1 } } };
      const rollout = { max_batch_size: 4, version_policy: { all: {} }, rollout: { weights: { '1': 50, '2': 50 }, sticky_parameter: 'user' } };
      t = await serveRepository([
        { name: 'slow', config: { max_batch_size: 1 }, versions: slow },
        { name: 'shedding', config: shedding, versions: slow },
        { name: 'canary', config: rollout, versions: new Map([[1, versionedModel(1)], [2, versionedModel(2)]]) },
      ]);
      client = new InferenceClient(`127.0.0.1:${t.port}`, { routingParameter: 'user' });
      const res = await client.infer('slow', { x: row(1) }, { shape: [1, SLOW_FEATURES] });
      expectClose(res.outputs.y.data, slowReference(row(1)), 'the slow model\'s answer');
      const stats = (await client.statistics('slow')).model_stats?.[0] as { inference_stats: { compute_infer: { count: string; ns: string } } };
      runMs = Number(stats.inference_stats.compute_infer.ns) / Number(stats.inference_stats.compute_infer.count) / 1e6;
    });

    after(async () => {
      client?.close();
      await t?.stop();
    });

    it('throws DEADLINE_EXCEEDED when the deadline is a fraction of the run time', async () => {
      const deadlineMs = Math.max(1, Math.floor(runMs / 4));
      const err = await thrown(client.infer('slow', { x: row(2) }, { shape: [1, SLOW_FEATURES], deadlineMs }));
      expect(err.codeName, `deadline ${deadlineMs} ms for a ${runMs.toFixed(1)} ms run`).to.equal('DEADLINE_EXCEEDED');
    });

    it('retries RESOURCE_EXHAUSTED with backoff until every caller of a shedding model is served', async () => {
      const callers = 5;
      const { client: retrying, attempts } = countingClient(t.port, { retries: 50, initialBackoffMs: runMs / 2, maxBackoffMs: runMs * 4, deadlineMs: 60_000 });
      try {
        const results = await Promise.all(Array.from({ length: callers }, (_, i) => retrying.infer('shedding', { x: row(10 + i) }, { shape: [1, SLOW_FEATURES] })));
        results.forEach((res, i) => expectClose(res.outputs.y.data, slowReference(row(10 + i)), `caller ${i}`));
        // One runs, one waits: at least three of five were shed at first and came back.
        expect(attempts(), 'calls started').to.be.at.least(callers + 3);
      } finally {
        retrying.close();
      }
    });

    it('with retries: 0, a shed caller sees RESOURCE_EXHAUSTED', async () => {
      const { client: once, attempts } = countingClient(t.port, { retries: 0 });
      try {
        const outcomes = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => once.infer('shedding', { x: row(20 + i) }, { shape: [1, SLOW_FEATURES] })));
        const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as InferenceClientError);
        expect(refused.length, 'one runs and one waits at most: the rest are shed').to.be.at.least(2);
        for (const err of refused) {
          expect(err).to.be.instanceOf(InferenceClientError);
          expect(err.codeName).to.equal('RESOURCE_EXHAUSTED');
          expect(err.attempts).to.equal(1);
        }
        expect(attempts()).to.equal(4);
      } finally {
        once.close();
      }
    });

    it('sticks each routing key to one version of a rollout (1,000 keys, twice), computed by that version', async () => {
      const keys = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
      const served = async (): Promise<string[]> => {
        const versions: string[] = [];
        for (let i = 0; i < keys.length; i += 50) {
          const answers = await Promise.all(keys.slice(i, i + 50).map((routingKey) => client.infer('canary', { x: X }, { shape: [2, WIDTH], routingKey })));
          for (const res of answers) {
            const version = Number(res.modelVersion);
            expectClose(res.outputs.y.data, affineReference(X, weightsOf(version)), `computed by version ${version}`);
            versions.push(res.modelVersion);
          }
        }
        return versions;
      };
      const first = await served();
      expect(await served()).to.deep.equal(first);
      expect(new Set(first)).to.deep.equal(new Set(['1', '2']));
    });

    it('streams requests with back-pressure and matches each answer to its request by id, an in-stream error included', async () => {
      const maxInFlight = 4;
      let taken = 0;
      const pulledAhead: number[] = [];
      function* requests(): Generator<StreamRequest> {
        for (let i = 0; i < 40; i++) {
          pulledAhead.push(i - taken);
          // Request 13 names an input the model does not have: an in-stream error, the stream goes on.
          const inputs: Record<string, TensorValue> = { [i === 13 ? 'nope' : 'x']: X };
          yield { inputs, options: { shape: [2, WIDTH], routingKey: `user-${i}`, ...(i % 2 === 0 && { id: `even-${i}` }) } };
        }
      }
      const seen: string[] = [];
      for await (const answer of client.stream('canary', requests(), { maxInFlight })) {
        taken++;
        seen.push(answer.id);
        if (answer.id === '13') {
          expect(answer.error?.details).to.contain('nope');
          continue;
        }
        expect(answer.error).to.equal(undefined);
        expect(answer.result!.id).to.equal(answer.id);
        const version = Number(answer.result!.modelVersion);
        expectClose(answer.result!.outputs.y.data, affineReference(X, weightsOf(version)), `answer ${answer.id} computed by version ${version}`);
      }
      expect(seen).to.deep.equal(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? `even-${i}` : String(i))));
      expect(Math.max(...pulledAhead), 'requests pulled ahead of the answers taken').to.be.at.most(maxInFlight - 1);
    });

    it('pins a version, over the rollout\'s choice', async () => {
      const res = await client.infer('canary', { x: X }, { shape: [2, WIDTH], version: 2, routingKey: 'user-0' });
      expect(res.modelVersion).to.equal('2');
    });
  });

  describe('a server whose model is still loading', () => {
    const LOAD_MS = 2000;
    let repo: string | undefined;
    let starting: Promise<TestServer> | undefined;
    let client: InferenceClient | undefined;

    after(async () => {
      client?.close();
      await (await starting)?.stop();
      removeDir(repo);
    });

    it('waitUntilReady waits for a server not yet listening, then for its model to load; a short timeout ends in DEADLINE_EXCEEDED', async () => {
      repo = await writeSlowToLoadRepository(LOAD_MS);
      const port = await freePort();
      client = new InferenceClient(`127.0.0.1:${port}`);
      let readyAt: number | undefined;
      const waiting = client.waitUntilReady({ timeoutMs: 60_000 }).then(() => (readyAt = Date.now()));
      const short = thrown(client.waitUntilReady({ timeoutMs: 50 }));
      starting = startTestServer({ MODEL_REPOSITORY: repo, GRPC_PORT: String(port) });
      expect((await short).codeName).to.equal('DEADLINE_EXCEEDED');
      // '' is liveness: SERVING once the server listens, while its model still warms up.
      await client.waitUntilReady({ model: '', timeoutMs: 60_000 });
      expect(await client.ready()).to.equal(false);
      expect(await client.ready('slow_to_load')).to.equal(false);
      expect(readyAt, 'waitUntilReady still waiting').to.equal(undefined);
      await waiting;
      expect(await client.ready()).to.equal(true);
      expect(await client.ready('slow_to_load')).to.equal(true);
    });
  });

  describe('the entry point', () => {
    it('resolves onnx-grpc-server/client from the package root through package.json exports', () => {
      const resolved = require.resolve('onnx-grpc-server/client', { paths: [REPO_ROOT] });
      expect(resolved).to.equal(path.join(REPO_ROOT, 'dist', 'src', 'client', 'index.js'));
      // What a CommonJS caller does.
      const loaded = require(resolved) as { InferenceClient: unknown; InferenceClientError: unknown };
      expect(loaded.InferenceClient).to.equal(InferenceClient);
      expect(loaded.InferenceClientError).to.equal(InferenceClientError);
    });

    it('loads nothing of the server: no module outside src/client/, no onnxruntime', () => {
      const script = "require('onnx-grpc-server/client'); console.log(JSON.stringify(Object.keys(require.cache)))";
      const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, encoding: 'utf8' })) as string[];
      const ours = loaded.filter((file) => file.startsWith(path.join(REPO_ROOT, 'dist')));
      expect(ours.length).to.be.above(0);
      for (const file of ours) expect(file).to.contain(path.join('dist', 'src', 'client') + path.sep);
      expect(loaded.filter((file) => file.includes('onnxruntime'))).to.deep.equal([]);
    });
  });
});
