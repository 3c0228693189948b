/**
 * Warm-up end to end: Triton's model_warmup samples, and the automatic warm-up that must not
 * stop a servable model from serving. One temporary repository, one real server, its logs read.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { DataType, attr, floatTensor, node, serializeModel, valueInfo } from '../scripts/onnx/builder';
import { fp32Bytes, readFp32, startTestServer, type TestServer } from './support/server';
import { expectRpcError, makeTempDir, removeDir, writeModelConfig, writeModelFile } from './support/e2e-helpers';

/** y = Pad(x, 1 each side of the last axis, mode reflect): x FLOAT [1, n] -> y FLOAT [1, n + 2]; needs n >= 2. */
function reflectPadModel(): Uint8Array {
  return serializeModel({
    graphName: 'reflect_pad',
    docString: 'Reflect-pads the last axis by one on each side, which needs at least two values.',
    inputs: [valueInfo('x', DataType.FLOAT, [1, 'n'])],
    outputs: [valueInfo('y', DataType.FLOAT, [1, 'm'])],
    initializers: [{ name: 'pads', dims: [4], dataType: DataType.INT64, int64Data: [0, 1, 0, 1] }],
    nodes: [node('Pad', ['x', 'pads'], ['y'], 'pad', [attr.string('mode', 'reflect')])],
  });
}

const TABLE = Float32Array.from([10, 11, 12, 13, 14]);

/** y = TABLE[indices]: indices INT64 [k] -> y FLOAT [k]; an index outside 0..4 fails inside ONNX Runtime. */
function gatherModel(): Uint8Array {
  return serializeModel({
    graphName: 'gather',
    docString: 'Looks indices up in a table of five values.',
    inputs: [valueInfo('indices', DataType.INT64, ['k'])],
    outputs: [valueInfo('y', DataType.FLOAT, ['k'])],
    initializers: [floatTensor('table', [TABLE.length], TABLE)],
    nodes: [node('Gather', ['table', 'indices'], ['y'], 'lookup')],
  });
}

const int64File = (values: readonly bigint[]): Buffer => Buffer.from(BigInt64Array.from(values).buffer);

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly model?: string;
  readonly reason?: string;
  readonly err?: string;
}

