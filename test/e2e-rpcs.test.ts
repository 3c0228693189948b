/**
 * Every RPC of inference.GRPCInferenceService and grpc.health.v1.Health against the bundled models,
 * through the real server, real ONNX Runtime and a real gRPC client.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readInitializers, stockScorerReference, type Weights } from './support/onnx-weights';
import { fp32Bytes, MODELS_DIR, readFp32, REPO_ROOT, startTestServer, type TestServer } from './support/server';
import {
  aligned, createHealthClient, expectRpcError, frameBytes, makeTempDir, removeDir, typedEchoModel, unframeBytes, writeModelFile, type HealthClient,
} from './support/e2e-helpers';

interface WireTensorMeta { name: string; datatype: string; shape: string[] }
interface InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: WireTensorMeta[];
  raw_output_contents: Buffer[];
}
interface MetadataResponse { name: string; versions: string[]; platform: string; inputs: WireTensorMeta[]; outputs: WireTensorMeta[] }
interface ConfigTensor { name: string; data_type: string; dims: string[] }
interface ConfigResponse {
  config: {
    name: string;
    platform: string;
    backend?: string;
    max_batch_size?: number;
    input: ConfigTensor[];
    output: ConfigTensor[];
    dynamic_batching?: { max_queue_delay_microseconds?: string };
    instance_group?: { count: number; kind: string }[];
  };
}
interface DurationMsg { count: string; ns: string }
interface StatsEntry {
  name: string;
  version: string;
  last_inference: string;
  inference_count: string;
  execution_count: string;
  inference_stats: Record<'success' | 'fail' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output', DurationMsg>;
  batch_stats?: { batch_size: string; compute_infer: DurationMsg }[];
}

const BUNDLED = fs.readdirSync(MODELS_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

/** Five rows of eight plausible stock features (see scripts/make-models.ts), row-major. */
const FEATURE_ROWS = [
  [0.01, 0.1, 0.25, 18, 3, 22, 0.02, 1],
  [-0.12, -0.4, 0.6, 45, 0.8, 19.5, 0, 3.2],
  [0.2, 0.9, 0.1, 5.5, 7.2, 25.1, 0.06, 0.3],
  [0, 0, 0, 0, 0, 0, 0, 0],
  [0.05, -0.05, 0.33, 12.25, 1.5, 23.75, 0.011, 0.95],
];
const FEATURES = Float32Array.from(FEATURE_ROWS.flat());

function output(res: InferResponse, name: string): { meta: WireTensorMeta; raw: Buffer } {
  const i = res.outputs.findIndex((o) => o.name === name);
  expect(i, `output '${name}' in [${res.outputs.map((o) => o.name).join(', ')}]`).to.be.at.least(0);
  return { meta: res.outputs[i], raw: res.raw_output_contents[i] };
}

