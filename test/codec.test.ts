import { expect } from 'chai';
import { InferenceError } from '../src/errors';
import { elementSize, type DataType, type NumericArray, type NumericDataType } from '../src/tensor/datatype';
import type { Tensor } from '../src/tensor/tensor';
import {
  decodeInputs, encodeRaw, MAX_ELEMENTS,
  type WireInputTensor, type WireTensorContents,
} from '../src/transport/codec';

function wireInput(name: string, datatype: string, shape: (string | number)[], contents?: WireTensorContents): WireInputTensor {
  return contents === undefined ? { name, datatype, shape } : { name, datatype, shape, contents };
}

/** No bound on BYTES elements: these tests are about decoding; the bound has its own. */
const NO_BYTES_LIMIT = Number.MAX_SAFE_INTEGER;

function decodeOne(input: WireInputTensor, raw?: Uint8Array[]): Tensor {
  const tensors = decodeInputs([input], raw, NO_BYTES_LIMIT);
  expect(tensors).to.have.length(1);
  return tensors[0];
}

function bytesOf(data: NumericArray): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A fresh, offset-0 copy, as a raw_input_contents entry that is trivially aligned. */
function alignedCopy(data: NumericArray): Buffer {
  return Buffer.from(data.slice().buffer);
}

/** A copy of `bytes` starting at an odd byteOffset, as protobuf slices can be. */
function unalignedCopy(bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.alloc(1), bytes]).subarray(1);
}

/** BYTES framing written independently of encodeRaw, so the two check each other. */
function frame(elements: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const element of elements) {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(element.byteLength);
    parts.push(prefix, Buffer.from(element));
  }
  return Buffer.concat(parts);
}

