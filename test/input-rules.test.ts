import { expect } from 'chai';
import { checkInputRules, firstViolation } from '../src/dataplane/input-rules';
import { InferenceError } from '../src/errors';
import { FeatureStatistics } from '../src/observability/feature-statistics';
import type { InputValidation } from '../src/repository/input-rules-config';
import type { ModelConfig, TensorSpec } from '../src/repository/model-config';
import { fp16ToNumber } from '../src/tensor/float16';
import type { NumericArray } from '../src/tensor/datatype';
import type { Tensor } from '../src/tensor/tensor';

const FINITE: InputValidation = { rejectNonFinite: true, min: -Infinity, max: Infinity };
const BOUNDS: InputValidation = { rejectNonFinite: false, min: -10, max: 10 };

// FP16 bit patterns.
const H = { one: 0x3c00, two: 0x4000, minusTwo: 0xc000, half: 0x3800, max: 0x7bff, tiny: 0x0001, inf: 0x7c00, minusInf: 0xfc00, nan: 0x7e00 };

function modelWith(inputs: TensorSpec[]): ModelConfig {
  return {
    name: 'm',
    platform: 'onnxruntime_onnx',
    maxBatchSize: 8,
    inputs,
    outputs: [{ name: 'y', datatype: 'FP32', dims: [1] }],
    versionPolicy: { kind: 'latest', numVersions: 1 },
    instanceCount: 1,
    instanceGroup: { kind: 'KIND_AUTO', count: 1, gpus: [] },
    cudaOptions: {},
    dynamicBatching: undefined,
    warmup: [],
  };
}

const tensor = (name: string, datatype: Tensor['datatype'], shape: number[], data: NumericArray): Tensor => ({ name, datatype, shape, data });
const fp32 = (shape: number[], values: number[]): Tensor => tensor('x', 'FP32', shape, Float32Array.from(values));

