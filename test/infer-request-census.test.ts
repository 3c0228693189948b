/** The census alone: what it counts from a ModelInferRequest's bytes, and what it leaves to the decoder. */
import { expect } from 'chai';
import { censusRefusal, MAX_DIMS, MAX_PARAMETERS } from '../src/transport/infer-request-census';
import { lenField, tag, varint, varintField, WIRE } from '../scripts/fuzz/proto-bytes';

const LIMITS = { maxBytesElements: 3 };
const parameter = (key: string): Buffer => lenField(1, Buffer.from(key));
const input = (...fields: Buffer[]): Buffer => lenField(5, Buffer.concat(fields));

describe('ModelInferRequest census', () => {
  it('passes a request within every bound, and bytes that are not protobuf (the decoder names those)', () => {
    const ok = Buffer.concat([lenField(1, Buffer.from('m')), input(lenField(1, Buffer.from('x')), lenField(3, Buffer.from([1, 8])))]);
    expect(censusRefusal(ok, LIMITS)).to.equal(undefined);
    expect(censusRefusal(Buffer.from('9a2b7ce1ff00ff13370042', 'hex'), LIMITS)).to.equal(undefined);
    expect(censusRefusal(Buffer.concat([tag(1, WIRE.LEN), varint(1000)]), LIMITS)).to.equal(undefined);
  });

  it('counts dims packed and one varint each alike, per input', () => {
    const packed = Buffer.alloc(MAX_DIMS, 1);
    const within = input(lenField(3, packed));
    expect(censusRefusal(Buffer.concat([within, within]), LIMITS)).to.equal(undefined);
    const over = input(lenField(3, packed), varintField(3, 1));
    expect(censusRefusal(Buffer.concat([within, over]), LIMITS)).to.equal(`input 1: shape has ${MAX_DIMS + 1} dims: expected at most ${MAX_DIMS}`);
  });

  it("counts the request's, the inputs' and the outputs' parameters together", () => {
    // A quarter of the bound and one more for the inputs and the outputs, twice that for the request:
    // four over the bound; without four of the request's, at it.
    const each = MAX_PARAMETERS / 4 + 1;
    const request = Array.from({ length: 2 * each }, (_, i) => lenField(4, parameter(`r${i}`)));
    const inputs = input(...Array.from({ length: each }, (_, i) => lenField(4, parameter(`i${i}`))));
    const outputs = lenField(6, Buffer.concat(Array.from({ length: each }, (_, i) => lenField(2, parameter(`o${i}`)))));
    expect(censusRefusal(Buffer.concat([...request, inputs, outputs]), LIMITS)).to.equal(
      `parameters: ${MAX_PARAMETERS + 4} in the request and its tensors: expected at most ${MAX_PARAMETERS}`,
    );
    expect(censusRefusal(Buffer.concat([...request.slice(4), inputs, outputs]), LIMITS)).to.equal(undefined);
  });

  it('counts bytes_contents elements across inputs against the BYTES limit', () => {
    const contents = (n: number): Buffer => lenField(5, Buffer.concat(Array.from({ length: n }, () => lenField(8, Buffer.alloc(0)))));
    expect(censusRefusal(Buffer.concat([input(contents(2)), input(contents(1))]), LIMITS)).to.equal(undefined);
    expect(censusRefusal(Buffer.concat([input(contents(2)), input(contents(2))]), LIMITS)).to.match(/^contents.bytes_contents: 4 elements: over the server's limit of 3 .*MAX_BYTES_ELEMENTS/);
  });
});
