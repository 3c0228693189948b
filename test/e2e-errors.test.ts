/**
 * Every malformed request gets its gRPC status and a message that names the tensor or what was
 * expected; broken models and runtime failures are contained; nothing a client sends takes the
 * server down.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { INFERENCE_SERVICE } from '../src/transport/server';
import { randomBytes } from 'node:crypto';
import { fp32Bytes, readFp32, startTestServer, type TestServer } from './support/server';
import {
  broadcastAddModel, bundledConfig, bundledModelBytes, createHealthClient, expectRpcError, makeTempDir, removeDir,
  writeModelConfig, writeModelFile,
} from './support/e2e-helpers';

interface InferResponse {
  model_version: string;
  outputs: { name: string; datatype: string; shape: string[] }[];
  raw_output_contents: Buffer[];
}

const ROW = [0.01, 0.1, 0.25, 18, 3, 22, 0.02, 1];

/** A well-formed stock_scorer request of `rows` rows, raw FP32; `patch` overrides parts of it. */
function scorerRequest(rows = 2, patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_name: 'stock_scorer',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [rows, 8] }],
    raw_input_contents: [fp32Bytes(Array.from({ length: rows }, () => ROW).flat())],
    ...patch,
  };
}

async function expectScorerWorks(t: TestServer, rows = 2): Promise<void> {
  const res = await t.client.unary<InferResponse>('ModelInfer', scorerRequest(rows));
  const score = res.outputs.findIndex((o) => o.name === 'score');
  expect(res.outputs[score].shape).to.deep.equal([String(rows), '1']);
  for (const v of readFp32(res.raw_output_contents[score])) expect(Number.isFinite(v)).to.equal(true);
}