function refusal(config: ModelConfig, inputs: Tensor[]): string {
  try {
    checkInputRules(config, inputs);
  } catch (err) {
    expect(err).to.be.instanceOf(InferenceError).with.property('code', 'INVALID_ARGUMENT');
    return (err as Error).message;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('input rules: the data plane check of config.json validation', () => {
  it('decodes FP16 by bit pattern', () => {
    expect([H.one, H.two, H.minusTwo, H.half, H.max, H.tiny, H.inf, H.minusInf].map(fp16ToNumber)).to.deep.equal([1, 2, -2, 0.5, 65504, 2 ** -24, Infinity, -Infinity]);
    expect(fp16ToNumber(H.nan)).to.be.NaN;
  });

  for (const [datatype, make] of [
    ['FP32', (v: number[]) => Float32Array.from(v)],
    ['FP64', (v: number[]) => Float64Array.from(v)],
  ] as const) {
    it(`finds the first NaN, +Inf or -Inf of an ${datatype} input, and passes finite values`, () => {
      const at = (values: number[]): number => firstViolation(tensor('x', datatype, [values.length], make(values)), FINITE);
      expect(at([1, 2, NaN, 3, NaN])).to.equal(2);
      expect(at([1, Infinity, NaN])).to.equal(1);
      expect(at([-Infinity, 0])).to.equal(0);
      expect(at([0, -0, 1e300 * (datatype === 'FP64' ? 1 : 0), -3.4e38])).to.equal(-1);
    });
  }

  it('finds the first NaN, +Inf or -Inf of an FP16 input by its bits', () => {
    const at = (bits: number[]): number => firstViolation(tensor('x', 'FP16', [bits.length], Uint16Array.from(bits)), FINITE);
    expect(at([H.one, H.max, H.tiny, H.nan])).to.equal(3);
    expect(at([H.one, H.inf])).to.equal(1);
    expect(at([H.minusInf])).to.equal(0);
    expect(at([H.one, H.max, H.tiny, H.minusTwo])).to.equal(-1);
  });

  it('holds min and max inclusive on every numeric type, NaN outside any range', () => {
    expect(firstViolation(fp32([4], [-10, 10, 0, 10.5]), BOUNDS)).to.equal(3);
    expect(firstViolation(fp32([3], [-10, -10.001, 11]), BOUNDS)).to.equal(1);
    expect(firstViolation(fp32([2], [0, NaN]), BOUNDS), 'NaN is outside').to.equal(1);
    expect(firstViolation(fp32([2], [0, Infinity]), BOUNDS), 'Inf is beyond max').to.equal(1);
    expect(firstViolation(fp32([2], [-Infinity, 0]), { rejectNonFinite: false, min: -Infinity, max: 0 }), 'no min: -Inf passes').to.equal(-1);
    expect(firstViolation(tensor('x', 'FP64', [3], Float64Array.of(1, 10, 10.000000001)), BOUNDS)).to.equal(2);
    expect(firstViolation(tensor('x', 'FP16', [3], Uint16Array.of(H.one, H.minusTwo, H.max)), { rejectNonFinite: false, min: -2, max: 2 })).to.equal(2);
    expect(firstViolation(tensor('x', 'FP16', [2], Uint16Array.of(H.one, H.nan)), { rejectNonFinite: false, min: -2, max: 2 })).to.equal(1);
    expect(firstViolation(tensor('x', 'INT32', [3], Int32Array.of(-10, 10, 11)), BOUNDS)).to.equal(2);
    expect(firstViolation(tensor('x', 'UINT8', [3], Uint8Array.of(0, 255, 3)), { rejectNonFinite: false, min: 0, max: 200 })).to.equal(1);
    expect(firstViolation(tensor('x', 'INT64', [3], BigInt64Array.of(5n, -11n, 99n)), BOUNDS)).to.equal(1);
    expect(firstViolation(tensor('x', 'UINT64', [2], BigUint64Array.of(3n, 2n ** 64n - 1n)), { rejectNonFinite: false, min: 0, max: 2 ** 53 })).to.equal(1);
  });

  it('refuses a request naming the input, its first offending element with row and column, and the value', () => {
    const config = modelWith([{ name: 'x', datatype: 'FP32', dims: [3], validation: { rejectNonFinite: true, min: -10, max: 10 } }]);
    expect(refusal(config, [fp32([2, 3], [0, 1, 2, 3, NaN, Infinity])])).to.equal("input 'x': element 4 (row 1, column 1) is NaN, which validation.reject_non_finite refuses");
    expect(refusal(config, [fp32([2, 3], [0, 1, 2, 3, 4, -Infinity])])).to.equal("input 'x': element 5 (row 1, column 2) is -Infinity, which validation.reject_non_finite refuses");
    expect(refusal(config, [fp32([2, 3], [0, 12.5, 2, 3, 4, 5])])).to.equal("input 'x': element 1 (row 0, column 1) is 12.5, above validation.max 10");
    expect(refusal(config, [fp32([1, 3], [-11, 0, 0])])).to.equal("input 'x': element 0 (row 0, column 0) is -11, below validation.min -10");
    const bounded = modelWith([{ name: 'x', datatype: 'FP32', dims: [2, 2], validation: BOUNDS }]);
    expect(refusal(bounded, [fp32([1, 2, 2], [0, 0, 0, NaN])]), 'no row and column beyond 2-D').to.equal("input 'x': element 3 is NaN, outside validation's [-10, 10]");
    const fp16 = modelWith([{ name: 'h', datatype: 'FP16', dims: [2], validation: { rejectNonFinite: false, min: -1, max: 1 } }]);
    expect(refusal(fp16, [tensor('h', 'FP16', [1, 2], Uint16Array.of(H.half, H.two))])).to.equal("input 'h': element 1 (row 0, column 1) is 2, above validation.max 1");
  });

  it('checks only the inputs that have rules, and passes a request that keeps them', () => {
    const config = modelWith([
      { name: 'a', datatype: 'FP32', dims: [2] },
      { name: 'b', datatype: 'FP64', dims: [2], validation: FINITE },
    ]);
    const a = tensor('a', 'FP32', [1, 2], Float32Array.of(NaN, Infinity));
    expect(() => checkInputRules(config, [a, tensor('b', 'FP64', [1, 2], Float64Array.of(1, 2))])).to.not.throw();
    expect(refusal(config, [a, tensor('b', 'FP64', [1, 2], Float64Array.of(1, NaN))])).to.contain("input 'b': element 1");
    expect(() => checkInputRules(modelWith([{ name: 'a', datatype: 'FP32', dims: [2] }]), [a]), 'off by default').to.not.throw();
  });
});

describe('feature statistics: per-column accumulators of 2-D float inputs', () => {
  const followed = (datatype: Tensor['datatype'], columns: number) => new FeatureStatistics(modelWith([{ name: 'x', datatype, dims: [3], statistics: { columns } }]));

  it('follows no input unless the config asks', () => {
    expect(new FeatureStatistics(modelWith([{ name: 'x', datatype: 'FP32', dims: [3] }])).inputs).to.deep.equal([]);
  });

  it('accumulates count, sum, min and max of the finite values per column, counting non-finite ones apart', () => {
    const stats = followed('FP32', 2);
    stats.record([fp32([2, 3], [1, NaN, 100, 3, -2, 100])]);
    stats.record([fp32([1, 3], [Infinity, 4, 100])]);
    const [x] = stats.inputs;
    expect(x.input).to.equal('x');
    expect([...x.count]).to.deep.equal([2, 2]);
    expect([...x.sum]).to.deep.equal([4, 2]);
    expect([...x.min]).to.deep.equal([1, -2]);
    expect([...x.max]).to.deep.equal([3, 4]);
    expect([...x.nonFinite]).to.deep.equal([1, 1]);
  });

  it('reads FP64 and FP16 alike, and follows at most the columns an input has', () => {
    const fp64 = followed('FP64', 8);
    fp64.record([tensor('x', 'FP64', [2, 3], Float64Array.of(0.5, 1, 2, -Infinity, 3, 4))]);
    expect([...fp64.inputs[0].count]).to.deep.equal([1, 2, 2, 0, 0, 0, 0, 0]);
    expect([...fp64.inputs[0].sum]).to.deep.equal([0.5, 4, 6, 0, 0, 0, 0, 0]);
    const fp16 = followed('FP16', 3);
    fp16.record([tensor('x', 'FP16', [2, 3], Uint16Array.of(H.one, H.nan, H.half, H.minusTwo, H.two, H.inf))]);
    const [h] = fp16.inputs;
    expect([...h.count]).to.deep.equal([2, 1, 1]);
    expect([...h.sum]).to.deep.equal([-1, 2, 0.5]);
    expect([...h.min]).to.deep.equal([-2, 2, 0.5]);
    expect([...h.max]).to.deep.equal([1, 2, 0.5]);
    expect([...h.nonFinite]).to.deep.equal([0, 1, 1]);
  });
});
