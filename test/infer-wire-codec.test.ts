import { expect } from 'chai';
import type { MethodDefinition } from '@grpc/grpc-js';
import { loadInferenceService } from '../src/transport/protos';
import { decodeModelInferRequest } from '../src/transport/infer-request-decoder';
import { encodeModelInferResponse, encodeStreamInferResponse } from '../src/transport/infer-response-encoder';
import type { InferResult } from '../src/dataplane/infer-request';
import type { WireInferRequest } from '../src/transport/wire-types';

// proto-loader's own codec for the same messages is the reference both ways.
const service = loadInferenceService();
const infer = service.ModelInfer as MethodDefinition<object, object>;
const stream = service.ModelStreamInfer as MethodDefinition<object, object>;
const libraryDecode = (bytes: Buffer): WireInferRequest => infer.requestDeserialize(bytes) as WireInferRequest;

/** Decodes with the fast reader, noting whether it handed the message to the library. */
function fastDecode(bytes: Buffer): { request: WireInferRequest; fellBack: boolean } {
  let fellBack = false;
  const request = decodeModelInferRequest(
    bytes,
    (b) => {
      fellBack = true;
      return libraryDecode(b);
    },
    { maxBytesElements: Number.MAX_SAFE_INTEGER },
  );
  return { request, fellBack };
}

/** The library gives int64 dims as strings; the fast reader gives numbers where they are exact. */
function dimsAsNumbers(request: WireInferRequest): unknown {
  return JSON.parse(JSON.stringify(request, (key, value: unknown) => {
    if (key === 'shape' && Array.isArray(value)) {
      return value.map((d: string | number) => (Number.isSafeInteger(Number(d)) ? Number(d) : String(d)));
    }
    if (value instanceof Uint8Array || (typeof value === 'object' && value !== null && (value as { type?: string }).type === 'Buffer')) {
      return Buffer.from(value as Uint8Array).toString('hex');
    }
    return value;
  }));
}

function expectSameAsLibrary(message: object): WireInferRequest {
  const bytes = infer.requestSerialize(message);
  const { request, fellBack } = fastDecode(bytes);
  expect(fellBack, 'took the fast path').to.equal(false);
  expect(dimsAsNumbers(request)).to.deep.equal(dimsAsNumbers(libraryDecode(bytes)));
  return request;
}

const f32 = (...values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);

/** A length-delimited field, written by hand for encodings the library never produces. */
function field(fieldNumber: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(fieldNumber << 3) | 2, payload.length]), payload]);
}

