/**
 * Real ONNX models that no one on this project made, taken from devDependency tarballs and served
 * from a bare <name>/1/model.onnx (no config.json), so everything the server knows about them comes
 * from auto-config. Each answer is checked against ONNX Runtime run in-process on the same inputs:
 * outputs within 1e-5, absolute where |expected| <= 1 and relative above (see maxError).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as ort from '../src/runtime/onnxruntime';
import { makeTempDir, removeDir, writeModelFile } from './support/e2e-helpers';
import { startTestServer, type TestServer } from './support/server';
import {
  REAL_MODELS, fp32LeBytes, int64LeBytes, maxError, normalizeForDetection, normalizeForRecognition, readDeclaredIo, readFp32Le,
  syntheticSpeech, syntheticTextImages, type DeclaredTensor, type RealModelName,
} from './support/real-models';

interface WireTensor {
  name: string;
  datatype: string;
  /** Absent for a scalar: proto3 does not send an empty repeated field, and the client fills no defaults. */
  shape?: string[];
}
interface InferResponse {
  model_name: string;
  outputs: WireTensor[];
  raw_output_contents: Buffer[];
}
interface MetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: WireTensor[];
  outputs: WireTensor[];
}

/** One input, sent to the server as raw little-endian bytes and to in-process ONNX Runtime as a tensor. */
type Feed = { name: string; shape: number[] } & ({ datatype: 'FP32'; data: Float32Array } | { datatype: 'INT64'; data: BigInt64Array });

const TOLERANCE = 1e-5;
const MODEL_NAMES = Object.keys(REAL_MODELS) as RealModelName[];

/**
 * What auto-config should choose: PP-OCR's inputs and outputs all start with a variable batch
 * dimension, so they batch (the default max_batch_size 4); Silero VAD's `sr` is a scalar, so it does not.
 */
const EXPECTED_MAX_BATCH_SIZE: Record<RealModelName, number> = { ocr_det: 4, ocr_rec: 4, silero_vad: 0 };

const VAD_CHUNK = 512; // 32 ms at 16 kHz, a chunk size Silero VAD v4 is made for
const VAD_STATE_SHAPE = [2, 1, 64];