describe('e2e: errors', function () {
  this.timeout(30000);

  describe('malformed requests to the bundled models', () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer();
    });
    after(async () => t?.stop());

    const infer = (request: object) => t.client.unary<InferResponse>('ModelInfer', request);

    it('answers NOT_FOUND naming the model for an unknown model', async () => {
      await expectRpcError(infer(scorerRequest(2, { model_name: 'no_such_model' })), status.NOT_FOUND, "'no_such_model'");
    });

    it('answers NOT_FOUND naming the version for an unknown version', async () => {
      await expectRpcError(infer(scorerRequest(2, { model_version: '9' })), status.NOT_FOUND, "'9'", 'stock_scorer');
    });

    it('answers INVALID_ARGUMENT for a version that is not a number', async () => {
      await expectRpcError(infer(scorerRequest(2, { model_version: 'latest' })), status.INVALID_ARGUMENT, "'latest'");
    });

    it('answers NOT_FOUND from ModelMetadata and ModelConfig for an unknown model', async () => {
      await expectRpcError(t.client.unary('ModelMetadata', { name: 'no_such_model' }), status.NOT_FOUND, "'no_such_model'");
      await expectRpcError(t.client.unary('ModelConfig', { name: 'no_such_model' }), status.NOT_FOUND, "'no_such_model'");
    });

    it('answers NOT_FOUND from ModelStatistics for an unknown model', async () => {
      await expectRpcError(t.client.unary('ModelStatistics', { name: 'no_such_model' }), status.NOT_FOUND, "'no_such_model'");
    });

    it('answers INVALID_ARGUMENT naming the tensor and the known datatypes for an unknown datatype', async () => {
      await expectRpcError(
        infer(scorerRequest(2, { inputs: [{ name: 'features', datatype: 'FP8', shape: [2, 8] }] })),
        status.INVALID_ARGUMENT, "'features'", "'FP8'", 'FP32',
      );
    });

    it("answers INVALID_ARGUMENT naming the tensor and both datatypes when the datatype is not the model's", async () => {
      await expectRpcError(
        infer({
          model_name: 'stock_scorer',
          inputs: [{ name: 'features', datatype: 'FP64', shape: [2, 8] }],
          raw_input_contents: [Buffer.alloc(2 * 8 * 8)],
        }),
        status.INVALID_ARGUMENT, "'features'", 'FP64', 'FP32',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor and the expected shape for a wrong rank', async () => {
      await expectRpcError(
        infer(scorerRequest(2, { inputs: [{ name: 'features', datatype: 'FP32', shape: [16] }] })),
        status.INVALID_ARGUMENT, "'features'", '[16]', '[-1,8]',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor and the expected shape for a wrong fixed dimension', async () => {
      await expectRpcError(
        infer({ model_name: 'stock_scorer', inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 7] }], raw_input_contents: [fp32Bytes(new Array(14).fill(0))] }),
        status.INVALID_ARGUMENT, "'features'", '[2,7]', '[-1,8]',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor and the dimension for a negative dimension', async () => {
      await expectRpcError(
        infer(scorerRequest(2, { inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 8] }] })),
        status.INVALID_ARGUMENT, "'features'", 'shape[0]', '>= 0',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor when the dimensions multiply past the element limit', async () => {
      await expectRpcError(
        infer(scorerRequest(2, { inputs: [{ name: 'features', datatype: 'FP32', shape: ['4294967296', '4294967296'] }] })),
        status.INVALID_ARGUMENT, "'features'", 'elements', 'at most',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor for a dimension at the int64 maximum', async () => {
      await expectRpcError(
        infer(scorerRequest(2, { inputs: [{ name: 'features', datatype: 'FP32', shape: ['9223372036854775807', '8'] }] })),
        status.INVALID_ARGUMENT, "'features'", 'shape[0]',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor and both byte counts when the raw size does not match the shape', async () => {
      await expectRpcError(
        infer(scorerRequest(2, { raw_input_contents: [Buffer.alloc(60)] })),
        status.INVALID_ARGUMENT, "'features'", '64 bytes', '60',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor when typed contents hold the wrong number of values', async () => {
      await expectRpcError(
        infer({ model_name: 'stock_scorer', inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 8], contents: { fp32_contents: new Array(15).fill(0) } }] }),
        status.INVALID_ARGUMENT, "'features'", '16', '15',
      );
    });

    it('answers INVALID_ARGUMENT when raw_input_contents has more entries than there are inputs', async () => {
      await expectRpcError(
        infer(scorerRequest(2, { raw_input_contents: [fp32Bytes(new Array(16).fill(0)), fp32Bytes(new Array(16).fill(0))] })),
        status.INVALID_ARGUMENT, 'raw_input_contents', "'features'",
      );
    });

    it('answers INVALID_ARGUMENT naming the missing input when an input is missing', async () => {
      await expectRpcError(infer({ model_name: 'stock_scorer', inputs: [] }), status.INVALID_ARGUMENT, 'missing input', "'features'");
    });

    it('answers INVALID_ARGUMENT naming the unknown input and the expected one for an unknown input', async () => {
      await expectRpcError(
        infer({
          model_name: 'stock_scorer',
          inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 8] }, { name: 'extra', datatype: 'FP32', shape: [2, 8] }],
          raw_input_contents: [fp32Bytes(new Array(16).fill(0)), fp32Bytes(new Array(16).fill(0))],
        }),
        status.INVALID_ARGUMENT, "'extra'", "'features'",
      );
    });

    it('answers INVALID_ARGUMENT naming the input when it appears twice', async () => {
      await expectRpcError(
        infer({
          model_name: 'stock_scorer',
          inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 8] }, { name: 'features', datatype: 'FP32', shape: [2, 8] }],
          raw_input_contents: [fp32Bytes(new Array(16).fill(0)), fp32Bytes(new Array(16).fill(0))],
        }),
        status.INVALID_ARGUMENT, "'features'", 'more than once',
      );
    });

    it('answers INVALID_ARGUMENT naming the output and the known ones for an unknown requested output', async () => {
      await expectRpcError(
        infer(scorerRequest(2, { outputs: [{ name: 'score' }, { name: 'confidence' }] })),
        status.INVALID_ARGUMENT, "'confidence'", "'score'", "'standardized'",
      );
    });

    it('answers INVALID_ARGUMENT naming the output when the same output is requested twice', async () => {
      await expectRpcError(
        infer(scorerRequest(2, { outputs: [{ name: 'score' }, { name: 'score' }] })),
        status.INVALID_ARGUMENT, "'score'", 'more than once',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor when raw and typed contents come together', async () => {
      await expectRpcError(
        infer(scorerRequest(2, { inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 8], contents: { fp32_contents: new Array(16).fill(0) } }] })),
        status.INVALID_ARGUMENT, "'features'", 'raw', 'typed',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor and max_batch_size for 65 rows to stock_scorer (max 64)', async () => {
      await expectRpcError(infer(scorerRequest(65)), status.INVALID_ARGUMENT, "'features'", '65', '64', 'max_batch_size');
    });

    it('answers INVALID_ARGUMENT for a batch of zero rows', async () => {
      await expectRpcError(
        infer({ model_name: 'stock_scorer', inputs: [{ name: 'features', datatype: 'FP32', shape: [0, 8] }], raw_input_contents: [Buffer.alloc(0)] }),
        status.INVALID_ARGUMENT, "'features'", 'batch size 0',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor when FP16 data is sent without raw_input_contents', async () => {
      await expectRpcError(
        infer({
          model_name: 'type_echo',
          inputs: [{ name: 'in_fp16', datatype: 'FP16', shape: [1, 2], contents: { uint_contents: [0x3c00, 0x4000] } }],
        }),
        status.INVALID_ARGUMENT, "'in_fp16'", 'raw_input_contents',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor, without allocating, for a BYTES tensor that declares 2^31 elements in 8 bytes', async () => {
      // MAX_BYTES_ELEMENTS (262,144 by default) refuses it before the split would look at the bytes.
      await expectRpcError(
        infer({ model_name: 'type_echo', inputs: [{ name: 'in_bytes', datatype: 'BYTES', shape: [1, 2 ** 31] }], raw_input_contents: [Buffer.alloc(8)] }),
        status.INVALID_ARGUMENT, "'in_bytes'", '2147483648 BYTES elements', 'MAX_BYTES_ELEMENTS',
      );
      await expectRpcError(
        infer({ model_name: 'type_echo', inputs: [{ name: 'in_bytes', datatype: 'BYTES', shape: [1, 3] }], raw_input_contents: [Buffer.alloc(8)] }),
        status.INVALID_ARGUMENT, "'in_bytes'", 'expected 3 length-prefixed BYTES elements', 'only 8 bytes',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor for a raw BOOL element that is neither 0 nor 1', async () => {
      await expectRpcError(
        infer({ model_name: 'type_echo', inputs: [{ name: 'in_bool', datatype: 'BOOL', shape: [1, 3] }], raw_input_contents: [Buffer.from([1, 2, 0])] }),
        status.INVALID_ARGUMENT, "'in_bool'", 'element 1 is neither 0 nor 1',
      );
    });

    it('answers INVALID_ARGUMENT naming the tensor for a typed INT8 value out of range', async () => {
      await expectRpcError(
        infer({ model_name: 'type_echo', inputs: [{ name: 'in_int8', datatype: 'INT8', shape: [1, 2], contents: { int_contents: [1, 128] } }] }),
        status.INVALID_ARGUMENT, "'in_int8'", 'int_contents[1]', '-128..127',
      );
    });

    it('answers INVALID_ARGUMENT for a request with no model name', async () => {
      await expectRpcError(infer(scorerRequest(2, { model_name: '' })), status.INVALID_ARGUMENT, 'model_name');
    });

    it('still answers ServerReady true and a good request after every malformed one', async () => {
      expect(await t.client.unary('ServerReady', {})).to.deep.equal({ ready: true });
      await expectScorerWorks(t, 64);
    });
  });

  describe('a message larger than GRPC_MAX_MESSAGE_BYTES', () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer({ GRPC_MAX_MESSAGE_BYTES: '4096' });
    });
    after(async () => t?.stop());

    it('is refused with RESOURCE_EXHAUSTED, naming the limit', async () => {
      // 128 rows x 8 FP32 = 4096 bytes of tensor data alone, so the message exceeds 4096.
      await expectRpcError(t.client.unary('ModelInfer', scorerRequest(128)), status.RESOURCE_EXHAUSTED, /larger than max/, '4096');
    });

    it('leaves the server answering requests under the limit', async () => {
      await t.client.unary('ModelInfer', scorerRequest(128)).catch(() => undefined);
      await expectScorerWorks(t, 4);
    });
  });

  describe('a model whose model.onnx is garbage', () => {
    let repo: string;
    let t: TestServer;
    before(async () => {
      repo = makeTempDir('e2e-garbage');
      writeModelFile(repo, 'garbage', 1, randomBytes(2048));
      writeModelFile(repo, 'stock_scorer', 1, bundledModelBytes('stock_scorer'));
      writeModelConfig(repo, 'stock_scorer', bundledConfig('stock_scorer'));
      t = await startTestServer({ MODEL_REPOSITORY: repo });
    });
    after(async () => {
      await t?.stop();
      removeDir(repo);
    });

    it('does not stop the server from starting: ServerLive answers live true', async () => {
      expect(await t.client.unary('ServerLive', {})).to.deep.equal({ live: true });
    });

    it('makes ServerReady false', async () => {
      const res = await t.client.unary<{ ready?: boolean }>('ServerReady', {});
      expect(res.ready ?? false).to.equal(false);
    });

    it('makes grpc.health.v1 report readiness and the model NOT_SERVING, liveness SERVING (no restart loop)', async () => {
      const health = createHealthClient(t.port);
      try {
        expect(await health.check(INFERENCE_SERVICE), 'readiness').to.equal('NOT_SERVING');
        expect(await health.check('garbage'), 'the broken model').to.equal('NOT_SERVING');
        expect(await health.check('stock_scorer'), 'the good model').to.equal('SERVING');
        expect(await health.check(''), 'liveness').to.equal('SERVING');
      } finally {
        health.close();
      }
    });

    it('makes ModelReady false for that model', async () => {
      const res = await t.client.unary<{ ready?: boolean }>('ModelReady', { name: 'garbage' });
      expect(res.ready ?? false).to.equal(false);
    });

    it('answers ModelInfer to that model with UNAVAILABLE naming it', async () => {
      await expectRpcError(
        t.client.unary('ModelInfer', { model_name: 'garbage', inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }], raw_input_contents: [fp32Bytes([0])] }),
        status.UNAVAILABLE, "'garbage'",
      );
    });

    it('keeps serving the good model of the same repository', async () => {
      expect(await t.client.unary('ModelReady', { name: 'stock_scorer' })).to.deep.include({ ready: true });
      await expectScorerWorks(t);
    });
  });

  describe('a failure inside ONNX Runtime', () => {
    let repo: string;
    let t: TestServer;
    // Y = X + [0,1,2,3]: n = 4 broadcasts, n = 3 fails inside ONNX Runtime.
    const addRequest = (rows: number, n: number) => ({
      model_name: 'broadcast_add',
      inputs: [{ name: 'X', datatype: 'FP32', shape: [rows, n] }],
      raw_input_contents: [fp32Bytes(Array.from({ length: rows * n }, (_, i) => 10 * i))],
    });

    before(async () => {
      repo = makeTempDir('e2e-runtime-failure');
      writeModelFile(repo, 'broadcast_add', 1, broadcastAddModel());
      t = await startTestServer({ MODEL_REPOSITORY: repo });
    });
    after(async () => {
      await t?.stop();
      removeDir(repo);
    });

    it('loads the model, whose metadata accepts any width', async () => {
      expect(await t.client.unary('ModelReady', { name: 'broadcast_add' })).to.deep.include({ ready: true });
    });

    it('answers INTERNAL with ONNX Runtime\'s reason when the run fails', async () => {
      await expectRpcError(t.client.unary('ModelInfer', addRequest(1, 3)), status.INTERNAL, /onnxruntime/i, /Add|broadcast/i);
    });

    it('keeps serving the same model after the failure', async () => {
      await t.client.unary('ModelInfer', addRequest(2, 3)).catch(() => undefined);
      const res = await t.client.unary<InferResponse>('ModelInfer', addRequest(2, 4));
      expect(res.outputs[0].shape).to.deep.equal(['2', '4']);
      expect(Array.from(readFp32(res.raw_output_contents[0]))).to.deep.equal([0, 11, 22, 33, 40, 51, 62, 73]);
    });

    it('fails only the bad request when a good one of another shape runs at the same time', async () => {
      const [bad, good] = await Promise.allSettled([
        t.client.unary('ModelInfer', addRequest(1, 3)),
        t.client.unary<InferResponse>('ModelInfer', addRequest(1, 4)),
      ]);
      expect(bad.status).to.equal('rejected');
      expect((bad as PromiseRejectedResult).reason.code).to.equal(status.INTERNAL);
      expect(good.status).to.equal('fulfilled');
      expect(Array.from(readFp32((good as PromiseFulfilledResult<InferResponse>).value.raw_output_contents[0]))).to.deep.equal([0, 11, 22, 33]);
    });

    it('still answers ServerLive and ServerReady after runtime failures', async () => {
      expect(await t.client.unary('ServerLive', {})).to.deep.equal({ live: true });
      expect(await t.client.unary('ServerReady', {})).to.deep.equal({ ready: true });
    });
  });
});