describe('ModelInfer wire codec', () => {
  describe('request decoder', () => {
    it('reads a raw-contents request exactly as proto-loader does', () => {
      const request = expectSameAsLibrary({
        model_name: 'stock_scorer',
        model_version: '1',
        id: 'req-7',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 8] }],
        outputs: [{ name: 'score' }],
        raw_input_contents: [f32(...Array.from({ length: 16 }, (_, i) => i / 3))],
      });
      expect(request.inputs?.[0].shape).to.deep.equal([2, 8]);
    });

    it('reads several inputs, several outputs and unicode names', () => {
      expectSameAsLibrary({
        model_name: 'modèle',
        inputs: [
          { name: 'a', datatype: 'INT64', shape: [1, 3] },
          { name: 'b', datatype: 'BYTES', shape: [] },
          { name: 'ç', datatype: 'BOOL', shape: [0] },
        ],
        outputs: [{ name: 'x' }, { name: 'y' }],
        raw_input_contents: [Buffer.alloc(24, 1), Buffer.from([1, 0, 0, 0, 65]), Buffer.alloc(0)],
      });
    });

    it('keeps int64 dims exact: large ones as strings, negative ones as numbers', () => {
      const request = expectSameAsLibrary({
        model_name: 'm',
        inputs: [{ name: 'x', datatype: 'FP32', shape: ['9007199254740993', '-1', '-9223372036854775808', '4294967296', '127', '128'] }],
      });
      expect(request.inputs?.[0].shape).to.deep.equal(['9007199254740993', -1, '-9223372036854775808', 4294967296, 127, 128]);
    });

    it('reads dims sent unpacked, one varint field each, as proto3 parsers must', () => {
      const input = Buffer.concat([field(1, Buffer.from('x')), field(2, Buffer.from('FP32')), Buffer.from([3 << 3, 2, 3 << 3, 4])]);
      const bytes = Buffer.concat([field(1, Buffer.from('m')), field(5, input)]);
      const { request, fellBack } = fastDecode(bytes);
      expect(fellBack).to.equal(false);
      expect(request.inputs).to.deep.equal([{ name: 'x', datatype: 'FP32', shape: [2, 4] }]);
      expect(dimsAsNumbers(libraryDecode(bytes))).to.deep.equal(dimsAsNumbers(request));
    });

    it('gives raw contents as views of the message, not copies', () => {
      const bytes = infer.requestSerialize({ model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }], raw_input_contents: [f32(1.5)] });
      const raw = fastDecode(bytes).request.raw_input_contents![0];
      expect(raw.buffer).to.equal(bytes.buffer);
      expect(Buffer.from(raw).equals(f32(1.5))).to.equal(true);
    });

    const libraryOnly: Record<string, object> = {
      'request parameters': { model_name: 'm', parameters: { priority: { int64_param: '2' } } },
      'INT64 typed contents': { model_name: 'm', inputs: [{ name: 'x', datatype: 'INT64', shape: [2], contents: { int64_contents: ['1', '2'] } }] },
      'FP32 and BYTES typed contents together': { model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1], bytes_contents: [Buffer.from('a')] } }] },
      'input parameters': { model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: { p: { bool_param: true } } }] },
      'output parameters': { model_name: 'm', outputs: [{ name: 'y', parameters: { classification: { int64_param: '3' } } }] },
    };
    for (const [what, message] of Object.entries(libraryOnly)) {
      it(`hands a request with ${what} to the library decoder`, () => {
        const bytes = infer.requestSerialize(message);
        const { request, fellBack } = fastDecode(bytes);
        expect(fellBack).to.equal(true);
        expect(dimsAsNumbers(request)).to.deep.equal(dimsAsNumbers(libraryDecode(bytes)));
      });
    }

    it('reads packed FP32 and FP64 typed contents exactly as proto-loader does, float32 rounding and NaN included', () => {
      const request = expectSameAsLibrary({
        model_name: 'm',
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [0.1, -2.5, 3.4e38, 1e-45] } },
          { name: 'y', datatype: 'FP64', shape: [2], contents: { fp64_contents: [0.1, -1e308] } },
          { name: 'e', datatype: 'FP32', shape: [0], contents: {} },
        ],
      });
      expect(request.inputs?.[0].contents?.fp32_contents).to.deep.equal(Array.from(new Float32Array([0.1, -2.5, 3.4e38, 1e-45])));
      const nan = fastDecode(infer.requestSerialize({ model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32_contents: [NaN] } }] }));
      expect(nan.fellBack).to.equal(false);
      expect(nan.request.inputs?.[0].contents?.fp32_contents?.[0]).to.be.NaN;
    });

    it('hands typed floats sent unpacked, or a packed field cut inside a value, to the library', () => {
      // fp32_contents as one fixed32 field (wire type 5): legal, never written by proto3 encoders.
      const unpacked = Buffer.concat([Buffer.from([(6 << 3) | 5]), f32(1.5)]);
      const input = field(5, Buffer.concat([field(1, Buffer.from('x')), field(2, Buffer.from('FP32')), field(5, unpacked)]));
      const viaUnpacked = fastDecode(input);
      expect(viaUnpacked.fellBack).to.equal(true);
      expect(viaUnpacked.request.inputs?.[0].contents?.fp32_contents).to.deep.equal([1.5]);
      const cut = field(5, Buffer.concat([field(1, Buffer.from('x')), field(5, field(6, Buffer.alloc(6)))]));
      expect(fastDecode(cut).fellBack).to.equal(true);
    });

    it('hands unknown fields to the library, which skips them', () => {
      const bytes = Buffer.concat([field(1, Buffer.from('m')), Buffer.from([(15 << 3) | 0, 1])]);
      const { request, fellBack } = fastDecode(bytes);
      expect(fellBack).to.equal(true);
      expect(request.model_name).to.equal('m');
    });

    it('leaves malformed bytes to the library: its error as `malformed`, or the same lenient result', () => {
      const bytes = infer.requestSerialize({ model_name: 'stock_scorer', raw_input_contents: [f32(1, 2, 3)] });
      const odd = [bytes.subarray(0, bytes.length - 3), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x7f]), Buffer.from([0x00]), Buffer.from([0x00, 0x00])];
      const outcome = (decode: () => unknown): unknown => {
        try {
          const request = decode() as WireInferRequest;
          return request.malformed === undefined ? dimsAsNumbers(request) : `throws ${request.malformed}`;
        } catch (err) {
          return `throws ${(err as Error).message}`;
        }
      };
      for (const cut of odd) {
        const { fellBack } = (() => {
          try {
            return fastDecode(cut);
          } catch {
            return { fellBack: true };
          }
        })();
        expect(fellBack, cut.toString('hex')).to.equal(true);
        expect(outcome(() => fastDecode(cut).request)).to.deep.equal(outcome(() => libraryDecode(cut)));
      }
      expect(outcome(() => libraryDecode(odd[0]))).to.match(/^throws /);
    });
  });

  describe('response encoder', () => {
    const result: InferResult = {
      modelName: 'stock_scorer',
      modelVersion: '3',
      id: 'req-7',
      outputs: [
        { name: 'score', datatype: 'FP32', shape: [2, 1], data: new Float32Array([0.25, -1.5]) },
        { name: 'label', datatype: 'BYTES', shape: [2], data: [Buffer.from('up'), Buffer.from('')] },
        { name: 'big', datatype: 'INT8', shape: [4294967296 * 8, 0], data: new Int8Array(0) },
      ],
    };

    const expectedResponse = {
      model_name: 'stock_scorer',
      model_version: '3',
      id: 'req-7',
      outputs: [
        { name: 'score', datatype: 'FP32', shape: ['2', '1'] },
        { name: 'label', datatype: 'BYTES', shape: ['2'] },
        { name: 'big', datatype: 'INT8', shape: ['34359738368', '0'] },
      ],
      raw_output_contents: [f32(0.25, -1.5), Buffer.from([2, 0, 0, 0, 0x75, 0x70, 0, 0, 0, 0]), Buffer.alloc(0)],
    };

    it('writes a ModelInferResponse that proto-loader reads back field for field', () => {
      expect(infer.responseDeserialize(encodeModelInferResponse(result))).to.deep.equal(expectedResponse);
    });

    it('leaves out empty strings and shapes, as proto3 does', () => {
      const bare: InferResult = { modelName: 'm', modelVersion: '', id: '', outputs: [{ name: 'y', datatype: 'FP32', shape: [], data: new Float32Array([7]) }] };
      const bytes = encodeModelInferResponse(bare);
      expect(infer.responseDeserialize(bytes)).to.deep.equal({ model_name: 'm', outputs: [{ name: 'y', datatype: 'FP32' }], raw_output_contents: [f32(7)] });
      expect(bytes.equals(infer.responseSerialize({ model_name: 'm', outputs: [{ name: 'y', datatype: 'FP32' }], raw_output_contents: [f32(7)] }))).to.equal(true);
    });

    it('writes a stream result as infer_response', () => {
      expect(stream.responseDeserialize(encodeStreamInferResponse({ result }))).to.deep.equal({ infer_response: expectedResponse });
    });

    it('writes a stream error with the request ids echoed', () => {
      const bytes = encodeStreamInferResponse({ error: "unknown model 'nope'", modelName: 'nope', modelVersion: '', id: 'q1' });
      expect(stream.responseDeserialize(bytes)).to.deep.equal({ error_message: "unknown model 'nope'", infer_response: { model_name: 'nope', id: 'q1' } });
    });
  });
});