function expectInvalid(decode: () => unknown, names: string, fragment?: RegExp): InferenceError {
  let caught: unknown;
  try {
    decode();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected decodeInputs to throw').to.be.instanceOf(InferenceError);
  const error = caught as InferenceError;
  expect(error.code).to.equal('INVALID_ARGUMENT');
  expect(error.message).to.contain(names);
  if (fragment !== undefined) expect(error.message).to.match(fragment);
  return error;
}

interface NumericCase {
  readonly datatype: NumericDataType;
  readonly expected: NumericArray;
  /** Absent for FP16, which has no typed field. */
  readonly contents?: WireTensorContents;
}

const NUMERIC_CASES: readonly NumericCase[] = [
  { datatype: 'BOOL', expected: Uint8Array.of(1, 0, 0, 1), contents: { bool_contents: [true, false, false, true] } },
  { datatype: 'UINT8', expected: Uint8Array.of(0, 1, 128, 255), contents: { uint_contents: [0, 1, 128, 255] } },
  { datatype: 'INT8', expected: Int8Array.of(-128, -1, 0, 127), contents: { int_contents: [-128, -1, 0, 127] } },
  { datatype: 'UINT16', expected: Uint16Array.of(0, 1, 32768, 65535), contents: { uint_contents: [0, 1, 32768, 65535] } },
  { datatype: 'INT16', expected: Int16Array.of(-32768, -1, 0, 32767), contents: { int_contents: [-32768, -1, 0, 32767] } },
  {
    datatype: 'UINT32', expected: Uint32Array.of(0, 1, 2147483648, 4294967295),
    contents: { uint_contents: [0, 1, 2147483648, 4294967295] },
  },
  {
    datatype: 'INT32', expected: Int32Array.of(-2147483648, -1, 0, 2147483647),
    contents: { int_contents: [-2147483648, -1, 0, 2147483647] },
  },
  {
    datatype: 'UINT64', expected: BigUint64Array.of(0n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n),
    contents: { uint64_contents: ['0', '9007199254740993', '9223372036854775808', '18446744073709551615'] },
  },
  {
    datatype: 'INT64', expected: BigInt64Array.of(-(2n ** 63n), -(2n ** 53n) - 1n, 2n ** 53n + 1n, 2n ** 63n - 1n),
    contents: { int64_contents: ['-9223372036854775808', '-9007199254740993', '9007199254740993', '9223372036854775807'] },
  },
  // 1.0, -2.0, +infinity and a NaN with a payload: the bit patterns must survive untouched.
  { datatype: 'FP16', expected: Uint16Array.of(0x3c00, 0xc000, 0x7c00, 0x7e01) },
  { datatype: 'FP32', expected: Float32Array.of(1.5, -0, -3.25, Infinity), contents: { fp32_contents: [1.5, -0, -3.25, Infinity] } },
  {
    datatype: 'FP64', expected: Float64Array.of(Math.PI, -1e300, 5e-324, NaN),
    contents: { fp64_contents: [Math.PI, -1e300, 5e-324, NaN] },
  },
];

const BYTES_ELEMENTS: readonly Buffer[] = [
  Buffer.alloc(0),
  Buffer.from('héllo', 'utf8'),
  Buffer.from([0xff, 0xfe, 0x00, 0x80]), // not UTF-8
  Buffer.from([0xc3]), // a truncated UTF-8 sequence
];

function expectBytesData(tensor: Tensor, expected: readonly Uint8Array[]): void {
  expect(tensor.datatype).to.equal('BYTES');
  const data = tensor.data as readonly Uint8Array[];
  expect(data).to.have.length(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Buffer.from(data[i]).equals(expected[i]), `element ${i}`).to.equal(true);
}

describe('tensor codec', () => {
  describe('round trips through raw_input_contents', () => {
    for (const { datatype, expected } of NUMERIC_CASES) {
      it(`decodes ${datatype} from raw bytes and encodes it back to the same bytes`, () => {
        const raw = alignedCopy(expected);
        const tensor = decodeOne(wireInput('x', datatype, ['2', '2']), [raw]);
        expect(tensor).to.deep.include({ name: 'x', datatype, shape: [2, 2] });
        expect(tensor.data).to.deep.equal(expected);
        expect(encodeRaw(tensor).equals(raw)).to.equal(true);
      });

      it(`views aligned raw ${datatype} bytes without copying them`, () => {
        const raw = alignedCopy(expected);
        const data = decodeOne(wireInput('x', datatype, ['2', '2']), [raw]).data as NumericArray;
        expect(data.buffer).to.equal(raw.buffer);
        expect(encodeRaw({ name: 'x', datatype, shape: [2, 2], data }).buffer).to.equal(raw.buffer);
      });

      if (elementSize(datatype) > 1) {
        it(`decodes ${datatype} from raw bytes at an unaligned offset`, () => {
          const raw = unalignedCopy(bytesOf(expected));
          expect(raw.byteOffset % elementSize(datatype)).to.not.equal(0);
          const tensor = decodeOne(wireInput('x', datatype, ['2', '2']), [raw]);
          expect(tensor.data).to.deep.equal(expected);
          expect(encodeRaw(tensor).equals(raw)).to.equal(true);
        });
      }
    }

    it('decodes BYTES with empty and non-UTF-8 elements and encodes them back to the same framing', () => {
      const raw = frame(BYTES_ELEMENTS);
      const tensor = decodeOne(wireInput('s', 'BYTES', ['4']), [raw]);
      expectBytesData(tensor, BYTES_ELEMENTS);
      expect(encodeRaw(tensor).equals(raw)).to.equal(true);
    });

    it('decodes raw BYTES elements as views into the request buffer', () => {
      const raw = frame(BYTES_ELEMENTS);
      const data = decodeOne(wireInput('s', 'BYTES', ['2', '2']), [raw]).data as readonly Uint8Array[];
      for (const element of data) expect(element.buffer).to.equal(raw.buffer);
    });

    it('decodes BYTES framing at an unaligned offset', () => {
      const raw = unalignedCopy(frame(BYTES_ELEMENTS));
      expectBytesData(decodeOne(wireInput('s', 'BYTES', ['4']), [raw]), BYTES_ELEMENTS);
    });

    it('decodes several raw inputs, each from its own entry in order', () => {
      const [a, b] = decodeInputs(
        [wireInput('a', 'INT32', ['2']), wireInput('b', 'BYTES', ['1'])],
        [alignedCopy(Int32Array.of(7, -7)), frame([Buffer.from('z')])],
        NO_BYTES_LIMIT,
      );
      expect(a.data).to.deep.equal(Int32Array.of(7, -7));
      expectBytesData(b, [Buffer.from('z')]);
    });

    it('ignores typed contents that hold only empty lists beside raw_input_contents', () => {
      const tensor = decodeOne(wireInput('x', 'FP32', ['1'], { fp32_contents: [] }), [alignedCopy(Float32Array.of(2))]);
      expect(tensor.data).to.deep.equal(Float32Array.of(2));
    });
  });

  describe('round trips through typed contents', () => {
    for (const { datatype, expected, contents } of NUMERIC_CASES) {
      if (contents === undefined) continue;
      it(`decodes ${datatype} from ${Object.keys(contents)[0]} and encodes it to its raw bytes`, () => {
        const tensor = decodeOne(wireInput('x', datatype, ['2', '2'], contents));
        expect(tensor).to.deep.include({ name: 'x', datatype, shape: [2, 2] });
        expect(tensor.data).to.deep.equal(expected);
        expect(encodeRaw(tensor).equals(bytesOf(expected))).to.equal(true);
      });
    }

    it('decodes BYTES with empty and non-UTF-8 elements from bytes_contents and encodes them to framed bytes', () => {
      const tensor = decodeOne(wireInput('s', 'BYTES', ['4'], { bytes_contents: [...BYTES_ELEMENTS] }));
      expectBytesData(tensor, BYTES_ELEMENTS);
      expect(encodeRaw(tensor).equals(frame(BYTES_ELEMENTS))).to.equal(true);
    });

    it('accepts INT64 values given as numbers as well as decimal strings', () => {
      const tensor = decodeOne(wireInput('x', 'INT64', [2], { int64_contents: [-5, '6'] }));
      expect(tensor.data).to.deep.equal(BigInt64Array.of(-5n, 6n));
    });
  });

  describe('shapes', () => {
    it('accepts dims given as numbers as well as decimal strings', () => {
      expect(decodeOne(wireInput('x', 'UINT8', [1, '2'], { uint_contents: [1, 2] })).shape).to.deep.equal([1, 2]);
    });

    it('treats an absent shape as a scalar of one element', () => {
      const tensor = decodeOne({ name: 'x', datatype: 'FP64', contents: { fp64_contents: [0.5] } });
      expect(tensor.shape).to.deep.equal([]);
      expect(tensor.data).to.deep.equal(Float64Array.of(0.5));
    });

    it('decodes an empty FP32 tensor with a 0 dim from empty raw bytes', () => {
      const tensor = decodeOne(wireInput('x', 'FP32', ['0', '3']), [Buffer.alloc(0)]);
      expect(tensor.shape).to.deep.equal([0, 3]);
      expect(tensor.data).to.deep.equal(new Float32Array(0));
      expect(encodeRaw(tensor).length).to.equal(0);
    });

    it('decodes an empty INT64 tensor whose contents the client left out', () => {
      expect(decodeOne(wireInput('x', 'INT64', ['3', '0'])).data).to.deep.equal(new BigInt64Array(0));
    });

    it('decodes an empty INT32 tensor from an empty typed list', () => {
      expect(decodeOne(wireInput('x', 'INT32', ['0'], { int_contents: [] })).data).to.deep.equal(new Int32Array(0));
    });

    it('decodes an empty BYTES tensor from empty raw bytes and encodes it to no bytes', () => {
      const tensor = decodeOne(wireInput('s', 'BYTES', ['0']), [Buffer.alloc(0)]);
      expect(tensor.data).to.deep.equal([]);
      expect(encodeRaw(tensor).length).to.equal(0);
    });
  });

  describe('rejects malformed inputs', () => {
    const fp32 = (shape: (string | number)[], raw: Uint8Array) => () => decodeInputs([wireInput('features', 'FP32', shape)], [raw], NO_BYTES_LIMIT);

    it('finds a repeated name among many inputs in time linear in their number, not quadratic', () => {
      /** The quickest of five decodes of `count` empty inputs whose last repeats the first, in ms. */
      const fastest = (count: number): number => {
        const wires = Array.from({ length: count }, (_, i) => wireInput(`i${i % (count - 1)}`, 'FP32', [0]));
        let best = Infinity;
        for (let run = 0; run < 5; run++) {
          const started = performance.now();
          expectInvalid(() => decodeInputs(wires, undefined, NO_BYTES_LIMIT), "'i0'", /more than once/);
          best = Math.min(best, performance.now() - started);
        }
        return best;
      };
      const small = fastest(1_000);
      const large = fastest(64_000);
      // 64 times the inputs: linear work takes about 64 times as long (seen up to 4.5 times more, from
      // the garbage collector and caches at the larger size); the scan of each against all, 4,096 times.
      expect(large, `1,000 inputs: ${small.toFixed(2)} ms, 64,000: ${large.toFixed(2)} ms`).to.be.below(512 * small);
    });

    it('rejects an unknown datatype', () => {
      expectInvalid(() => decodeOne(wireInput('features', 'FLOAT32', ['1'], { fp32_contents: [1] })), "'features'", /FLOAT32.*expected one of BOOL/);
    });

    it('rejects a missing datatype', () => {
      expectInvalid(() => decodeOne({ name: 'features', shape: ['1'], contents: { fp32_contents: [1] } }), "'features'", /datatype ''/);
    });

    it('rejects a negative dim', () => {
      expectInvalid(fp32(['2', '-1'], Buffer.alloc(0)), "'features'", /shape\[1\] is -1.*>= 0/);
    });

    it('rejects a non-integer dim given as a number', () => {
      expectInvalid(fp32([2.5], Buffer.alloc(10)), "'features'", /shape\[0\] is 2\.5/);
    });

    it('rejects a non-integer dim given as a string', () => {
      expectInvalid(fp32(['2.5'], Buffer.alloc(10)), "'features'", /shape\[0\] is 2\.5/);
    });

    it('rejects a dim beyond Number.MAX_SAFE_INTEGER', () => {
      expectInvalid(fp32(['9007199254740993'], Buffer.alloc(4)), "'features'", /shape\[0\] is 9007199254740993.*at most/);
    });

    it('rejects a shape whose element count overflows the bound', () => {
      expect(65536 * 65536).to.be.above(MAX_ELEMENTS);
      expectInvalid(fp32(['65536', '65536'], Buffer.alloc(4)), "'features'", /4294967296 elements: expected at most/);
    });

    it('rejects a shape whose element count overflows even a double before anything is allocated', () => {
      const huge = Array.from({ length: 40 }, () => '9007199254740991');
      expectInvalid(() => decodeOne(wireInput('features', 'FP64', huge)), "'features'", /expected at most/);
    });

    it('rejects raw bytes too small for the shape', () => {
      expectInvalid(fp32(['2'], Buffer.alloc(7)), "'features'", /expected 8 bytes.*got 7/);
    });

    it('rejects raw bytes too big for the shape', () => {
      expectInvalid(fp32(['2'], Buffer.alloc(9)), "'features'", /expected 8 bytes.*got 9/);
    });

    it('rejects raw BYTES whose last element is shorter than its length prefix', () => {
      const raw = frame([Buffer.from('ab'), Buffer.from('cd')]);
      expectInvalid(() => decodeOne(wireInput('text', 'BYTES', ['2']), [raw.subarray(0, raw.length - 1)]), "'text'", /element 1 is truncated/);
    });

    it('rejects raw BYTES that end inside a length prefix', () => {
      const raw = Buffer.concat([frame([Buffer.from('abcdef')]), Buffer.from([1, 0])]);
      expectInvalid(() => decodeOne(wireInput('text', 'BYTES', ['2']), [raw]), "'text'", /element 1 is truncated/);
    });

    it('rejects raw BYTES too short to hold a length prefix per element, before allocating them', () => {
      expectInvalid(() => decodeOne(wireInput('text', 'BYTES', ['1000000000']), [Buffer.alloc(8)]), "'text'", /got only 8 bytes/);
    });

    it('rejects raw BYTES with bytes left over after the last element', () => {
      const raw = Buffer.concat([frame([Buffer.from('ab')]), Buffer.from([0])]);
      expectInvalid(() => decodeOne(wireInput('text', 'BYTES', ['1']), [raw]), "'text'", /1 bytes after them/);
    });

    it('rejects a typed value count that does not match the shape', () => {
      expectInvalid(() => decodeOne(wireInput('features', 'FP32', ['2', '2'], { fp32_contents: [1, 2, 3] })), "'features'", /expected 4 values.*got 3/);
    });

    it('rejects typed contents in a field that does not match the datatype', () => {
      expectInvalid(
        () => decodeOne(wireInput('features', 'FP32', ['2'], { int_contents: [1, 2] })),
        "'features'", /FP32 takes contents\.fp32_contents, got contents\.int_contents/,
      );
    });

    it('rejects FP16 in typed contents and points the client to raw_input_contents', () => {
      expectInvalid(() => decodeOne(wireInput('half', 'FP16', ['1'], { fp32_contents: [1] })), "'half'", /raw_input_contents/);
    });

    it('rejects raw and typed contents together', () => {
      expectInvalid(
        () => decodeInputs(
          [wireInput('a', 'FP32', ['1']), wireInput('features', 'FP32', ['1'], { fp32_contents: [1] })],
          [Buffer.alloc(4), Buffer.alloc(4)],
          NO_BYTES_LIMIT,
        ),
        "'features'", /raw and typed contents together/,
      );
    });

    it('rejects fewer raw entries than inputs, naming the first input without one', () => {
      expectInvalid(
        () => decodeInputs([wireInput('a', 'FP32', ['1']), wireInput('features', 'FP32', ['1'])], [Buffer.alloc(4)], NO_BYTES_LIMIT),
        "'features'", /expected one raw_input_contents entry per input \(2\), got 1/,
      );
    });

    it('rejects more raw entries than inputs, naming the inputs', () => {
      expectInvalid(
        () => decodeInputs([wireInput('features', 'FP32', ['1'])], [Buffer.alloc(4), Buffer.alloc(4)], NO_BYTES_LIMIT),
        "'features'", /per input \(1\), got 2/,
      );
    });

    it('rejects an input with neither contents nor raw_input_contents', () => {
      expectInvalid(() => decodeOne(wireInput('features', 'FP32', ['2'])), "'features'", /no data: expected 2 values/);
    });

    it('rejects a duplicate input name', () => {
      expectInvalid(
        () => decodeInputs([wireInput('features', 'INT8', ['1'], { int_contents: [1] }), wireInput('features', 'INT8', ['1'], { int_contents: [2] })], [], NO_BYTES_LIMIT),
        "'features'", /more than once/,
      );
    });

    it('rejects an input with an empty name, naming it by position', () => {
      expectInvalid(() => decodeInputs([{ datatype: 'INT8', shape: ['1'], contents: { int_contents: [1] } }], undefined, NO_BYTES_LIMIT), 'input 0', /name is empty/);
    });

    const OUT_OF_RANGE: readonly [DataType, WireTensorContents, string][] = [
      ['INT8', { int_contents: [128] }, '128'],
      ['INT8', { int_contents: [-129] }, '-129'],
      ['UINT8', { uint_contents: [256] }, '256'],
      ['UINT8', { uint_contents: [-1] }, '-1'],
      ['INT16', { int_contents: [32768] }, '32768'],
      ['UINT16', { uint_contents: [65536] }, '65536'],
      ['INT32', { int_contents: [2147483648] }, '2147483648'],
      ['UINT32', { uint_contents: [4294967296] }, '4294967296'],
      ['INT32', { int_contents: [1.5] }, '1.5'],
      ['INT64', { int64_contents: ['9223372036854775808'] }, '9223372036854775808'],
      ['UINT64', { uint64_contents: ['18446744073709551616'] }, '18446744073709551616'],
      ['UINT64', { uint64_contents: ['-1'] }, '-1'],
      ['INT64', { int64_contents: ['twelve'] }, 'twelve'],
    ];
    for (const [datatype, contents, value] of OUT_OF_RANGE) {
      it(`rejects ${value} in typed contents as out of range for ${datatype}`, () => {
        // The index, never the value: error messages reach the logs, tensor contents must not.
        const error = expectInvalid(() => decodeOne(wireInput('features', datatype, ['1'], contents)), "'features'", new RegExp(`\\[0\\] is .*${datatype}`));
        expect(error.message.replace(/-?[0-9]+\.\.-?[0-9]+/, '<range>')).to.not.contain(value);
      });
    }

    it('rejects a raw BOOL byte other than 0 or 1', () => {
      expectInvalid(() => decodeOne(wireInput('mask', 'BOOL', ['3']), [Buffer.from([1, 0, 2])]), "'mask'", /element 2 is neither 0 nor 1/);
    });

    it('rejects a bytes_contents element that is not bytes', () => {
      // A string where bytes belong, as a client with the wrong proto-loader options might send.
      const contents = { bytes_contents: ['text'] } as unknown as WireTensorContents;
      expectInvalid(() => decodeOne(wireInput('text', 'BYTES', ['1'], contents)), "'text'", /must be bytes/);
    });
  });
});
