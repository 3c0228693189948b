/** Triton's classification extension: the top classes of an output, as Triton writes them. */
import { expect } from 'chai';
import { InferenceError } from '../src/errors';
import { checkClassifications, classify } from '../src/dataplane/classification';
import type { ModelConfig } from '../src/repository/model-config';
import type { Tensor } from '../src/tensor/tensor';

const strings = (t: Tensor): string[] => (t.data as Uint8Array[]).map((b) => new TextDecoder().decode(b));

describe('classification extension', () => {
  it("answers Triton's own example: [1.1, 3.3, 0.5, 2.4], top 2, as '3.300000:1' and '2.400000:3'", () => {
    const out = classify({ name: 'y', datatype: 'FP64', shape: [4], data: Float64Array.from([1.1, 3.3, 0.5, 2.4]) }, 2, undefined, false);
    expect(out).to.deep.include({ name: 'y', datatype: 'BYTES', shape: [2] });
    expect(strings(out)).to.deep.equal(['3.300000:1', '2.400000:3']);
  });

  it('ranks each row of a batch on its own, appends the label of each index, and answers [rows, k]', () => {
    const data = Float32Array.from([0.1, 0.7, 0.2, 0.9, 0.05, 0.05]);
    const out = classify({ name: 'y', datatype: 'FP32', shape: [2, 3], data }, 2, ['cat', 'dog'], true);
    expect(out.shape).to.deep.equal([2, 2]);
    // Float32 0.7 printed exactly, as C's %f prints the float: 0.699999988...
    expect(strings(out)).to.deep.equal(['0.700000:1:dog', '0.200000:2', '0.900000:0:cat', '0.050000:1:dog']);
  });

  it('gives at most the classes a row has, keeps index order among equal values, and puts NaN last', () => {
    const out = classify({ name: 'y', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([NaN, 2, 5, 2]) }, 10, undefined, true);
    expect(out.shape).to.deep.equal([1, 4]);
    expect(strings(out)).to.deep.equal(['5.000000:2', '2.000000:1', '2.000000:3', 'nan:0']);
  });

  it('prints integers as integers, 64-bit ones exactly, and floats as %f does at the extremes', () => {
    const ints = classify({ name: 'y', datatype: 'INT64', shape: [3], data: BigInt64Array.from([-5n, 9007199254740993n, 0n]) }, 2, undefined, false);
    expect(strings(ints)).to.deep.equal(['9007199254740993:1', '0:2']);
    const bytes = classify({ name: 'y', datatype: 'UINT8', shape: [1, 2], data: Uint8Array.from([200, 7]) }, 1, undefined, true);
    expect(strings(bytes)).to.deep.equal(['200:0']);
    const extremes = classify({ name: 'y', datatype: 'FP64', shape: [4], data: Float64Array.from([1e21, -Infinity, -0, Infinity]) }, 4, undefined, false);
    expect(strings(extremes)).to.deep.equal(['inf:3', '1000000000000000000000.000000:0', '-0.000000:2', '-inf:1']);
  });

  it('refuses, before running, classes of an output whose datatype has none', () => {
    const config = { outputs: [{ name: 'b', datatype: 'BOOL', dims: [2] }, { name: 'f', datatype: 'FP32', dims: [2] }] } as unknown as ModelConfig;
    expect(() => checkClassifications(config, new Map([['f', 1]]))).not.to.throw();
    expect(() => checkClassifications(config, new Map([['b', 1]]))).to.throw(InferenceError, "output 'b': class results are not available for its datatype BOOL");
  });
});
