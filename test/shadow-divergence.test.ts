import { expect } from 'chai';
import { divergence } from '../src/rollout/shadow-divergence';
import type { Tensor } from '../src/tensor/tensor';

const fp32 = (shape: number[], ...values: number[]): Tensor => ({ name: 'y', datatype: 'FP32', shape, data: Float32Array.from(values) });

describe('shadow divergence', () => {
  it('gives the largest absolute difference of float outputs', () => {
    expect(divergence(fp32([3], 1, 2, 3), fp32([3], 1.5, 0, 3))).to.deep.equal({ kind: 'float', maxAbs: 2, argmax: undefined });
    expect(divergence(fp32([2], 1, 2), fp32([2], 1, 2))).to.deep.include({ maxAbs: 0 });
  });

  it('counts NaN on one side only as infinitely far, NaN on both as agreement', () => {
    expect(divergence(fp32([2], 1, NaN), fp32([2], 1, 5))).to.deep.include({ maxAbs: Number.POSITIVE_INFINITY });
    expect(divergence(fp32([2], 1, NaN), fp32([2], 1.25, NaN))).to.deep.include({ maxAbs: 0.25 });
  });

  it('counts rows of a 2-D output whose argmax agrees, the first maximum winning ties', () => {
    const served = fp32([3, 3], 1, 5, 2, /* */ 7, 7, 0, /* */ 0, 0, 1);
    const shadow = fp32([3, 3], 0, 9, 1, /* */ 7, 6, 0, /* */ 1, 0, 0);
    expect(divergence(served, shadow)).to.deep.include({ argmax: { rows: 3, agreeing: 2 } });
  });

  it('compares other datatypes exactly, BYTES element by element', () => {
    const int = (...v: number[]): Tensor => ({ name: 'c', datatype: 'INT32', shape: [v.length], data: Int32Array.from(v) });
    expect(divergence(int(1, 2), int(1, 2))).to.deep.equal({ kind: 'exact', equal: true });
    expect(divergence(int(1, 2), int(1, 3))).to.deep.equal({ kind: 'exact', equal: false });
    const text = (...v: string[]): Tensor => ({ name: 's', datatype: 'BYTES', shape: [v.length], data: v.map((s) => Buffer.from(s)) });
    expect(divergence(text('a', 'b'), text('a', 'b'))).to.deep.equal({ kind: 'exact', equal: true });
    expect(divergence(text('a', 'b'), text('a', 'c'))).to.deep.equal({ kind: 'exact', equal: false });
  });

  it('calls outputs of another datatype or shape a mismatch', () => {
    expect(divergence(fp32([2], 1, 2), fp32([1, 2], 1, 2))).to.deep.equal({ kind: 'mismatch' });
    const int: Tensor = { name: 'y', datatype: 'INT32', shape: [2], data: Int32Array.of(1, 2) };
    expect(divergence(fp32([2], 1, 2), int)).to.deep.equal({ kind: 'mismatch' });
  });
});