function expectClose(actual: Float32Array, expected: Float32Array, tolerance: number, what: string): void {
  expect(actual.length, `${what} length`).to.equal(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`).to.be.at.most(tolerance);
  }
}

/** Raw little-endian bytes of a typed array. */
function bytesOf(array: ArrayBufferView): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * One case per datatype for type_echo: four elements (two rows of two), extreme values included,
 * the typed-contents form where the protocol has one, and the exact bytes expected back.
 */
interface EchoCase {
  readonly datatype: string;
  readonly suffix: string;
  readonly raw: Buffer;
  readonly contents?: Record<string, unknown>;
  /** What raw_output_contents must hold, byte for byte. */
  readonly expectedRaw: Buffer;
}

const UTF8_STRINGS = ['', 'hello', 'héllo wörld ✓ 株価', 'x'.repeat(300)];

const ECHO_CASES: readonly EchoCase[] = (() => {
  const numeric = (datatype: string, array: ArrayBufferView, contents?: Record<string, unknown>): EchoCase => ({
    datatype, suffix: datatype.toLowerCase(), raw: bytesOf(array), contents, expectedRaw: bytesOf(array),
  });
  const int64 = [-(2n ** 63n), -(2n ** 53n) - 1n, 2n ** 53n + 1n, 2n ** 63n - 1n];
  const uint64 = [0n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
  const fp32 = [1.5, -3.25, 3.4028234663852886e38, 1.401298464324817e-45];
  const fp64 = [0.1, -1e308, 5e-324, Number.MAX_VALUE];
  const framed = frameBytes(UTF8_STRINGS.map((s) => Buffer.from(s, 'utf8')));
  return [
    numeric('BOOL', Uint8Array.from([1, 0, 0, 1]), { bool_contents: [true, false, false, true] }),
    numeric('UINT8', Uint8Array.from([0, 1, 254, 255]), { uint_contents: [0, 1, 254, 255] }),
    numeric('INT8', Int8Array.from([-128, -1, 0, 127]), { int_contents: [-128, -1, 0, 127] }),
    numeric('UINT16', Uint16Array.from([0, 1, 65534, 65535]), { uint_contents: [0, 1, 65534, 65535] }),
    numeric('INT16', Int16Array.from([-32768, -1, 0, 32767]), { int_contents: [-32768, -1, 0, 32767] }),
    numeric('UINT32', Uint32Array.from([0, 1, 4294967294, 4294967295]), { uint_contents: [0, 1, 4294967294, 4294967295] }),
    numeric('INT32', Int32Array.from([-2147483648, -1, 0, 2147483647]), { int_contents: [-2147483648, -1, 0, 2147483647] }),
    numeric('UINT64', BigUint64Array.from(uint64), { uint64_contents: uint64.map(String) }),
    numeric('INT64', BigInt64Array.from(int64), { int64_contents: int64.map(String) }),
    // FP16 bit patterns: 1.0, -2.0, 65504 (max), smallest subnormal. No typed field exists for FP16.
    numeric('FP16', Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001])),
    numeric('FP32', Float32Array.from(fp32), { fp32_contents: fp32 }),
    numeric('FP64', Float64Array.from(fp64), { fp64_contents: fp64 }),
    {
      datatype: 'BYTES', suffix: 'bytes', raw: framed,
      contents: { bytes_contents: UTF8_STRINGS.map((s) => Buffer.from(s, 'utf8')) }, expectedRaw: framed,
    },
  ];
})();

/** BigInt-aware rendering of an output, for readable failure messages. */
function decoded(datatype: string, raw: Buffer): string {
  const buffer = aligned(raw);
  switch (datatype) {
    case 'INT64': return new BigInt64Array(buffer).join(',');
    case 'UINT64': return new BigUint64Array(buffer).join(',');
    case 'BYTES': return JSON.stringify(unframeBytes(raw).map((b) => b.toString('utf8')));
    default: return raw.toString('hex');
  }
}

function expectEchoed(res: InferResponse, cases: readonly EchoCase[]): void {
  expect(res.outputs.map((o) => o.name).sort()).to.deep.equal(cases.map((c) => `out_${c.suffix}`).sort());
  for (const c of cases) {
    const { meta, raw } = output(res, `out_${c.suffix}`);
    expect(meta.datatype, c.datatype).to.equal(c.datatype);
    expect(meta.shape, c.datatype).to.deep.equal(['2', '2']);
    expect(decoded(c.datatype, raw), c.datatype).to.equal(decoded(c.datatype, c.expectedRaw));
    expect(Buffer.compare(Buffer.from(raw), c.expectedRaw), `${c.datatype} bytes`).to.equal(0);
  }
}

describe('e2e: RPCs against the bundled models', function () {
  this.timeout(30000);
  let t: TestServer;
  let health: HealthClient;
  let weights: Weights;
  let reference: { score: Float32Array; standardized: Float32Array };

  before(async () => {
    t = await startTestServer();
    health = createHealthClient(t.port);
    weights = readInitializers(path.join(MODELS_DIR, 'stock_scorer', '1', 'model.onnx'));
    reference = stockScorerReference(FEATURES, FEATURE_ROWS.length, weights);
  });
  after(async () => {
    health?.close();
    await t?.stop();
  });

  const infer = (request: object) => t.client.unary<InferResponse>('ModelInfer', request);
  const scorerRaw = (extra: object = {}) =>
    infer({
      model_name: 'stock_scorer',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [FEATURE_ROWS.length, 8] }],
      raw_input_contents: [fp32Bytes(FEATURES)],
      ...extra,
    });

  describe('server health and metadata', () => {
    it('answers ServerLive with live true', async () => {
      expect(await t.client.unary('ServerLive', {})).to.deep.equal({ live: true });
    });

    it('answers ServerReady with ready true once every bundled model is loaded', async () => {
      expect(await t.client.unary('ServerReady', {})).to.deep.equal({ ready: true });
    });

    it('answers ServerMetadata with the server name, the package version and the protocol extensions', async () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
      const res = await t.client.unary<{ name: string; version: string; extensions: string[] }>('ServerMetadata', {});
      expect(res.name).to.equal(pkg.name);
      expect(res.version).to.equal(pkg.version);
      expect(res.extensions).to.include.members(['classification', 'model_configuration', 'model_repository', 'statistics']);
    });

    it("reports SERVING from grpc.health.v1 Check for the whole server ('')", async () => {
      expect(await health.check('')).to.equal('SERVING');
    });

    it("reports SERVING from grpc.health.v1 Check for 'inference.GRPCInferenceService'", async () => {
      expect(await health.check('inference.GRPCInferenceService')).to.equal('SERVING');
    });

    it('answers UNIMPLEMENTED for the Triton RPCs that are declared but not served yet', async () => {
      await expectRpcError(t.client.unary('SystemSharedMemoryStatus', {}), grpc.status.UNIMPLEMENTED);
      await expectRpcError(t.client.unary('CudaSharedMemoryStatus', {}), grpc.status.UNIMPLEMENTED);
    });
  });

  describe('ModelReady', () => {
    for (const model of BUNDLED) {
      it(`is true for the bundled model ${model}`, async () => {
        expect(await t.client.unary('ModelReady', { name: model })).to.deep.include({ ready: true });
      });
    }

    it("is true for stock_scorer when version '1' is named", async () => {
      expect(await t.client.unary('ModelReady', { name: 'stock_scorer', version: '1' })).to.deep.include({ ready: true });
    });

    it('is false for a model that does not exist', async () => {
      const res = await t.client.unary<{ ready?: boolean }>('ModelReady', { name: 'no_such_model' });
      expect(res.ready ?? false).to.equal(false);
    });

    it('is false for a version of stock_scorer that does not exist', async () => {
      const res = await t.client.unary<{ ready?: boolean }>('ModelReady', { name: 'stock_scorer', version: '7' });
      expect(res.ready ?? false).to.equal(false);
    });
  });

  describe('ModelMetadata', () => {
    it('describes stock_scorer with -1 for the batch dimension', async () => {
      expect(await t.client.unary<MetadataResponse>('ModelMetadata', { name: 'stock_scorer' })).to.deep.equal({
        name: 'stock_scorer',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'features', datatype: 'FP32', shape: ['-1', '8'] }],
        outputs: [
          { name: 'score', datatype: 'FP32', shape: ['-1', '1'] },
          { name: 'standardized', datatype: 'FP32', shape: ['-1', '8'] },
        ],
      });
    });

    it('describes the auto-configured digit_cnn from its ONNX file', async () => {
      expect(await t.client.unary<MetadataResponse>('ModelMetadata', { name: 'digit_cnn' })).to.deep.equal({
        name: 'digit_cnn',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'image', datatype: 'FP32', shape: ['-1', '1', '8', '8'] }],
        outputs: [{ name: 'logits', datatype: 'FP32', shape: ['-1', '10'] }],
      });
    });

    it('describes every type_echo tensor with its datatype and -1 for both the batch and the variable dimension', async () => {
      const res = await t.client.unary<MetadataResponse>('ModelMetadata', { name: 'type_echo' });
      expect(res.versions).to.deep.equal(['1']);
      expect(res.inputs).to.deep.equal(ECHO_CASES.map((c) => ({ name: `in_${c.suffix}`, datatype: c.datatype, shape: ['-1', '-1'] })));
      expect(res.outputs).to.deep.equal(ECHO_CASES.map((c) => ({ name: `out_${c.suffix}`, datatype: c.datatype, shape: ['-1', '-1'] })));
    });

    it("gives the same answer when version '1' is named", async () => {
      const named = await t.client.unary('ModelMetadata', { name: 'stock_scorer', version: '1' });
      expect(named).to.deep.equal(await t.client.unary('ModelMetadata', { name: 'stock_scorer' }));
    });
  });

  describe('ModelConfig', () => {
    it('returns stock_scorer\'s config.json: max_batch_size 64, TYPE_FP32 tensors without the batch dim, dynamic batching', async () => {
      const { config } = await t.client.unary<ConfigResponse>('ModelConfig', { name: 'stock_scorer' });
      expect(config.name).to.equal('stock_scorer');
      expect(config.platform).to.equal('onnxruntime_onnx');
      expect(config.max_batch_size).to.equal(64);
      expect(config.input).to.deep.equal([{ name: 'features', data_type: 'TYPE_FP32', dims: ['8'] }]);
      expect(config.output).to.deep.equal([
        { name: 'score', data_type: 'TYPE_FP32', dims: ['1'] },
        { name: 'standardized', data_type: 'TYPE_FP32', dims: ['8'] },
      ]);
      expect(config.dynamic_batching?.max_queue_delay_microseconds).to.equal('200');
    });

    it('returns a config auto-completed from the ONNX file for digit_cnn, which has no config.json', async () => {
      const { config } = await t.client.unary<ConfigResponse>('ModelConfig', { name: 'digit_cnn' });
      expect(config.name).to.equal('digit_cnn');
      expect(config.platform).to.equal('onnxruntime_onnx');
      expect(config.max_batch_size).to.equal(4);
      expect(config.input).to.deep.equal([{ name: 'image', data_type: 'TYPE_FP32', dims: ['1', '8', '8'] }]);
      expect(config.output).to.deep.equal([{ name: 'logits', data_type: 'TYPE_FP32', dims: ['10'] }]);
      expect(config.dynamic_batching, 'auto-config turns dynamic batching on').to.be.an('object');
    });

    it('reports instance_group kind KIND_CPU from the provider in use, for a config.json that says KIND_CPU and for an auto-configured model', async () => {
      for (const model of ['stock_scorer', 'digit_cnn']) {
        const { config } = await t.client.unary<ConfigResponse>('ModelConfig', { name: model });
        expect(config.instance_group?.map((g) => g.kind), model).to.deep.equal(['KIND_CPU']);
      }
    });

    it('spells BYTES as TYPE_STRING in type_echo\'s config', async () => {
      const { config } = await t.client.unary<ConfigResponse>('ModelConfig', { name: 'type_echo' });
      expect(config.max_batch_size).to.equal(8);
      expect(config.input.find((i) => i.name === 'in_bytes')).to.deep.equal({ name: 'in_bytes', data_type: 'TYPE_STRING', dims: ['-1'] });
      expect(config.input.find((i) => i.name === 'in_fp16')).to.deep.equal({ name: 'in_fp16', data_type: 'TYPE_FP16', dims: ['-1'] });
    });
  });

  describe('the model repository extension in model control mode none (the default)', () => {
    it('lists every bundled model in RepositoryIndex with its versions READY', async () => {
      const res = await t.client.unary<{ models: { name: string; version: string; state: string }[] }>('RepositoryIndex', {});
      expect(res.models.map((m) => [m.name, m.version, m.state])).to.deep.equal(BUNDLED.map((name) => [name, '1', 'READY']));
    });

    it('answers RepositoryModelLoad and RepositoryModelUnload with UNAVAILABLE, as Triton does, and changes nothing', async () => {
      const refusal = "explicit model load / unload is not allowed in model control mode 'none'";
      await expectRpcError(t.client.unary('RepositoryModelLoad', { model_name: 'stock_scorer' }), grpc.status.UNAVAILABLE, refusal);
      await expectRpcError(t.client.unary('RepositoryModelUnload', { model_name: 'stock_scorer' }), grpc.status.UNAVAILABLE, refusal);
      expect(await t.client.unary('ModelReady', { name: 'stock_scorer' })).to.deep.include({ ready: true });
    });
  });

  describe('ModelStatistics', () => {
    const stats = async (name: string): Promise<StatsEntry[]> =>
      (await t.client.unary<{ model_stats: StatsEntry[] }>('ModelStatistics', { name })).model_stats;

    it('has one entry per bundled model when no model is named', async () => {
      expect((await stats('')).map((s) => s.name).sort()).to.deep.equal(BUNDLED);
    });

    it('counts a request of 5 rows as one success, 5 inferences and one execution, with durations', async () => {
      const [before] = await stats('stock_scorer');
      await scorerRaw();
      const [after] = await stats('stock_scorer');
      expect(after.name).to.equal('stock_scorer');
      expect(after.version).to.equal('1');
      const delta = (a: string, b: string) => Number(a) - Number(b);
      expect(delta(after.inference_count, before.inference_count)).to.equal(5);
      expect(delta(after.execution_count, before.execution_count)).to.equal(1);
      expect(delta(after.inference_stats.success.count, before.inference_stats.success.count)).to.equal(1);
      expect(Number(after.inference_stats.success.ns)).to.be.greaterThan(Number(before.inference_stats.success.ns));
      expect(Number(after.inference_stats.compute_infer.ns)).to.be.greaterThan(0);
      expect(Number(after.last_inference)).to.be.closeTo(Date.now(), 60_000);
      expect(after.batch_stats?.map((b) => b.batch_size)).to.include('5');
    });
  });

  describe('ModelInfer on stock_scorer', () => {
    it('matches the independent reference forward pass within 1e-5, sent as raw_input_contents', async () => {
      const res = await scorerRaw();
      const score = output(res, 'score');
      const standardized = output(res, 'standardized');
      expect(score.meta).to.deep.equal({ name: 'score', datatype: 'FP32', shape: ['5', '1'] });
      expect(standardized.meta).to.deep.equal({ name: 'standardized', datatype: 'FP32', shape: ['5', '8'] });
      expectClose(readFp32(score.raw), reference.score, 1e-5, 'score');
      expectClose(readFp32(standardized.raw), reference.standardized, 1e-5, 'standardized');
    });

    it('matches the independent reference forward pass within 1e-5, sent as typed fp32_contents', async () => {
      const res = await infer({
        model_name: 'stock_scorer',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [FEATURE_ROWS.length, 8], contents: { fp32_contents: Array.from(FEATURES) } }],
      });
      expect(output(res, 'score').meta.shape).to.deep.equal(['5', '1']);
      expectClose(readFp32(output(res, 'score').raw), reference.score, 1e-5, 'score');
      expectClose(readFp32(output(res, 'standardized').raw), reference.standardized, 1e-5, 'standardized');
    });

    it('gives a row the same score alone as inside a batch', async () => {
      const res = await infer({
        model_name: 'stock_scorer',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 8] }],
        raw_input_contents: [fp32Bytes(FEATURE_ROWS[2])],
      });
      expectClose(readFp32(output(res, 'score').raw), reference.score.subarray(2, 3), 1e-5, 'score');
    });

    it("returns only 'score' when only 'score' is requested", async () => {
      const res = await scorerRaw({ outputs: [{ name: 'score' }] });
      expect(res.outputs.map((o) => o.name)).to.deep.equal(['score']);
      expect(res.raw_output_contents).to.have.length(1);
      expectClose(readFp32(res.raw_output_contents[0]), reference.score, 1e-5, 'score');
    });

    it('echoes the request id', async () => {
      expect((await scorerRaw({ id: 'req-42/ü' })).id).to.equal('req-42/ü');
    });

    it('echoes the model name', async () => {
      expect((await scorerRaw()).model_name).to.equal('stock_scorer');
    });

    it("answers model_version '1' when the request names no version", async () => {
      expect((await scorerRaw()).model_version).to.equal('1');
    });

    it("answers model_version '1' when the request names version '1'", async () => {
      expect((await scorerRaw({ model_version: '1' })).model_version).to.equal('1');
    });
  });

  describe('ModelInfer on digit_cnn (auto-configured)', () => {
    const images = Float32Array.from({ length: 3 * 64 }, (_, i) => ((i * 37) % 64) / 64);

    it('maps a batch of 3 images to logits of shape [3, 10]', async () => {
      const res = await infer({
        model_name: 'digit_cnn',
        inputs: [{ name: 'image', datatype: 'FP32', shape: [3, 1, 8, 8] }],
        raw_input_contents: [fp32Bytes(images)],
      });
      const logits = output(res, 'logits');
      expect(logits.meta).to.deep.equal({ name: 'logits', datatype: 'FP32', shape: ['3', '10'] });
      const values = readFp32(logits.raw);
      expect(values).to.have.length(30);
      for (const v of values) expect(Number.isFinite(v)).to.equal(true);
    });

    it('gives an image the same logits alone as inside a batch', async () => {
      const batch = await infer({
        model_name: 'digit_cnn',
        inputs: [{ name: 'image', datatype: 'FP32', shape: [3, 1, 8, 8] }],
        raw_input_contents: [fp32Bytes(images)],
      });
      const alone = await infer({
        model_name: 'digit_cnn',
        inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 1, 8, 8], contents: { fp32_contents: Array.from(images.subarray(64, 128)) } }],
      });
      expect(output(alone, 'logits').meta.shape).to.deep.equal(['1', '10']);
      expectClose(readFp32(output(alone, 'logits').raw), readFp32(output(batch, 'logits').raw).subarray(10, 20), 1e-5, 'logits');
    });
  });

  describe('ModelInfer on type_echo: every datatype comes back exactly', () => {
    const echoRequest = (cases: readonly EchoCase[], form: 'raw' | 'typed') => ({
      model_name: 'type_echo',
      inputs: cases.map((c) => ({
        name: `in_${c.suffix}`,
        datatype: c.datatype,
        shape: [2, 2],
        ...(form === 'typed' && c.contents && { contents: c.contents }),
      })),
      ...(form === 'raw' && { raw_input_contents: cases.map((c) => c.raw) }),
    });

    it('echoes every datatype sent as raw_input_contents, INT64/UINT64 beyond 2^53, FP16 bits and framed BYTES included', async () => {
      expectEchoed(await infer(echoRequest(ECHO_CASES, 'raw')), ECHO_CASES);
    });

    it('echoes every datatype with a typed contents field sent as typed contents, with FP16 as an empty tensor that needs none', async () => {
      // All 13 inputs are required, and FP16 has no typed field: an empty FP16 tensor carries no data,
      // so, like any other empty tensor, it must not need contents (Triton accepts it).
      const typed = ECHO_CASES.filter((c) => c.contents !== undefined);
      const request = echoRequest(typed, 'typed');
      request.inputs.push({ name: 'in_fp16', datatype: 'FP16', shape: [2, 0] });
      const res = await infer(request);
      expect(output(res, 'out_fp16').meta.shape).to.deep.equal(['2', '0']);
      expect(output(res, 'out_fp16').raw).to.have.length(0);
      expectEchoed({ ...res, outputs: res.outputs.filter((o) => o.name !== 'out_fp16'), raw_output_contents: res.raw_output_contents.filter((_, i) => res.outputs[i].name !== 'out_fp16') }, typed);
    });

    it('frames each BYTES output element as a 4-byte little-endian length followed by its bytes', async () => {
      const res = await infer(echoRequest(ECHO_CASES, 'raw'));
      const elements = unframeBytes(output(res, 'out_bytes').raw);
      expect(elements.map((e) => e.toString('utf8'))).to.deep.equal(UTF8_STRINGS);
    });

    it('never alters a BYTES element holding a NUL byte: it is echoed exactly or rejected with INVALID_ARGUMENT', async () => {
      await expectBytesPreservedOrRejected(Buffer.from('a\u0000b', 'utf8'));
    });

    it('never alters a BYTES element that is not valid UTF-8: it is echoed exactly or rejected with INVALID_ARGUMENT', async () => {
      await expectBytesPreservedOrRejected(Buffer.from([0xff, 0xfe, 0x80, 0x41]));
    });

    async function expectBytesPreservedOrRejected(element: Buffer): Promise<void> {
      const cases = ECHO_CASES.map((c) => (c.datatype === 'BYTES' ? { ...c, raw: frameBytes([element, element, element, element]) } : c));
      let res: InferResponse;
      try {
        res = await infer(echoRequest(cases, 'raw'));
      } catch (err) {
        const e = err as { code: number; details: string };
        expect(e.code, e.details).to.equal(3 /* INVALID_ARGUMENT */);
        expect(e.details).to.contain('in_bytes');
        return;
      }
      const echoed = unframeBytes(output(res, 'out_bytes').raw);
      expect(echoed.map((b) => b.toString('hex'))).to.deep.equal([element, element, element, element].map((b) => b.toString('hex')));
    }
  });

  describe('ModelInfer with typed contents for every datatype that has them (typed_echo, built on the fly)', () => {
    let repo: string;
    let typedServer: TestServer;
    const typed = ECHO_CASES.filter((c) => c.contents !== undefined);

    before(async () => {
      repo = makeTempDir('e2e-typed-echo');
      writeModelFile(repo, 'typed_echo', 1, typedEchoModel());
      typedServer = await startTestServer({ MODEL_REPOSITORY: repo });
    });
    after(async () => {
      await typedServer?.stop();
      removeDir(repo);
    });

    it('echoes BOOL, the integer types, INT64/UINT64 beyond 2^53, FP32, FP64 and BYTES sent as typed contents, exactly', async () => {
      const res = await typedServer.client.unary<InferResponse>('ModelInfer', {
        model_name: 'typed_echo',
        inputs: typed.map((c) => ({ name: `in_${c.suffix}`, datatype: c.datatype, shape: [2, 2], contents: c.contents })),
      });
      expectEchoed(res, typed);
    });
  });
});