describe('e2e: warm-up', function () {
  this.timeout(30000);
  let repo: string;
  let t: TestServer;
  const logs: LogLine[] = [];

  before(async () => {
    repo = makeTempDir('e2e-warmup');
    const pad = reflectPadModel();
    // No config.json: the automatic warm-up feeds n = 1, which the model refuses.
    writeModelFile(repo, 'pad_auto', 1, pad);
    const padSample = (n: number, name: string) => ({
      name,
      batch_size: 1,
      count: 3,
      inputs: { x: { data_type: 'TYPE_FP32', dims: [1, n], random_data: true } },
    });
    writeModelFile(repo, 'pad_warmed', 1, pad);
    writeModelConfig(repo, 'pad_warmed', { instance_group: [{ count: 2, kind: 'KIND_CPU' }], model_warmup: [padSample(4, 'four_values')] });
    writeModelFile(repo, 'pad_too_short', 1, pad);
    writeModelConfig(repo, 'pad_too_short', { model_warmup: [padSample(4, 'fine'), padSample(1, 'one_value')] });

    // Indices from files in the model's warmup/ folder, repeated to fill batch_size 2.
    const gather = gatherModel();
    const gatherSample = (file: string) => ({ name: 'from_file', batch_size: 2, inputs: { indices: { data_type: 'TYPE_INT64', dims: [], input_data_file: file } } });
    for (const [name, index] of [['gather_in_range', 4n], ['gather_out_of_range', 99n]] as const) {
      writeModelFile(repo, name, 1, gather);
      writeModelConfig(repo, name, { model_warmup: [gatherSample('index.bin')] });
      fs.mkdirSync(path.join(repo, name, 'warmup'));
      fs.writeFileSync(path.join(repo, name, 'warmup', 'index.bin'), int64File([index]));
    }
    writeModelFile(repo, 'gather_missing_file', 1, gather);
    writeModelConfig(repo, 'gather_missing_file', { model_warmup: [gatherSample('absent.bin')] });

    const log = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    t = await startTestServer({ MODEL_REPOSITORY: repo }, log);
  });

  after(async () => {
    await t?.stop();
    removeDir(repo);
  });

  const modelReady = async (name: string): Promise<boolean> => (await t.client.unary<{ ready: boolean }>('ModelReady', { name })).ready;
  const failuresOf = (name: string): string => (t.server.repository.get(name)?.failures ?? []).join('\n');
  const statistics = async (name: string) =>
    (await t.client.unary<{ model_stats: { inference_count: string; execution_count: string }[] }>('ModelStatistics', { name })).model_stats[0];

  async function pad(model: string, values: readonly number[]): Promise<Float32Array> {
    const res = await t.client.unary<{ raw_output_contents: Buffer[]; outputs: { shape: string[] }[] }>('ModelInfer', {
      model_name: model,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, values.length] }],
      raw_input_contents: [fp32Bytes(values)],
    });
    expect(res.outputs[0].shape.map(Number)).to.deep.equal([1, values.length + 2]);
    return readFp32(res.raw_output_contents[0]);
  }

  describe('automatic warm-up', () => {
    it('serves a model whose automatic warm-up fails, and logs a warning with ONNX Runtime\'s reason', async () => {
      expect(await modelReady('pad_auto')).to.equal(true);
      expect(Array.from(await pad('pad_auto', [1, 2, 3, 4, 5]))).to.deep.equal([2, 1, 2, 3, 4, 5, 4]);
      const warning = logs.find((l) => l.model === 'pad_auto' && l.level === 40);
      expect(warning, 'a warning for pad_auto').to.not.equal(undefined);
      expect(warning!.msg).to.match(/automatic warm-up failed; serving without it/);
      expect(warning!.reason).to.match(/onnxruntime: .*Pad/);
    });
  });

  describe('model_warmup', () => {
    it('runs the configured samples before the version is ready, without counting them in ModelStatistics', async () => {
      expect(await modelReady('pad_warmed')).to.equal(true);
      const before = await statistics('pad_warmed');
      expect(Number(before.inference_count), 'warm-up runs are not inferences').to.equal(0);
      expect(Number(before.execution_count)).to.equal(0);
      expect(Array.from(await pad('pad_warmed', [7, 8, 9]))).to.deep.equal([8, 7, 8, 9, 8]);
      expect(Number((await statistics('pad_warmed')).execution_count)).to.equal(1);
      expect(logs.some((l) => l.model === 'pad_warmed' && l.level >= 40), 'nothing to warn about').to.equal(false);
    });

    it('fails the load when a configured sample fails, naming the sample and giving ONNX Runtime\'s message', async () => {
      expect(await modelReady('pad_too_short')).to.equal(false);
      expect(failuresOf('pad_too_short')).to.match(/version 1: warm-up sample 'one_value' failed: onnxruntime: .*Pad/);
      const logged = logs.find((l) => l.model === 'pad_too_short' && l.msg === 'model version failed to load');
      expect(logged?.err).to.match(/warm-up sample 'one_value' failed/);
      await expectRpcError(
        t.client.unary('ModelInfer', { model_name: 'pad_too_short', inputs: [] }),
        status.UNAVAILABLE,
        "model 'pad_too_short' has no ready version: version 1: warm-up sample 'one_value' failed",
      );
    });

    it('keeps the server not ready while a model that must be ready failed its warm-up', async () => {
      expect((await t.client.unary<{ ready: boolean }>('ServerReady', {})).ready).to.equal(false);
    });

    it('reads input_data_file from the model\'s warmup/ folder, and runs with its values', async () => {
      // Same model, same config: only the index in the file differs, and only 99 is out of range.
      expect(await modelReady('gather_in_range')).to.equal(true);
      expect(await modelReady('gather_out_of_range')).to.equal(false);
      expect(failuresOf('gather_out_of_range')).to.match(/warm-up sample 'from_file' failed: onnxruntime: .*99/);
    });

    it('fails the load when input_data_file is missing, naming where it was looked for', async () => {
      expect(await modelReady('gather_missing_file')).to.equal(false);
      expect(failuresOf('gather_missing_file')).to.include(path.join(repo, 'gather_missing_file', 'warmup', 'absent.bin'));
    });

    it('reports the samples in ModelConfig', async () => {
      const res = await t.client.unary<{ config: { model_warmup: { name: string; batch_size: number; count: number; inputs: Record<string, { input_data_file: string }> }[] } }>(
        'ModelConfig',
        { name: 'gather_in_range' },
      );
      const [sample] = res.config.model_warmup;
      expect(sample.name).to.equal('from_file');
      expect(sample.batch_size).to.equal(2);
      expect(sample.inputs.indices.input_data_file).to.equal('index.bin');
    });
  });
});
