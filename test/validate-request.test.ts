import { expect } from 'chai';
import { validateRequest } from '../src/dataplane/validate-request';
import { InferenceError } from '../src/errors';
import type { ModelConfig } from '../src/repository/model-config';
import type { Tensor } from '../src/tensor/tensor';

const config: ModelConfig = {
  name: 'two_inputs',
  platform: 'onnxruntime_onnx',
  maxBatchSize: 8,
  inputs: [
    { name: 'a', datatype: 'FP32', dims: [-1] },
    { name: 'b', datatype: 'INT64', dims: [2] },
  ],
  outputs: [{ name: 'y', datatype: 'FP32', dims: [1] }, { name: 'z', datatype: 'FP32', dims: [1] }],
  versionPolicy: { kind: 'latest', numVersions: 1 },
  instanceCount: 1,
  instanceGroup: { kind: 'KIND_AUTO', count: 1, gpus: [] },
  cudaOptions: {},
  dynamicBatching: undefined,
  warmup: [],
};

const a = (rows: number, width: number): Tensor => ({ name: 'a', datatype: 'FP32', shape: [rows, width], data: new Float32Array(rows * width) });
const b = (rows: number): Tensor => ({ name: 'b', datatype: 'INT64', shape: [rows, 2], data: new BigInt64Array(rows * 2) });

function refusal(inputs: Tensor[], requested: string[] = []): string {
  try {
    validateRequest(config, inputs, requested);
  } catch (err) {
    expect(err).to.be.instanceOf(InferenceError).with.property('code', 'INVALID_ARGUMENT');
    return (err as Error).message;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('request validation against the model config', () => {
  it('gives requests with the same shapes the same batch key whatever the order of their inputs', () => {
    const first = validateRequest(config, [a(2, 5), b(2)], []);
    const second = validateRequest(config, [b(3), a(3, 5)], []);
    expect(first.shapeKey).to.equal(second.shapeKey);
    expect(validateRequest(config, [a(2, 6), b(2)], []).shapeKey).to.not.equal(first.shapeKey);
  });

  it('counts the batch dimension as the request rows', () => {
    expect(validateRequest(config, [a(3, 1), b(3)], []).rows).to.equal(3);
  });

  it('returns every model output when none is requested, and only the requested ones otherwise', () => {
    expect(validateRequest(config, [a(1, 1), b(1)], []).outputs).to.deep.equal(['y', 'z']);
    expect(validateRequest(config, [a(1, 1), b(1)], ['z']).outputs).to.deep.equal(['z']);
  });

  it('refuses inputs whose batch sizes differ', () => {
    expect(refusal([a(2, 1), b(3)])).to.contain("input 'b': batch size 3 differs");
  });

  it('refuses a missing input, an unexpected one, a wrong fixed dim and an unknown output, naming each', () => {
    expect(refusal([a(1, 1)])).to.contain("missing input 'b'");
    expect(refusal([a(1, 1), b(1), { name: 'c', datatype: 'FP32', shape: [1], data: new Float32Array(1) }])).to.contain("unexpected input 'c'");
    expect(refusal([a(1, 1), { name: 'b', datatype: 'INT64', shape: [1, 3], data: new BigInt64Array(3) }])).to.contain("input 'b': shape [1,3] does not match the model's [-1,2]");
    expect(refusal([a(1, 1), b(1)], ['w'])).to.contain("unknown requested output 'w'");
  });
});
