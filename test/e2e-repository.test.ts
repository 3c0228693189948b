/**
 * The model repository end to end: auto-configured folders, version policies, and a config.json
 * that contradicts its model. One temporary repository holds every case; one real server serves it.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { status } from '@grpc/grpc-js';
import * as ort from '../src/runtime/onnxruntime';
import { fp32Bytes, readFp32, startTestServer, type TestServer } from './support/server';
import { onnxVersion } from './support/onnx-version';
import {
  bundledConfig, bundledModelBytes, expectRpcError, makeTempDir, removeDir, writeModelConfig, writeModelFile,
} from './support/e2e-helpers';

interface InferResponse {
  model_name: string;
  model_version: string;
  outputs: { name: string; datatype: string; shape: string[] }[];
  raw_output_contents: Buffer[];
}
interface MetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: { name: string; datatype: string; shape: string[] }[];
  outputs: { name: string; datatype: string; shape: string[] }[];
}

/** models/stock_scorer/config.json in protobuf's text format, as Triton's config.pbtxt. */
const SCORER_PBTXT = `# stock_scorer, as Triton would read it
name: "pbtxt_scorer"
platform: "onnxruntime_onnx"
max_batch_size: 64
input [
  {
    name: "features"
    data_type: TYPE_FP32
    dims: [ 8 ]
  }
]
output [
  { name: "score", data_type: TYPE_FP32, dims: [ 1 ] },
  { name: "standardized", data_type: TYPE_FP32, dims: [ 8 ] }
]
dynamic_batching { max_queue_delay_microseconds: 200 }
instance_group [ { count: 1, kind: KIND_CPU } ]
`;

/**
 * digit_cnn ([n,1,8,8] -> [n,10]) as clients see it through Triton's reshape: [n,64] -> [n,2,5];
 * the warm-up goes through the reshape too. A request of one row waits (10 minutes at most) for
 * another to make the preferred batch of 2.
 */
const RESHAPED_DIGITS_PBTXT = `max_batch_size: 8
input [ { name: "image" data_type: TYPE_FP32 dims: [ 64 ] reshape { shape: [ 1, 8, -1 ] } } ]
output [ { name: "logits" data_type: TYPE_FP32 dims: [ 2, 5 ] reshape: { shape: [ 10 ] } } ]
dynamic_batching { preferred_batch_size: 2 max_queue_delay_microseconds: 600000000 }
model_warmup [ { name: "zeros" batch_size: 2 inputs { key: "image" value: { data_type: TYPE_FP32 dims: [ 64 ] zero_data: true } } } ]
`;

/** Triton's onnxruntime-backend session settings, each away from the server's default. */
const TUNED_PBTXT = `optimization { graph { level: -1 } }
parameters { key: "intra_op_thread_count" value: { string_value: "2" } }
parameters { key: "inter_op_thread_count" value: { string_value: "2" } }
parameters { key: "execution_mode" value: { string_value: "1" } }
parameters { key: "enable_mem_arena" value: { string_value: "0" } }
parameters { key: "enable_mem_pattern" value: { string_value: "0" } }
`;

function writeConfigPbtxt(repo: string, model: string, text: string): void {
  fs.writeFileSync(path.join(repo, model, 'config.pbtxt'), text);
}

const DIGIT_LABELS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** Two deterministic 8x8 images. */
const IMAGES = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i * 0.37) * 0.5 + 0.5);

