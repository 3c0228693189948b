/**
 * A run that fails inside ONNX Runtime because of a value no check could foresee (an index out of
 * range) fails the requests of that batch with INTERNAL and ONNX Runtime's reason, and nothing
 * else: the next batch on the same instance runs, and the server stays ready (issue 13).
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { DataType, attr, node, serializeModel, valueInfo } from '../scripts/onnx/builder';
import { makeTempDir, removeDir, writeModelConfig, writeModelFile } from './support/e2e-helpers';
import { fp32Bytes, readFp32, startTestServer, type TestServer } from './support/server';

const WIDTH = 4;
const ROWS_PER_BATCH = 4;

/** picked[b] = data[b, index[b]]: an index outside 0..WIDTH-1 fails the whole run. */
function pickModel(): Uint8Array {
  return serializeModel({
    graphName: 'pick',
    docString: 'GatherElements along axis 1; an out-of-range index fails at run time.',
    inputs: [valueInfo('data', DataType.FLOAT, ['batch', WIDTH]), valueInfo('index', DataType.INT64, ['batch', 1])],
    outputs: [valueInfo('picked', DataType.FLOAT, ['batch', 1])],
    initializers: [],
    nodes: [node('GatherElements', ['data', 'index'], ['picked'], 'pick', [attr.int('axis', 1)])],
  });
}

function pickRequest(row: number, index: number): object {
  const index64 = Buffer.alloc(8);
  index64.writeBigInt64LE(BigInt(index));
  return {
    model_name: 'pick',
    inputs: [{ name: 'data', datatype: 'FP32', shape: [1, WIDTH] }, { name: 'index', datatype: 'INT64', shape: [1, 1] }],
    raw_input_contents: [fp32Bytes(Array.from({ length: WIDTH }, (_, i) => 10 * row + i)), index64],
  };
}

interface InferResponse {
  raw_output_contents: Buffer[];
}

describe('e2e: a run that fails inside ONNX Runtime', function () {
  this.timeout(60_000);
  let repo: string;
  let t: TestServer;

  before(async () => {
    repo = makeTempDir('e2e-runtime-faults');
    writeModelFile(repo, 'pick', 1, pickModel());
    // A full batch goes at once; the long delay only keeps the rows of one round together.
    writeModelConfig(repo, 'pick', {
      name: 'pick',
      max_batch_size: ROWS_PER_BATCH,
      dynamic_batching: { max_queue_delay_microseconds: 10_000_000 },
      instance_group: [{ count: 1, kind: 'KIND_CPU' }],
    });
    t = await startTestServer({ MODEL_REPOSITORY: repo });
  });
  after(async () => {
    await t?.stop();
    removeDir(repo);
  });

  const round = (bad: number | undefined) =>
    Promise.allSettled(Array.from({ length: ROWS_PER_BATCH }, (_, row) => t.client.unary<InferResponse>('ModelInfer', pickRequest(row, row === bad ? 99 : row))));

  it('fails every request of the batch that held a bad index with INTERNAL and the reason, then runs the next batch', async () => {
    const failed = await round(1);
    for (const outcome of failed) {
      expect(outcome.status).to.equal('rejected');
      const err = (outcome as PromiseRejectedResult).reason as { code: number; details: string };
      expect(err.code).to.equal(status.INTERNAL);
      expect(err.details).to.match(/^onnxruntime: .*GatherElements|^onnxruntime: .*out of (range|bounds)/i);
    }
    const served = await round(undefined);
    served.forEach((outcome, row) => {
      expect(outcome.status, `row ${row}`).to.equal('fulfilled');
      const [picked] = readFp32((outcome as PromiseFulfilledResult<InferResponse>).value.raw_output_contents[0]);
      expect(picked).to.equal(10 * row + row);
    });
  });

  it('counts the failures and the successes in the statistics, and stays ready', async () => {
    const stats = await t.client.unary<{ model_stats: { inference_stats: { success: { count: string }; fail: { count: string } } }[] }>('ModelStatistics', { name: 'pick' });
    const { success, fail } = stats.model_stats[0].inference_stats;
    expect(Number(fail.count)).to.equal(ROWS_PER_BATCH);
    expect(Number(success.count)).to.equal(ROWS_PER_BATCH);
    expect(await t.client.unary('ModelReady', { name: 'pick' })).to.deep.include({ ready: true });
    expect(await t.client.unary('ServerReady', {})).to.deep.equal({ ready: true });
  });
});
