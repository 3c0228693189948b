import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from '../src/runtime/onnxruntime';
import { FEATURE_MLP, featureMlp, generateModels } from '../scripts/make-models';
import { readInitializers, stockScorerReference } from './support/onnx-weights';

const MODELS_DIR = path.resolve(__dirname, '..', '..', 'models');
const modelFile = (name: string): string => path.join(MODELS_DIR, name, '1', 'model.onnx');

interface ConfigTensor { name: string; data_type: string; dims: number[] }
interface ModelConfig { name: string; max_batch_size: number; input: ConfigTensor[]; output: ConfigTensor[] }

/** What ONNX Runtime reports for a graph input or output. */
interface Declared { name: string; type: string; shape: Array<number | string> }

const ORT_TYPE: Record<string, string> = {
  TYPE_BOOL: 'bool', TYPE_UINT8: 'uint8', TYPE_INT8: 'int8', TYPE_UINT16: 'uint16', TYPE_INT16: 'int16',
  TYPE_UINT32: 'uint32', TYPE_INT32: 'int32', TYPE_UINT64: 'uint64', TYPE_INT64: 'int64',
  TYPE_FP16: 'float16', TYPE_FP32: 'float32', TYPE_FP64: 'float64', TYPE_STRING: 'string',
};

function readConfig(name: string): ModelConfig {
  return JSON.parse(fs.readFileSync(path.join(MODELS_DIR, name, 'config.json'), 'utf8')) as ModelConfig;
}

function declared(metadata: readonly ort.InferenceSession.ValueMetadata[]): Declared[] {
  return metadata.map((m) => {
    if (!m.isTensor) throw new Error(`${m.name} is not a tensor`);
    return { name: m.name, type: m.type, shape: [...m.shape] };
  });
}

/** A config tensor as ONNX Runtime should see it: batch dim first, -1 dims symbolic (any string). */
function matchesConfig(actual: Declared, expected: ConfigTensor): void {
  expect(actual.name).to.equal(expected.name);
  expect(actual.type).to.equal(ORT_TYPE[expected.data_type]);
  expect(actual.shape).to.have.length(expected.dims.length + 1);
  expect(actual.shape[0]).to.equal('batch');
  expected.dims.forEach((d, i) => {
    if (d === -1) expect(actual.shape[i + 1]).to.be.a('string');
    else expect(actual.shape[i + 1]).to.equal(d);
  });
}

function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(path.join(dir, entry.name), rel) : [rel];
  }).sort();
}

/** Three plausible stocks (raw feature units), row-major [3, 8]. */
const STOCKS = Float32Array.from([
  0.031, 0.22, 0.19, 14.2, 1.6, 24.1, 0.034, 0.85,
  -0.064, -0.18, 0.48, 41.0, 6.3, 20.2, 0.0, 2.1,
  0.012, 0.07, 0.26, 19.3, 3.1, 22.6, 0.018, 1.0,
]);