describe('e2e: third-party ONNX models served from a bare <name>/1/model.onnx', function () {
  this.timeout(30000);
  let repo: string;
  let t: TestServer;
  const references = new Map<RealModelName, ort.InferenceSession>();

  before(async () => {
    repo = makeTempDir('e2e-real-models');
    for (const name of MODEL_NAMES) writeModelFile(repo, name, 1, fs.readFileSync(REAL_MODELS[name]));
    t = await startTestServer({ MODEL_REPOSITORY: repo });
  });
  after(async () => {
    await t?.stop();
    for (const session of references.values()) await session.release();
    removeDir(repo);
  });

  /** In-process ONNX Runtime with the server's session settings (one intra-op thread, all optimizations). */
  async function reference(model: RealModelName): Promise<ort.InferenceSession> {
    let session = references.get(model);
    if (!session) {
      session = await ort.InferenceSession.create(REAL_MODELS[model], { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
      references.set(model, session);
    }
    return session;
  }

  /** The server's answer to `feeds`, sent as a Triton client sends them: raw little-endian bytes. */
  const serve = (model: RealModelName, feeds: readonly Feed[]) =>
    t.client.unary<InferResponse>('ModelInfer', {
      model_name: model,
      inputs: feeds.map((f) => ({ name: f.name, datatype: f.datatype, shape: f.shape })),
      raw_input_contents: feeds.map((f) => (f.datatype === 'FP32' ? fp32LeBytes(f.data) : int64LeBytes(Array.from(f.data)))),
    });

  async function runReference(model: RealModelName, feeds: readonly Feed[]): Promise<ort.InferenceSession.ReturnType> {
    const tensors: Record<string, ort.Tensor> = {};
    for (const f of feeds) tensors[f.name] = f.datatype === 'FP32' ? new ort.Tensor('float32', f.data, f.shape) : new ort.Tensor('int64', f.data, f.shape);
    return (await reference(model)).run(tensors);
  }

  async function inferBoth(model: RealModelName, feeds: readonly Feed[]): Promise<{ served: InferResponse; expected: ort.InferenceSession.ReturnType }> {
    return { served: await serve(model, feeds), expected: await runReference(model, feeds) };
  }

  const wire = (list: readonly (WireTensor | DeclaredTensor)[]) =>
    list.map(({ name, datatype, shape }) => ({ name, datatype, shape: (shape ?? []).map(String) }));

  /** Every declared output, in the file's order, with ONNX Runtime's FP32 shape and values. */
  function expectSameOutputs(model: RealModelName, served: InferResponse, expected: ort.InferenceSession.ReturnType): void {
    const names = readDeclaredIo(REAL_MODELS[model]).outputs.map((o) => o.name);
    expect(served.model_name).to.equal(model);
    expect(wire(served.outputs)).to.deep.equal(
      names.map((name) => ({ name, datatype: 'FP32', shape: expected[name].dims.map(String) })),
    );
    names.forEach((name, i) => {
      expect(expected[name].type, name).to.equal('float32');
      expect(maxError(readFp32Le(served.raw_output_contents[i]), expected[name].data as Float32Array), name).to.be.at.most(TOLERANCE);
    });
  }

  const vadFeeds = (audio: Float32Array, h: Float32Array, c: Float32Array): Feed[] => [
    { name: 'input', datatype: 'FP32', shape: [1, audio.length], data: audio },
    // The sample rate is a 0-d INT64 tensor: shape [] and one 8-byte element.
    { name: 'sr', datatype: 'INT64', shape: [], data: BigInt64Array.of(16000n) },
    { name: 'h', datatype: 'FP32', shape: VAD_STATE_SHAPE, data: h },
    { name: 'c', datatype: 'FP32', shape: VAD_STATE_SHAPE, data: c },
  ];
  const zeroState = () => new Float32Array(2 * 64);

  // silero_vad's automatic warm-up fails at load (a 1-sample chunk: "Pad reflect requires axis
  // length >= 2 after slicing"); the automatic warm-up is a best effort, so the model serves anyway.

  describe('auto-configured from the ONNX file alone', () => {
    for (const model of MODEL_NAMES) {
      it(`serves ${model} and reports it ready`, async () => {
        expect((await t.client.unary<{ ready?: boolean }>('ModelReady', { name: model })).ready).to.equal(true);
      });

      it(`reports ${model}'s inputs and outputs in ModelMetadata as its ONNX file declares them`, async () => {
        const declared = readDeclaredIo(REAL_MODELS[model]);
        const metadata = await t.client.unary<MetadataResponse>('ModelMetadata', { name: model });
        expect({ ...metadata, inputs: wire(metadata.inputs), outputs: wire(metadata.outputs) }).to.deep.equal({
          name: model,
          versions: ['1'],
          platform: 'onnxruntime_onnx',
          inputs: wire(declared.inputs),
          outputs: wire(declared.outputs),
        });
      });

      it(`gives ${model} max_batch_size ${EXPECTED_MAX_BATCH_SIZE[model]} in its completed config`, async () => {
        const { config } = await t.client.unary<{ config: { max_batch_size: number } }>('ModelConfig', { name: model });
        expect(config.max_batch_size).to.equal(EXPECTED_MAX_BATCH_SIZE[model]);
      });
    }
  });

  describe('ocr_det: PP-OCRv4 text detection, x FP32 [-1,3,-1,-1]', () => {
    it('answers a batch of two 64x96 pages with the probability maps ONNX Runtime computes', async () => {
      const [batch, height, width] = [2, 64, 96];
      const x = normalizeForDetection(syntheticTextImages(101, batch, height, width), height * width);
      const { served, expected } = await inferBoth('ocr_det', [{ name: 'x', datatype: 'FP32', shape: [batch, 3, height, width], data: x }]);
      expect(expected['sigmoid_0.tmp_0'].dims).to.deep.equal([batch, 1, height, width]);
      expectSameOutputs('ocr_det', served, expected);
    });

    it('answers a 32x160 page, a different height and width, at its own size', async () => {
      const [height, width] = [32, 160];
      const x = normalizeForDetection(syntheticTextImages(102, 1, height, width), height * width);
      const { served, expected } = await inferBoth('ocr_det', [{ name: 'x', datatype: 'FP32', shape: [1, 3, height, width], data: x }]);
      expect(expected['sigmoid_0.tmp_0'].dims).to.deep.equal([1, 1, height, width]);
      expectSameOutputs('ocr_det', served, expected);
    });
  });

  describe('ocr_rec: PP-OCRv4 text recognition, x FP32 [-1,3,48,-1]', () => {
    it('answers a 48x160 text line with the per-step character probabilities ONNX Runtime computes', async () => {
      const x = normalizeForRecognition(syntheticTextImages(201, 1, 48, 160));
      const { served, expected } = await inferBoth('ocr_rec', [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 160], data: x }]);
      // One step per 8 pixels of width, each a distribution over 6625 characters.
      expect(expected['softmax_11.tmp_0'].dims).to.deep.equal([1, 20, 6625]);
      expectSameOutputs('ocr_rec', served, expected);
    });
  });

  describe('silero_vad: Silero VAD v4, sr INT64 scalar and LSTM state h, c, no batch dimension', () => {
    it('answers a 512-sample chunk at sr=16000 from zero state with the probability and state ONNX Runtime computes', async () => {
      const audio = syntheticSpeech(301, VAD_CHUNK);
      const { served, expected } = await inferBoth('silero_vad', vadFeeds(audio, zeroState(), zeroState()));
      expect(expected.output.dims).to.deep.equal([1, 1]);
      expectSameOutputs('silero_vad', served, expected);
    });

    it('carries state: the next chunk, sent with the hn and cn the server returned, matches ONNX Runtime carrying its own', async () => {
      const audio = syntheticSpeech(302, 2 * VAD_CHUNK);
      const [chunk1, chunk2] = [audio.slice(0, VAD_CHUNK), audio.slice(VAD_CHUNK)];
      const { served, expected } = await inferBoth('silero_vad', vadFeeds(chunk1, zeroState(), zeroState()));
      const servedState = (name: string) => readFp32Le(served.raw_output_contents[served.outputs.findIndex((o) => o.name === name)]);
      const [hn, cn] = [servedState('hn'), servedState('cn')];
      expect(hn.some((v) => v !== 0), 'the first chunk moved the state').to.equal(true);

      const next = await serve('silero_vad', vadFeeds(chunk2, hn, cn));
      const nextExpected = await runReference('silero_vad', vadFeeds(chunk2, expected.hn.data as Float32Array, expected.cn.data as Float32Array));
      expectSameOutputs('silero_vad', next, nextExpected);
    });
  });
});