describe('e2e: model repository', function () {
  this.timeout(30000);
  let repo: string;
  let t: TestServer;

  before(async () => {
    repo = makeTempDir('e2e-repository');
    const digits = bundledModelBytes('digit_cnn');
    // Auto-configured: nothing but <m>/1/model.onnx.
    writeModelFile(repo, 'my_digits', 1, digits);
    // Versions 1, 2, 3 and no config.json: the default policy is latest 1.
    for (const v of [1, 2, 3]) writeModelFile(repo, 'latest_default', v, digits);
    // The same three versions with every version served.
    for (const v of [1, 2, 3]) writeModelFile(repo, 'all_versions', v, digits);
    writeModelConfig(repo, 'all_versions', { version_policy: { all: {} } });
    for (const v of [1, 2, 3]) writeModelFile(repo, 'specific_versions', v, digits);
    writeModelConfig(repo, 'specific_versions', { version_policy: { specific: { versions: [1, 3] } } });
    for (const v of [1, 2, 3]) writeModelFile(repo, 'latest_two', v, digits);
    writeModelConfig(repo, 'latest_two', { version_policy: { latest: { num_versions: 2 } } });
    // stock_scorer with a config.json that contradicts the model.
    const scorer = bundledModelBytes('stock_scorer');
    const config = bundledConfig('stock_scorer');
    const features = (patch: object) => ({ ...config, input: [{ name: 'features', data_type: 'TYPE_FP32', dims: [8], ...patch }] });
    writeModelFile(repo, 'wrong_type', 1, scorer);
    writeModelConfig(repo, 'wrong_type', { ...features({ data_type: 'TYPE_INT32' }), name: 'wrong_type' });
    writeModelFile(repo, 'wrong_dims', 1, scorer);
    writeModelConfig(repo, 'wrong_dims', { ...features({ dims: [7] }), name: 'wrong_dims' });
    // Folders that print as another number: version 2 is served, '02' and a number past 2^53 are not.
    for (const v of ['02', '2', '99999999999999999999']) writeModelFile(repo, 'odd_folders', v, digits);
    for (const v of ['007', '18446744073709551616']) writeModelFile(repo, 'only_odd_folders', v, digits);
    writeModelFile(repo, 'broken_json', 1, scorer);
    fs.writeFileSync(path.join(repo, 'broken_json', 'config.json'), '{ "max_batch_size": 64, }');
    // The bundled config.json as Triton writes it, and as JSON beside it to compare.
    writeModelFile(repo, 'pbtxt_scorer', 1, scorer);
    writeConfigPbtxt(repo, 'pbtxt_scorer', SCORER_PBTXT);
    writeModelFile(repo, 'json_scorer', 1, scorer);
    writeModelConfig(repo, 'json_scorer', { ...config, name: 'json_scorer' });
    writeModelFile(repo, 'both_configs', 1, scorer);
    writeConfigPbtxt(repo, 'both_configs', SCORER_PBTXT.replace('pbtxt_scorer', 'both_configs'));
    writeModelConfig(repo, 'both_configs', config);
    writeModelFile(repo, 'bad_pbtxt', 1, scorer);
    writeConfigPbtxt(repo, 'bad_pbtxt', 'max_batch_size: 64\ndynamic_batching { max_queue_delay_microseconds: 200 ');
    const logits = (labelFile: string) => ({ output: [{ name: 'logits', data_type: 'TYPE_FP32', dims: [10], label_filename: labelFile }] });
    writeModelFile(repo, 'labelled_digits', 1, digits);
    writeModelConfig(repo, 'labelled_digits', logits('digits.txt'));
    fs.writeFileSync(path.join(repo, 'labelled_digits', 'digits.txt'), `${DIGIT_LABELS.join('\r\n')}\r\n`);
    writeModelFile(repo, 'missing_labels', 1, digits);
    writeModelConfig(repo, 'missing_labels', logits('absent.txt'));
    writeModelFile(repo, 'path_labels', 1, digits);
    writeModelConfig(repo, 'path_labels', logits('../labelled_digits/digits.txt'));
    writeModelFile(repo, 'reshaped_digits', 1, digits);
    writeConfigPbtxt(repo, 'reshaped_digits', RESHAPED_DIGITS_PBTXT);
    writeModelFile(repo, 'two_groups', 1, digits);
    writeConfigPbtxt(repo, 'two_groups', 'instance_group [ { count: 1 kind: KIND_CPU }, { count: 2 kind: KIND_CPU } ]\n');
    writeModelFile(repo, 'tuned_digits', 1, digits);
    writeConfigPbtxt(repo, 'tuned_digits', TUNED_PBTXT);
    writeModelFile(repo, 'pbtxt_wrong_dims', 1, scorer);
    writeConfigPbtxt(repo, 'pbtxt_wrong_dims', 'max_batch_size: 64\ninput { name: "features" data_type: TYPE_FP32 dims: [7] }');
    t = await startTestServer({ MODEL_REPOSITORY: repo });
  });
  after(async () => {
    await t?.stop();
    removeDir(repo);
  });

  const infer = (model: string, version?: string, rows = 1) =>
    t.client.unary<InferResponse>('ModelInfer', {
      model_name: model,
      ...(version !== undefined && { model_version: version }),
      inputs: [{ name: 'image', datatype: 'FP32', shape: [rows, 1, 8, 8] }],
      raw_input_contents: [fp32Bytes(Array.from({ length: rows * 64 }, (_, i) => IMAGES[i % IMAGES.length]))],
    });
  const ready = async (name: string, version = ''): Promise<boolean> =>
    (await t.client.unary<{ ready?: boolean }>('ModelReady', { name, version })).ready ?? false;
  const metadata = (name: string) => t.client.unary<MetadataResponse>('ModelMetadata', { name });
  /** Why a model that must not have loaded did not: it is not ready, and its failures say why. */
  const failureOf = async (name: string): Promise<string> => {
    expect(await ready(name), `${name} is ready`).to.equal(false);
    return t.server.repository.get(name)?.failures.join('; ') ?? '';
  };

  describe('an auto-configured folder holding only <m>/1/model.onnx', () => {
    it('is served and ready', async () => {
      expect(await ready('my_digits')).to.equal(true);
    });

    it('has its metadata read from the ONNX file, under the folder name', async () => {
      expect(await metadata('my_digits')).to.deep.equal({
        name: 'my_digits',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'image', datatype: 'FP32', shape: ['-1', '1', '8', '8'] }],
        outputs: [{ name: 'logits', datatype: 'FP32', shape: ['-1', '10'] }],
      });
    });

    it('gets the default max_batch_size 4 and dynamic batching in its completed config', async () => {
      const { config } = await t.client.unary<{ config: { name: string; max_batch_size: number; dynamic_batching?: object } }>('ModelConfig', { name: 'my_digits' });
      expect(config.name).to.equal('my_digits');
      expect(config.max_batch_size).to.equal(4);
      expect(config.dynamic_batching).to.be.an('object');
    });

    it('answers with the logits ONNX Runtime computes for the same file', async () => {
      const res = await infer('my_digits', undefined, 2);
      expect(res.model_name).to.equal('my_digits');
      expect(res.outputs.map((o) => [o.name, o.shape])).to.deep.equal([['logits', ['2', '10']]]);
      const session = await ort.InferenceSession.create(bundledModelBytes('digit_cnn'));
      try {
        const expected = (await session.run({ image: new ort.Tensor('float32', IMAGES, [2, 1, 8, 8]) })).logits.data as Float32Array;
        const actual = readFp32(res.raw_output_contents[0]);
        expect(actual.length).to.equal(expected.length);
        for (let i = 0; i < expected.length; i++) expect(actual[i]).to.be.closeTo(expected[i], 1e-5);
      } finally {
        await session.release();
      }
    });

    it('rejects a batch above the default max_batch_size with INVALID_ARGUMENT', async () => {
      await expectRpcError(infer('my_digits', undefined, 5), status.INVALID_ARGUMENT, "'image'", 'max_batch_size');
    });
  });

  describe('versions 1, 2, 3 with no config.json (default policy: latest 1)', () => {
    it('lists only version 3 in ModelMetadata', async () => {
      expect((await metadata('latest_default')).versions).to.deep.equal(['3']);
    });

    it('reports version 3 ready and versions 1 and 2 not ready', async () => {
      expect(await ready('latest_default', '3')).to.equal(true);
      expect(await ready('latest_default', '2')).to.equal(false);
      expect(await ready('latest_default', '1')).to.equal(false);
    });

    it("answers a request that names no version with model_version '3'", async () => {
      expect((await infer('latest_default')).model_version).to.equal('3');
    });

    it('answers a request to version 1, which the policy does not serve, with NOT_FOUND', async () => {
      await expectRpcError(infer('latest_default', '1'), status.NOT_FOUND, "'1'", 'latest_default');
    });
  });

  describe('versions 1, 2, 3 with config.json {"version_policy":{"all":{}}}', () => {
    it("lists versions ['1','2','3'] in ModelMetadata", async () => {
      expect((await metadata('all_versions')).versions).to.deep.equal(['1', '2', '3']);
    });

    it('reports every version ready', async () => {
      for (const v of ['1', '2', '3']) expect(await ready('all_versions', v), `version ${v}`).to.equal(true);
    });

    it("answers a request to version '2' with model_version '2'", async () => {
      expect((await infer('all_versions', '2')).model_version).to.equal('2');
    });

    it('answers each version with its own number', async () => {
      for (const v of ['1', '2', '3']) expect((await infer('all_versions', v)).model_version).to.equal(v);
    });

    it("answers a request that names no version with the latest, '3'", async () => {
      expect((await infer('all_versions')).model_version).to.equal('3');
    });
  });

  describe('other version policies', () => {
    it('serves exactly versions 1 and 3 under {"specific":{"versions":[1,3]}}', async () => {
      expect((await metadata('specific_versions')).versions).to.deep.equal(['1', '3']);
      expect((await infer('specific_versions', '1')).model_version).to.equal('1');
      await expectRpcError(infer('specific_versions', '2'), status.NOT_FOUND, "'2'");
    });

    it('serves versions 2 and 3 under {"latest":{"num_versions":2}}', async () => {
      expect((await metadata('latest_two')).versions).to.deep.equal(['2', '3']);
    });
  });

  describe('a config.json that contradicts its model', () => {
    it('keeps a model whose config declares the wrong data_type from loading: ModelReady false', async () => {
      expect(await failureOf('wrong_type')).to.match(/'features'.*FP32.*INT32/);
    });

    it('answers ModelInfer to that model with UNAVAILABLE', async () => {
      await expectRpcError(
        t.client.unary('ModelInfer', {
          model_name: 'wrong_type',
          inputs: [{ name: 'features', datatype: 'INT32', shape: [1, 8] }],
          raw_input_contents: [Buffer.alloc(32)],
        }),
        status.UNAVAILABLE, "'wrong_type'",
      );
    });

    it('keeps a model whose config declares the wrong dims from loading: ModelReady false', async () => {
      expect(await failureOf('wrong_dims')).to.match(/'features'.*\[7\].*\[8\]/);
    });

    it("serves a version folder only under its number as written ('2'), not '02' or one past 2^53", async () => {
      expect((await metadata('odd_folders')).versions).to.deep.equal(['2']);
      expect((await infer('odd_folders')).model_version).to.equal('2');
    });

    it('names the ignored folders, and why, when a model has no other version', async () => {
      expect(await failureOf('only_odd_folders')).to.contain(
        "matches the version policy; ignored: '007' (a leading zero: name it '7'), '18446744073709551616' (past 2^53 - 1, the largest version)",
      );
    });

    it('keeps a model whose config.json is not valid JSON from loading, and only that model', async () => {
      expect(await failureOf('broken_json')).to.match(/^model 'broken_json' config\.json is not valid JSON: /);
    });

    it('makes ServerReady false, since not every model loaded', async () => {
      const res = await t.client.unary<{ ready?: boolean }>('ServerReady', {});
      expect(res.ready ?? false).to.equal(false);
    });

    it('leaves every other model of the repository serving', async () => {
      for (const model of ['my_digits', 'latest_default', 'all_versions', 'specific_versions', 'latest_two', 'odd_folders']) {
        expect(await ready(model), model).to.equal(true);
        expect((await infer(model)).outputs[0].shape, model).to.deep.equal(['1', '10']);
      }
    });
  });
  describe("Triton's classification extension", () => {
    it('answers the top classes of each row, with their labels, as Triton writes them, for the tensor ONNX Runtime computes', async () => {
      const res = await t.client.unary<InferResponse>('ModelInfer', {
        model_name: 'labelled_digits',
        inputs: [{ name: 'image', datatype: 'FP32', shape: [2, 1, 8, 8] }],
        outputs: [{ name: 'logits', parameters: { classification: { int64_param: 3 } } }],
        raw_input_contents: [fp32Bytes(Array.from(IMAGES))],
      });
      expect(res.outputs.map((o) => [o.name, o.datatype, o.shape])).to.deep.equal([['logits', 'BYTES', ['2', '3']]]);
      const raw = res.raw_output_contents[0];
      const answered: string[] = [];
      for (let at = 0; at < raw.length; at += 4 + raw.readUInt32LE(at)) answered.push(raw.subarray(at + 4, at + 4 + raw.readUInt32LE(at)).toString());
      const session = await ort.InferenceSession.create(bundledModelBytes('digit_cnn'));
      try {
        const logits = (await session.run({ image: new ort.Tensor('float32', IMAGES, [2, 1, 8, 8]) })).logits.data as Float32Array;
        const expected = [0, 1].flatMap((row) => {
          const scores = Array.from(logits.subarray(row * 10, row * 10 + 10));
          const top = scores.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 3);
          return top.map(([v, i]) => `${v.toFixed(6)}:${i}:${DIGIT_LABELS[i]}`);
        });
        expect(answered).to.deep.equal(expected);
      } finally {
        await session.release();
      }
      const { config } = await t.client.unary<{ config: { output: { label_filename?: string }[] } }>('ModelConfig', { name: 'labelled_digits', version: '' });
      expect(config.output[0]!.label_filename).to.equal('digits.txt');
    });

    it('keeps a model whose label file is missing, or named by a path, from loading, naming it', async () => {
      expect(await failureOf('missing_labels')).to.match(/model 'missing_labels' config\.json: output 'logits' label_filename 'absent\.txt' cannot be read: ENOENT/);
      expect(await failureOf('path_labels')).to.contain(
        "model 'path_labels' config.json: output[0].label_filename '../labelled_digits/digits.txt' must be a file name in the model's folder, not a path",
      );
    });
  });

  describe("Triton's config.pbtxt", () => {
    it('serves a model configured by config.pbtxt as it serves the same configuration in config.json', async () => {
      type Config = { config: Record<string, unknown> };
      const [fromPbtxt, fromJson] = await Promise.all(
        ['pbtxt_scorer', 'json_scorer'].map(async (name) => (await t.client.unary<Config>('ModelConfig', { name, version: '' })).config),
      );
      expect(fromPbtxt.name).to.equal('pbtxt_scorer');
      // The names differ, and the instance group is named after its model.
      expect(JSON.parse(JSON.stringify(fromPbtxt).replaceAll('pbtxt_scorer', 'm'))).to.deep.equal(JSON.parse(JSON.stringify(fromJson).replaceAll('json_scorer', 'm')));
      expect(fromPbtxt).to.include({ max_batch_size: 64 });
      expect(fromPbtxt.dynamic_batching).to.include({ max_queue_delay_microseconds: '200' });
      const res = await t.client.unary<InferResponse>('ModelInfer', {
        model_name: 'pbtxt_scorer',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 8] }],
        raw_input_contents: [fp32Bytes(Array.from({ length: 16 }, (_, i) => i / 16))],
      });
      expect(res.outputs.map((o) => [o.name, o.shape])).to.deep.equal([['score', ['2', '1']], ['standardized', ['2', '8']]]);
    });

    it("serves Triton's reshape: clients send and get the configured dims, the model computes on its own, batched together", async () => {
      const meta = await metadata('reshaped_digits');
      expect(meta.inputs.map((i) => i.shape)).to.deep.equal([['-1', '64']]);
      expect(meta.outputs.map((o) => o.shape)).to.deep.equal([['-1', '2', '5']]);
      const { config } = await t.client.unary<{ config: { input: { reshape?: { shape: string[] } }[]; output: { reshape?: { shape: string[] } }[] } }>('ModelConfig', { name: 'reshaped_digits', version: '' });
      expect([config.input[0]!.reshape, config.output[0]!.reshape]).to.deep.equal([{ shape: ['1', '8', '8'] }, { shape: ['10'] }]);
      const call = (first: number, rows: number) =>
        t.client.unary<InferResponse>('ModelInfer', {
          model_name: 'reshaped_digits',
          inputs: [{ name: 'image', datatype: 'FP32', shape: [rows, 64] }],
          raw_input_contents: [fp32Bytes(Array.from(IMAGES.subarray(first * 64, (first + rows) * 64)))],
        });
      // The first waits for the second: one batch of 2 rows, however slow the machine.
      const [one, other] = await Promise.all([call(0, 1), call(1, 1)]);
      const stats = await t.client.unary<{ model_stats: { batch_stats: { batch_size: string }[] }[] }>('ModelStatistics', { name: 'reshaped_digits' });
      expect(stats.model_stats[0]!.batch_stats.map((b) => b.batch_size)).to.deep.equal(['2']);
      const both = await call(0, 2);
      for (const res of [one, other]) expect(res.outputs.map((o) => o.shape)).to.deep.equal([['1', '2', '5']]);
      expect(both.outputs.map((o) => o.shape)).to.deep.equal([['2', '2', '5']]);
      const session = await ort.InferenceSession.create(bundledModelBytes('digit_cnn'));
      try {
        const expected = (await session.run({ image: new ort.Tensor('float32', IMAGES, [2, 1, 8, 8]) })).logits.data as Float32Array;
        for (const actual of [[...readFp32(one.raw_output_contents[0]), ...readFp32(other.raw_output_contents[0])], [...readFp32(both.raw_output_contents[0])]]) {
          expect(actual.length).to.equal(expected.length);
          for (let i = 0; i < expected.length; i++) expect(actual[i]).to.be.closeTo(expected[i], 1e-5);
        }
      } finally {
        await session.release();
      }
    });

    it("opens a model's session with its onnxruntime-backend settings, and it answers as ONNX Runtime does", async () => {
      expect(t.server.repository.get('tuned_digits')!.versions.get(1)!.config.session).to.deep.equal({
        graphOptimizationLevel: 'basic', intraOpThreads: 2, interOpThreads: 2, executionMode: 'parallel', enableCpuMemArena: false, enableMemPattern: false,
      });
      const [tuned, plain] = await Promise.all([infer('tuned_digits', undefined, 2), infer('my_digits', undefined, 2)]);
      // Fusions may round differently: within 1e-5, as the other comparisons with ONNX Runtime.
      const [a, b] = [readFp32(tuned.raw_output_contents[0]), readFp32(plain.raw_output_contents[0])];
      expect(a.length).to.equal(20);
      a.forEach((v, i) => expect(v).to.be.closeTo(b[i]!, 1e-5));
    });

    it('serves several instance_group entries of one kind as their instances together', async () => {
      expect(onnxVersion(t.server.repository.get('two_groups')!.versions.get(1)).pool.size).to.equal(3);
      const { config } = await t.client.unary<{ config: { instance_group: { count: number; kind: string }[] } }>('ModelConfig', { name: 'two_groups', version: '' });
      expect(config.instance_group.map((g) => [g.count, g.kind])).to.deep.equal([[3, 'KIND_CPU']]);
      expect((await infer('two_groups', undefined, 2)).outputs[0]!.shape).to.deep.equal(['2', '10']);
    });

    it('keeps a model with both config.pbtxt and config.json from loading, naming both', async () => {
      expect(await failureOf('both_configs')).to.equal(
        "model 'both_configs' has both config.pbtxt and config.json: keep one (config.json takes this server's additions too)",
      );
    });

    it('names the line and column of a config.pbtxt it cannot read', async () => {
      expect(await failureOf('bad_pbtxt')).to.equal(
        "model 'bad_pbtxt' config.pbtxt: line 2, column 54: expected '}' to close inference.ModelDynamicBatching, found the end of the text",
      );
    });

    it('names config.pbtxt when what it states contradicts the model', async () => {
      expect(await failureOf('pbtxt_wrong_dims')).to.match(/^version 1: model 'pbtxt_wrong_dims' config\.pbtxt: .*'features'.*\[7\].*\[8\]/);
    });
  });
});