describe('bundled models', () => {
  describe('loading', () => {
    for (const name of ['stock_scorer', 'type_echo']) {
      it(`${name} loads in ONNX Runtime and has the inputs and outputs its config.json declares`, async () => {
        const config = readConfig(name);
        expect(config.name).to.equal(name);
        const session = await ort.InferenceSession.create(modelFile(name));
        const inputs = declared(session.inputMetadata);
        const outputs = declared(session.outputMetadata);
        expect(inputs.map((i) => i.name)).to.deep.equal(config.input.map((i) => i.name));
        expect(outputs.map((o) => o.name)).to.deep.equal(config.output.map((o) => o.name));
        inputs.forEach((input, i) => matchesConfig(input, config.input[i]));
        outputs.forEach((output, i) => matchesConfig(output, config.output[i]));
        await session.release();
      });
    }

    it('digit_cnn has no config.json, loads in ONNX Runtime and maps a batch of 3 images to [3, 10] logits', async () => {
      expect(fs.existsSync(path.join(MODELS_DIR, 'digit_cnn', 'config.json'))).to.equal(false);
      const session = await ort.InferenceSession.create(modelFile('digit_cnn'));
      expect(declared(session.inputMetadata)).to.deep.equal([{ name: 'image', type: 'float32', shape: ['batch', 1, 8, 8] }]);
      expect(declared(session.outputMetadata)).to.deep.equal([{ name: 'logits', type: 'float32', shape: ['batch', 10] }]);

      const images = Float32Array.from({ length: 3 * 64 }, (_, i) => ((i * 37) % 64) / 64 - (i < 64 ? 0 : 0.25 * Math.floor(i / 64)));
      const { logits } = await session.run({ image: new ort.Tensor('float32', images, [3, 1, 8, 8]) });
      expect(logits.dims).to.deep.equal([3, 10]);
      const values = Array.from(logits.data as Float32Array);
      expect(values.every(Number.isFinite)).to.equal(true);
      expect(values.slice(0, 10)).to.not.deep.equal(values.slice(10, 20));
      await session.release();
    });

    it('every bundled model file is well under 100 KB', () => {
      for (const name of ['stock_scorer', 'digit_cnn', 'type_echo']) {
        expect(fs.statSync(modelFile(name)).size, name).to.be.below(100 * 1024);
      }
    });
  });

  describe('stock_scorer', () => {
    it("stock_scorer's outputs equal an independent forward pass computed from the weights in the .onnx file", async () => {
      const weights = readInitializers(modelFile('stock_scorer'));
      expect([...weights.keys()].sort()).to.deep.equal(['b1', 'b2', 'feature_mean', 'feature_std', 'w1', 'w2']);
      expect(weights.get('w1')?.dims).to.deep.equal([8, 16]);
      expect(weights.get('w2')?.dims).to.deep.equal([16, 1]);
      // Standardisation must be non-trivial, or the `standardized` output would prove nothing.
      expect(Array.from(weights.get('feature_mean')?.data ?? []).some((m) => m !== 0)).to.equal(true);
      expect(Array.from(weights.get('feature_std')?.data ?? []).some((s) => s !== 1)).to.equal(true);

      const session = await ort.InferenceSession.create(modelFile('stock_scorer'));
      const out = await session.run({ features: new ort.Tensor('float32', STOCKS, [3, 8]) });
      await session.release();
      const expected = stockScorerReference(STOCKS, 3, weights);

      expect(out.score.dims).to.deep.equal([3, 1]);
      expect(out.standardized.dims).to.deep.equal([3, 8]);
      const standardized = out.standardized.data as Float32Array;
      const score = out.score.data as Float32Array;
      expected.standardized.forEach((v, i) => expect(standardized[i]).to.be.closeTo(v, 1e-6 * Math.max(1, Math.abs(v))));
      expected.score.forEach((v, i) => expect(score[i]).to.be.closeTo(v, 1e-5 * Math.max(1, Math.abs(v))));
      expect(new Set(score).size, 'three different stocks get three different scores').to.equal(3);
    });
  });

  describe('type_echo', () => {
    it('type_echo echoes every datatype, float16 bit patterns and strings included, for a batch of 3', async () => {
      const rows = 3;
      const width = 4;
      const n = rows * width;
      const seq = (f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));
      const feeds: Record<string, ort.Tensor> = {
        in_bool: new ort.Tensor('bool', Uint8Array.from(seq((i) => i % 2)), [rows, width]),
        in_uint8: new ort.Tensor('uint8', Uint8Array.from(seq((i) => 255 - i)), [rows, width]),
        in_int8: new ort.Tensor('int8', Int8Array.from(seq((i) => (i % 2 ? -128 : 127) + i * (i % 2 ? 1 : -1))), [rows, width]),
        in_uint16: new ort.Tensor('uint16', Uint16Array.from(seq((i) => 65535 - i * 1000)), [rows, width]),
        in_int16: new ort.Tensor('int16', Int16Array.from(seq((i) => -32768 + i * 5000)), [rows, width]),
        in_uint32: new ort.Tensor('uint32', Uint32Array.from(seq((i) => 4294967295 - i * 7)), [rows, width]),
        in_int32: new ort.Tensor('int32', Int32Array.from(seq((i) => -2147483648 + i * 99991)), [rows, width]),
        in_uint64: new ort.Tensor('uint64', BigUint64Array.from(seq((i) => i), (i) => 18446744073709551615n - BigInt(i)), [rows, width]),
        in_int64: new ort.Tensor('int64', BigInt64Array.from(seq((i) => i), (i) => -9223372036854775808n + BigInt(i) * 3n), [rows, width]),
        // 1.0, -2.0, +inf, smallest subnormal, NaN ... as IEEE half bit patterns
        in_fp16: new ort.Tensor('float16', Uint16Array.from(seq((i) => [0x3c00, 0xc000, 0x7c00, 0x0001, 0x7e00, 0x8000][i % 6])), [rows, width]),
        in_fp32: new ort.Tensor('float32', Float32Array.from(seq((i) => (i - 5.5) * 1.25e-3)), [rows, width]),
        in_fp64: new ort.Tensor('float64', Float64Array.from(seq((i) => Math.PI * 1e100 * (i - 6))), [rows, width]),
        in_bytes: new ort.Tensor('string', seq((i) => i).map((i) => (i === 0 ? '' : `élément-${i}-✓`)), [rows, width]),
      };

      const session = await ort.InferenceSession.create(modelFile('type_echo'));
      const out = await session.run(feeds);
      await session.release();

      expect(Object.keys(out).sort()).to.deep.equal(Object.keys(feeds).map((k) => k.replace(/^in_/, 'out_')).sort());
      for (const [inName, input] of Object.entries(feeds)) {
        const output = out[inName.replace(/^in_/, 'out_')];
        expect(output.type, inName).to.equal(input.type);
        expect(output.dims, inName).to.deep.equal([rows, width]);
        expect(output.data.constructor, inName).to.equal(input.data.constructor);
        expect(Array.from(output.data as ArrayLike<unknown>), inName).to.deep.equal(Array.from(input.data as ArrayLike<unknown>));
      }
    });
  });

  describe('feature_mlp (made on demand for the benchmark)', () => {
    it('is deterministic, matches its config.json and computes relu(relu(x W1 + b1) W2 + b2) W3 + b3 per row', async () => {
      const [model, config] = featureMlp();
      expect(Buffer.from(featureMlp()[0].bytes).equals(Buffer.from(model.bytes))).to.equal(true);
      const cfg = JSON.parse(Buffer.from(config.bytes).toString('utf8')) as ModelConfig;
      expect(cfg.input).to.deep.equal([{ name: 'features', data_type: 'TYPE_FP32', dims: [FEATURE_MLP.features] }]);
      expect(cfg.output).to.deep.equal([{ name: 'scores', data_type: 'TYPE_FP32', dims: [FEATURE_MLP.outputs] }]);

      const session = await ort.InferenceSession.create(model.bytes);
      const rows = 3;
      const x = Float32Array.from({ length: rows * FEATURE_MLP.features }, (_, i) => ((i * 31) % 17) / 17 - 0.5);
      const out = (await session.run({ features: new ort.Tensor('float32', x, [rows, FEATURE_MLP.features]) })).scores;
      await session.release();
      expect(out.dims).to.deep.equal([rows, FEATURE_MLP.outputs]);

      const w = readInitializers(model.bytes);
      const dense = (input: Float32Array, i: number, relu: boolean): Float32Array => {
        const b = w.get(`b${i}`)!.data;
        const weights = w.get(`w${i}`)!.data;
        const fanOut = b.length;
        return Float32Array.from({ length: fanOut }, (_, j) => {
          let sum = b[j];
          for (let k = 0; k < input.length; k++) sum += input[k] * weights[k * fanOut + j];
          return relu ? Math.max(0, sum) : sum;
        });
      };
      for (let r = 0; r < rows; r++) {
        const row = x.subarray(r * FEATURE_MLP.features, (r + 1) * FEATURE_MLP.features);
        const expected = dense(dense(dense(row, 1, true), 2, true), 3, false);
        const got = (out.data as Float32Array).subarray(r * FEATURE_MLP.outputs, (r + 1) * FEATURE_MLP.outputs);
        for (let j = 0; j < expected.length; j++) expect(got[j]).to.be.closeTo(expected[j], 1e-3);
      }
    });
  });

  describe('generator', () => {
    let tmp = '';
    after(() => {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('the generator is deterministic: a fresh run reproduces models/ byte for byte', () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'make-models-'));
      generateModels(tmp);
      const committed = listFiles(MODELS_DIR);
      expect(listFiles(tmp)).to.deep.equal(committed);
      expect(committed).to.include.members(['stock_scorer/1/model.onnx', 'digit_cnn/1/model.onnx', 'type_echo/1/model.onnx']);
      for (const rel of committed) {
        const fresh = fs.readFileSync(path.join(tmp, rel));
        expect(fresh.equals(fs.readFileSync(path.join(MODELS_DIR, rel))), rel).to.equal(true);
      }
    });
  });
});
