/** checkRequestLimits: the element count over all inputs, and the largest BYTES element. */
import { expect } from 'chai';
import { InferenceError } from '../src/errors';
import { checkRequestLimits } from '../src/dataplane/request-limits';
import type { Tensor } from '../src/tensor/tensor';

const fp32 = (name: string, shape: number[]): Tensor => ({ name, datatype: 'FP32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
const bytes = (name: string, elements: string[]): Tensor => ({ name, datatype: 'BYTES', shape: [elements.length], data: elements.map((e) => Buffer.from(e)) });

function refusal(run: () => void): InferenceError {
  try {
    run();
  } catch (err) {
    expect(err).to.be.instanceOf(InferenceError);
    return err as InferenceError;
  }
  return expect.fail('expected a refusal');
}

describe('checkRequestLimits', () => {
  it('counts elements over all inputs and names the input that crosses the limit', () => {
    const limits = { maxElements: 10, maxBytesElements: 100, maxBytesElementBytes: 100 };
    checkRequestLimits(limits, [fp32('a', [2, 3]), fp32('b', [4])]);
    const err = refusal(() => checkRequestLimits(limits, [fp32('a', [2, 3]), fp32('b', [5])]));
    expect(err.code).to.equal('INVALID_ARGUMENT');
    expect(err.message).to.contain("input 'b'").and.contain('11 elements').and.contain('limit of 10').and.contain('MAX_REQUEST_ELEMENTS');
  });

  it('refuses a BYTES element over the limit, naming its index, and lets one at the limit through', () => {
    const limits = { maxElements: 100, maxBytesElements: 100, maxBytesElementBytes: 3 };
    checkRequestLimits(limits, [bytes('s', ['abc', ''])]);
    const err = refusal(() => checkRequestLimits(limits, [bytes('s', ['abc', 'abcd'])]));
    expect(err.code).to.equal('INVALID_ARGUMENT');
    expect(err.message).to.contain("input 's': element 1 holds 4 bytes").and.contain('limit of 3').and.contain('MAX_BYTES_ELEMENT_BYTES');
  });
});
