/**
 * A table of malformed ModelInferRequests, sent as raw bytes over HTTP/2 (protobufjs encodes
 * the rows that are valid protobuf; the rest are written byte by byte): each gets its gRPC
 * status and a message naming the field, over ModelInfer and in-stream over ModelStreamInfer,
 * and a good request is answered correctly after every one. e2e-errors.test.ts holds the
 * cases this table does not repeat (unknown model and version, wrong rank, max_batch_size...).
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { gzipSync } from 'node:zlib';
import { H2Channel, grpcFrame, type CallOutcome } from '../scripts/fuzz/h2-client';
import { lenField, tag, varint, varintField, WIRE } from '../scripts/fuzz/proto-bytes';
import {
  echoInput, echoRawRequest, echoTypedRequest, ECHO_TYPES, ELEMENT_SIZE, frameBytes, scorerRequest, scorerTypedRequest, typedContents,
  type EchoType, type RequestObject,
} from '../scripts/fuzz/seeds';
import { decodeResponse, decodeStreamResponse, encodeRequest, MODEL_INFER_PATH, MODEL_STREAM_INFER_PATH } from '../scripts/fuzz/wire';
import { startTestServer, type TestServer } from './support/server';

interface Row {
  readonly name: string;
  readonly bytes: () => Buffer;
  readonly code: status;
  /** What grpc-message (or the stream's error_message) must match: the field it names. */
  readonly message: RegExp;
}

/** A request object, bent by `patch`, encoded. */
function bent(base: () => RequestObject, patch: (r: RequestObject) => void): () => Buffer {
  return () => {
    const request = base();
    patch(request);
    return encodeRequest(request);
  };
}

const echo = (patch: (r: RequestObject) => void) => bent(() => echoRawRequest(1, 2), patch);
const echoTyped = (patch: (r: RequestObject) => void) => bent(() => echoTypedRequest(1, 2), patch);
const scorer = (patch: (r: RequestObject) => void) => bent(() => scorerRequest(1), patch);
const at = (datatype: EchoType): number => ECHO_TYPES.indexOf(datatype);
const FIXED = ECHO_TYPES.filter((d): d is Exclude<EchoType, 'BYTES'> => d !== 'BYTES');
/** The one typed field each datatype takes, and another it does not. */
const OTHER_FIELD: Readonly<Record<string, Record<string, unknown>>> = {
  bool_contents: { int_contents: [1, 0] },
  int_contents: { uint_contents: [1, 0] },
  uint_contents: { int_contents: [1, 0] },
  int64_contents: { uint64_contents: [1, 0] },
  uint64_contents: { int64_contents: [1, 0] },
  fp32_contents: { fp64_contents: [1, 0] },
  fp64_contents: { fp32_contents: [1, 0] },
  bytes_contents: { fp32_contents: [1, 0] },
};
const good = () => encodeRequest(scorerRequest(1));
const NOT_PROTOBUF = /not a valid ModelInferRequest protobuf message/;

const ROWS: readonly Row[] = [
  // Messages that are not protobuf at all, or cut short.
  { name: 'cut short inside raw_input_contents', bytes: () => good().subarray(0, good().length - 5), code: status.INVALID_ARGUMENT, message: /not a valid ModelInferRequest.*index out of range/ },
  { name: 'cut short inside an input tensor', bytes: () => good().subarray(0, 20), code: status.INVALID_ARGUMENT, message: NOT_PROTOBUF },
  { name: 'cut short inside a tag varint', bytes: () => Buffer.concat([good(), Buffer.from([0xd0])]), code: status.INVALID_ARGUMENT, message: NOT_PROTOBUF },
  { name: 'cut short inside a length varint', bytes: () => Buffer.concat([good(), tag(3, WIRE.LEN), Buffer.from([0x80])]), code: status.INVALID_ARGUMENT, message: NOT_PROTOBUF },
  { name: 'a length prefix past the end of the message', bytes: () => Buffer.concat([tag(1, WIRE.LEN), varint(1000), Buffer.from('stock_scorer')]), code: status.INVALID_ARGUMENT, message: /index out of range/ },
  // protobufjs, as the library decoder, reads a length of 2^32 + 12 as 12: the rest is then checked as any request.
  { name: 'a length prefix of 2^32 + 12 (read as 12)', bytes: () => Buffer.concat([tag(1, WIRE.LEN), varint(2 ** 32 + 12), Buffer.from('stock_scorer')]), code: status.INVALID_ARGUMENT, message: /missing input 'features' for model 'stock_scorer'/ },
  { name: 'a dim varint of 11 bytes', bytes: () => Buffer.concat([lenField(1, Buffer.from('stock_scorer')), lenField(5, Buffer.concat([lenField(1, Buffer.from('features')), lenField(2, Buffer.from('FP32')), tag(3, WIRE.VARINT), Buffer.alloc(10, 0x81), Buffer.from([1])]))]), code: status.INVALID_ARGUMENT, message: /not a valid ModelInferRequest.*invalid varint/ },
  { name: 'wire type 7', bytes: () => Buffer.concat([good(), Buffer.from([0x7f])]), code: status.INVALID_ARGUMENT, message: /invalid wire type 7/ },
  { name: 'a group start with no end', bytes: () => Buffer.concat([good(), tag(20, WIRE.SGROUP)]), code: status.INVALID_ARGUMENT, message: NOT_PROTOBUF },
  // protobufjs's Buffer reader used to stop a string at the end of the message instead (answered OK, id cut).
  { name: 'cut short inside its last field, a string (id), with typed contents', bytes: () => {
    const whole = Buffer.concat([encodeRequest(scorerTypedRequest(1)), lenField(3, Buffer.from('request-id-0042'))]);
    return whole.subarray(0, whole.length - 4);
  }, code: status.INVALID_ARGUMENT, message: /not a valid ModelInferRequest.*index out of range/ },
  { name: 'random bytes', bytes: () => Buffer.from('9a2b7ce1ff00ff13370042', 'hex'), code: status.INVALID_ARGUMENT, message: NOT_PROTOBUF },
  { name: 'an input tensor whose embedded length overruns it', bytes: () => Buffer.concat([lenField(1, Buffer.from('stock_scorer')), tag(5, WIRE.LEN), varint(4), lenField(1, Buffer.from('features'))]), code: status.INVALID_ARGUMENT, message: NOT_PROTOBUF },
  { name: 'packed dims whose last varint is cut', bytes: () => Buffer.concat([lenField(1, Buffer.from('stock_scorer')), lenField(5, Buffer.concat([lenField(1, Buffer.from('features')), lenField(2, Buffer.from('FP32')), lenField(3, Buffer.from([1, 0x88]))]))]), code: status.INVALID_ARGUMENT, message: NOT_PROTOBUF },
  // Valid protobuf, wrong at the top level.
  { name: 'the empty message', bytes: () => Buffer.alloc(0), code: status.INVALID_ARGUMENT, message: /model_name is required/ },
  { name: 'a message cut at a field boundary, losing raw_input_contents', bytes: () => encodeRequest({ ...scorerRequest(1), raw_input_contents: undefined }), code: status.INVALID_ARGUMENT, message: /input 'features'.*no data.*fp32_contents or raw_input_contents/ },
  { name: 'model_name that is not UTF-8', bytes: () => Buffer.concat([lenField(1, Buffer.from([0xc3, 0x28, 0xff])), good().subarray(good().indexOf(0x2a))]), code: status.NOT_FOUND, message: /unknown model '\ufffd\(\ufffd'/ },
  // An unknown field sends the message to protobufjs, whose UTF-8 reader makes ED B0 B1 a lone surrogate
  // (U+DC31); grpc-js's encodeURI of grpc-message threw on it, and the call was answered INTERNAL.
  { name: 'model_name that protobufjs reads as a lone surrogate', bytes: () => Buffer.concat([lenField(1, Buffer.from([0xed, 0xb0, 0xb1])), varintField(99, 7), good().subarray(good().indexOf(0x2a))]), code: status.NOT_FOUND, message: /unknown model '\ufffd'/ },
  { name: 'a negative model_version', bytes: scorer((r) => (r.model_version = '-1')), code: status.INVALID_ARGUMENT, message: /'-1'/ },
  { name: 'a model_version past 2^53', bytes: scorer((r) => (r.model_version = '99999999999999999999')), code: status.NOT_FOUND, message: /unknown version '99999999999999999999' of model 'stock_scorer'/ },
  // Parameters of the wrong type.
  { name: 'priority as a string', bytes: scorer((r) => (r.parameters = { priority: { string_param: 'high' } })), code: status.INVALID_ARGUMENT, message: /parameter 'priority'.*non-negative integer/ },
  { name: 'priority as an empty string (was read as 0)', bytes: scorer((r) => (r.parameters = { priority: { string_param: '' } })), code: status.INVALID_ARGUMENT, message: /parameter 'priority'.*int64_param or uint64_param/ },
  { name: 'timeout as a string of digits', bytes: scorer((r) => (r.parameters = { timeout: { string_param: '7' } })), code: status.INVALID_ARGUMENT, message: /parameter 'timeout'.*int64_param or uint64_param/ },
  { name: 'priority negative', bytes: scorer((r) => (r.parameters = { priority: { int64_param: -1 } })), code: status.INVALID_ARGUMENT, message: /parameter 'priority'/ },
  { name: 'priority as a double', bytes: scorer((r) => (r.parameters = { priority: { double_param: 1.5 } })), code: status.INVALID_ARGUMENT, message: /parameter 'priority'/ },
  { name: 'priority with no value', bytes: scorer((r) => (r.parameters = { priority: {} })), code: status.INVALID_ARGUMENT, message: /parameter 'priority'/ },
  { name: 'timeout as a bool', bytes: scorer((r) => (r.parameters = { timeout: { bool_param: true } })), code: status.INVALID_ARGUMENT, message: /parameter 'timeout'/ },
  { name: 'timeout of 2^64 - 1 microseconds', bytes: scorer((r) => (r.parameters = { timeout: { uint64_param: '18446744073709551615' } })), code: status.INVALID_ARGUMENT, message: /parameter 'timeout'/ },
  // Input tensors.
  { name: 'an input with no name', bytes: scorer((r) => (r.inputs[0].name = '')), code: status.INVALID_ARGUMENT, message: /input 0: name is empty/ },
  { name: 'an input with no datatype', bytes: scorer((r) => (r.inputs[0].datatype = '')), code: status.INVALID_ARGUMENT, message: /input 'features': unknown datatype ''/ },
  { name: 'a lower-case datatype', bytes: scorer((r) => (r.inputs[0].datatype = 'fp32')), code: status.INVALID_ARGUMENT, message: /input 'features': unknown datatype 'fp32'/ },
  { name: 'an input with no shape', bytes: scorer((r) => (r.inputs[0].shape = [])), code: status.INVALID_ARGUMENT, message: /input 'features': expected 4 bytes of raw_input_contents for 1 FP32 elements, got 32/ },
  { name: 'a dim of -2^63', bytes: scorer((r) => (r.inputs[0].shape = ['-9223372036854775808', 8])), code: status.INVALID_ARGUMENT, message: /input 'features': shape\[0\] is -9223372036854775808: expected an integer >= 0/ },
  { name: 'a dim written as the uint64 maximum (reads as int64 -1)', bytes: () => Buffer.concat([lenField(1, Buffer.from('stock_scorer')), lenField(5, Buffer.concat([lenField(1, Buffer.from('features')), lenField(2, Buffer.from('FP32')), varintField(3, 2n ** 64n - 1n), varintField(3, 8)])), lenField(7, Buffer.alloc(32))]), code: status.INVALID_ARGUMENT, message: /input 'features': shape\[0\] is -1/ },
  { name: 'a dim of 2^53 (not exact as a double)', bytes: scorer((r) => (r.inputs[0].shape = ['9007199254740992', 8])), code: status.INVALID_ARGUMENT, message: /input 'features': shape\[0\].*at most 9007199254740991/ },
  { name: 'dims whose product passes 2^53', bytes: scorer((r) => (r.inputs[0].shape = ['134217728', '134217729'])), code: status.INVALID_ARGUMENT, message: /input 'features': shape .* elements: expected at most/ },
  { name: 'dims whose product overflows int64 after a 1', bytes: echo((r) => (r.inputs[at('FP64')].shape = [1, '3037000500', '3037000500'])), code: status.INVALID_ARGUMENT, message: /input 'in_fp64': shape .* elements: expected at most/ },
  { name: 'the last of 40 empty inputs named as the first', bytes: () => encodeRequest({ model_name: 'stock_scorer', inputs: Array.from({ length: 40 }, (_, i) => ({ name: `x${i % 39}`, datatype: 'FP32', shape: [0] })) }), code: status.INVALID_ARGUMENT, message: /input 'x0': appears more than once/ },
  { name: '4,097 empty inputs', bytes: () => encodeRequest({ model_name: 'stock_scorer', inputs: Array.from({ length: 4097 }, (_, i) => ({ name: `i${i}`, datatype: 'FP32', shape: [0] })) }), code: status.INVALID_ARGUMENT, message: /inputs: 4097 tensors: expected at most 4096/ },
  // One object per BYTES element, about 450 bytes of heap from 4 bytes: 16M of them in 61 MB ended the process.
  { name: "262,145 empty BYTES elements (MAX_BYTES_ELEMENTS' default plus one)", bytes: echo((r) => {
    r.inputs[at('BYTES')].shape = [1, 262_145];
    r.raw_input_contents![at('BYTES')] = Buffer.alloc(4 * 262_145);
  }), code: status.INVALID_ARGUMENT, message: /input 'in_bytes': 262145 BYTES elements bring the request to 262145, over the server's limit of 262144 \(MAX_BYTES_ELEMENTS\)/ },
  // What protobufjs would build from a few bytes each is counted before it builds it (infer-request-census.ts).
  { name: 'a shape of 65 dims', bytes: scorer((r) => (r.inputs[0].shape = new Array(65).fill(1))), code: status.INVALID_ARGUMENT, message: /input 0: shape has 65 dims: expected at most 64/ },
  { name: '4,097 parameters', bytes: scorer((r) => (r.parameters = Object.fromEntries(Array.from({ length: 4097 }, (_, i) => [`p${i}`, { bool_param: true }])))), code: status.INVALID_ARGUMENT, message: /parameters: 4097 in the request and its tensors: expected at most 4096/ },
  // in_uint64's two values count too: 2^20 + 3 in all.
  { name: '2^20 + 1 int64_contents values', bytes: echoTyped((r) => (r.inputs[at('INT64')].contents = { int64_contents: new Array(2 ** 20 + 1).fill(1) })), code: status.INVALID_ARGUMENT, message: /int64_contents and uint64_contents: 1048579 values: expected at most 1048576; send more as raw_input_contents/ },
  { name: '4,097 requested outputs', bytes: scorer((r) => (r.outputs = Array.from({ length: 4097 }, () => ({ name: 'score' })))), code: status.INVALID_ARGUMENT, message: /outputs: 4097 requested: expected at most 4096/ },
  { name: 'fewer raw_input_contents than inputs', bytes: echo((r) => r.raw_input_contents!.pop()), code: status.INVALID_ARGUMENT, message: /input 'in_bytes': has no raw_input_contents entry/ },
  { name: 'typed contents with two fields set', bytes: scorer((r) => {
    r.raw_input_contents = undefined;
    r.inputs[0].contents = { fp32_contents: new Array(8).fill(1), int_contents: [1] };
  }), code: status.INVALID_ARGUMENT, message: /input 'features': datatype FP32 takes contents.fp32_contents, got contents.int_contents/ },
  { name: 'a zero-sized tensor with raw bytes', bytes: echo((r) => (r.inputs[at('INT32')].shape = [1, 0])), code: status.INVALID_ARGUMENT, message: /input 'in_int32': expected 0 bytes/ },
  // BYTES with broken length prefixes.
  { name: 'BYTES whose length prefix claims more than is there', bytes: echo((r) => (r.raw_input_contents![at('BYTES')] = Buffer.concat([Buffer.from([100, 0, 0, 0]), Buffer.from('abc'), frameBytes([Buffer.from('x')])]))), code: status.INVALID_ARGUMENT, message: /input 'in_bytes': raw BYTES element 0 is truncated: expected 100 bytes/ },
  { name: 'BYTES whose length prefix is 0xffffffff', bytes: echo((r) => (r.raw_input_contents![at('BYTES')] = Buffer.concat([Buffer.alloc(4, 0xff), Buffer.alloc(8)]))), code: status.INVALID_ARGUMENT, message: /input 'in_bytes': raw BYTES element 0 is truncated: expected 4294967295 bytes/ },
  { name: 'BYTES whose second prefix is cut', bytes: echo((r) => (r.raw_input_contents![at('BYTES')] = Buffer.concat([frameBytes([Buffer.from('abcd')]), Buffer.from([1, 0, 0, 0])]))), code: status.INVALID_ARGUMENT, message: /input 'in_bytes': (raw BYTES element 1 is truncated|expected 2 length-prefixed)/ },
  { name: 'BYTES with bytes left after the last element', bytes: echo((r) => (r.raw_input_contents![at('BYTES')] = Buffer.concat([frameBytes([Buffer.from('a'), Buffer.from('b')]), Buffer.from('zz')]))), code: status.INVALID_ARGUMENT, message: /input 'in_bytes': expected 2 BYTES elements in raw_input_contents, got 2 bytes after them/ },
  { name: 'BYTES that is not UTF-8', bytes: echo((r) => (r.raw_input_contents![at('BYTES')] = frameBytes([Buffer.from('ok'), Buffer.from([0xc3, 0x28])]))), code: status.INVALID_ARGUMENT, message: /input 'in_bytes': element 1 is not valid UTF-8/ },
  { name: 'BYTES holding a NUL', bytes: echo((r) => (r.raw_input_contents![at('BYTES')] = frameBytes([Buffer.from('a\0b'), Buffer.from('c')]))), code: status.INVALID_ARGUMENT, message: /input 'in_bytes': element 0 holds a NUL byte/ },
  { name: 'typed BYTES with one element short', bytes: echoTyped((r) => (r.inputs[at('BYTES')].contents = { bytes_contents: [Buffer.from('a')] })), code: status.INVALID_ARGUMENT, message: /input 'in_bytes': expected 2 values in contents.bytes_contents, got 1/ },
  // Every fixed-size datatype: raw contents one byte short, and a typed field it does not take.
  ...FIXED.map((datatype): Row => ({
    name: `raw ${datatype} one byte short`,
    bytes: echo((r) => (r.raw_input_contents![at(datatype)] = r.raw_input_contents![at(datatype)].subarray(1))),
    code: status.INVALID_ARGUMENT,
    message: new RegExp(`input '${echoInput(datatype)}': expected ${2 * ELEMENT_SIZE[datatype]} bytes of raw_input_contents for 2 ${datatype} elements, got ${2 * ELEMENT_SIZE[datatype] - 1}`),
  })),
  ...FIXED.filter((d) => d !== 'FP16').map((datatype): Row => {
    const own = Object.keys(typedContents(datatype, 2)!)[0];
    const other = OTHER_FIELD[own];
    return {
      name: `typed ${datatype} in ${Object.keys(other)[0]}`,
      bytes: echoTyped((r) => (r.inputs[at(datatype)].contents = other)),
      code: status.INVALID_ARGUMENT,
      message: new RegExp(`input '${echoInput(datatype)}': datatype ${datatype} takes contents.${own}, got contents.${Object.keys(other)[0]}`),
    };
  }),
  // Typed values out of their datatype's range.
  { name: 'typed UINT8 of 256', bytes: echoTyped((r) => (r.inputs[at('UINT8')].contents = { uint_contents: [0, 256] })), code: status.INVALID_ARGUMENT, message: /input 'in_uint8': contents.uint_contents\[1\] is out of range for UINT8/ },
  { name: 'typed INT16 of 40000', bytes: echoTyped((r) => (r.inputs[at('INT16')].contents = { int_contents: [40000, 0] })), code: status.INVALID_ARGUMENT, message: /input 'in_int16': contents.int_contents\[0\] is out of range for INT16/ },
  // Requested outputs.
  { name: 'a requested output with no name', bytes: scorer((r) => (r.outputs = [{ name: '' }])), code: status.INVALID_ARGUMENT, message: /requested output 0: name is empty/ },
  { name: 'an input named as a requested output', bytes: scorer((r) => (r.outputs = [{ name: 'features' }])), code: status.INVALID_ARGUMENT, message: /unknown requested output 'features'/ },
  { name: 'a classification count as a string', bytes: scorer((r) => (r.outputs = [{ name: 'score', parameters: { classification: { string_param: '3' } } }])), code: status.INVALID_ARGUMENT, message: /parameter 'classification' of output 'score' must be a non-negative integer, as int64_param or uint64_param/ },
  { name: 'a negative classification count', bytes: scorer((r) => (r.outputs = [{ name: 'score', parameters: { classification: { int64_param: -2 } } }])), code: status.INVALID_ARGUMENT, message: /parameter 'classification' of output 'score' must be a non-negative integer/ },
  { name: 'classes of a BOOL output', bytes: echo((r) => (r.outputs = [{ name: 'out_bool', parameters: { classification: { int64_param: 1 } } }])), code: status.INVALID_ARGUMENT, message: /output 'out_bool': class results are not available for its datatype BOOL/ },
  { name: 'an output requested twice among others', bytes: echo((r) => (r.outputs = [{ name: 'out_fp32' }, { name: 'out_int8' }, { name: 'out_fp32' }])), code: status.INVALID_ARGUMENT, message: /output 'out_fp32' is requested more than once/ },
];

/** Rows of valid requests the table's neighbours might be mistaken for: each must be answered. */
const ACCEPTED: readonly { readonly name: string; readonly bytes: () => Buffer; readonly outputs: number }[] = [
  // protobufjs skips an unknown field however it is written: field number 0, a varint of any length.
  { name: 'field number 0 and an 11-byte varint in unknown fields', bytes: () => Buffer.concat([varintField(0, 1), good(), tag(15, WIRE.VARINT), Buffer.alloc(10, 0xff), Buffer.from([1])]), outputs: 2 },
  { name: 'an unknown top-level field (proto3 skips it)', bytes: () => Buffer.concat([good(), varintField(99, 7), lenField(100, Buffer.from('x'))]), outputs: 2 },
  { name: 'an unknown field inside an input tensor', bytes: () => Buffer.concat([lenField(1, Buffer.from('stock_scorer')), lenField(5, Buffer.concat([lenField(1, Buffer.from('features')), lenField(2, Buffer.from('FP32')), varintField(3, 1), varintField(3, 8), varintField(9, 1)])), lenField(7, Buffer.alloc(32))]), outputs: 2 },
  { name: 'dims one varint each instead of packed', bytes: () => Buffer.concat([lenField(1, Buffer.from('stock_scorer')), lenField(5, Buffer.concat([lenField(1, Buffer.from('features')), lenField(2, Buffer.from('FP32')), varintField(3, 1), varintField(3, 8)])), lenField(7, Buffer.alloc(32))]), outputs: 2 },
  { name: 'an id of 1 MiB (echoed back)', bytes: scorer((r) => (r.id = 'i'.repeat(1 << 20))), outputs: 2 },
  { name: 'input and output parameters of any type (ignored)', bytes: scorer((r) => {
    r.inputs[0].parameters = { binary_data_size: { string_param: 'x' } };
    r.outputs = [{ name: 'score', parameters: { binary_data: { double_param: -1 } } }];
  }), outputs: 1 },
  { name: 'classes of an FP32 output', bytes: scorer((r) => (r.outputs = [{ name: 'standardized', parameters: { classification: { uint64_param: 3 } } }])), outputs: 1 },
  { name: 'classification 0 on a requested output (Triton: no classification)', bytes: scorer((r) => (r.outputs = [{ name: 'score', parameters: { classification: { int64_param: 0 } } }])), outputs: 1 },
  { name: 'an unknown parameter (ignored)', bytes: scorer((r) => (r.parameters = { colour: { string_param: 'blue' } })), outputs: 2 },
  { name: 'typed contents, parameters and a requested output', bytes: () => encodeRequest(scorerTypedRequest(2)), outputs: 1 },
  { name: 'every datatype zero-sized ([1, 0] each, no data)', bytes: () => encodeRequest({ model_name: 'type_echo', inputs: ECHO_TYPES.map((d) => ({ name: echoInput(d), datatype: d, shape: [1, 0] })) }), outputs: 13 },
];

describe('e2e: malformed requests over the wire', function () {
  this.timeout(30000);
  let t: TestServer;
  let channel: H2Channel;
  before(async () => {
    t = await startTestServer();
    channel = new H2Channel(`http://127.0.0.1:${t.port}`);
  });
  after(async () => {
    channel?.close();
    await t?.stop();
  });

  const unary = (bytes: Buffer): Promise<CallOutcome> => channel.call(MODEL_INFER_PATH, grpcFrame(bytes), 20_000);

  /** stock_scorer answers one row with a finite score: the server is still itself. */
  async function expectGoodAnswer(): Promise<void> {
    const answer = await unary(good());
    expect(answer.status, answer.message).to.equal(status.OK);
    const response = decodeResponse(answer.messages[0]);
    expect(response.outputs?.map((o) => `${o.name}[${o.shape?.join(',')}]`)).to.deep.equal(['score[1,1]', 'standardized[1,8]']);
    const score = Buffer.from(response.raw_output_contents![0]).readFloatLE(0);
    expect(Number.isFinite(score), `score ${score}`).to.equal(true);
  }

  it(`has at least 40 malformed rows, each named once (${ROWS.length})`, () => {
    expect(ROWS.filter((r) => r.code !== status.OK).length).to.be.at.least(40);
    expect(new Set(ROWS.map((r) => r.name)).size).to.equal(ROWS.length);
  });

  describe('over ModelInfer: the status, a message naming the field, then a good request answered', () => {
    for (const row of ROWS) {
      it(`${status[row.code]} for ${row.name}`, async () => {
        const answer = await unary(row.bytes());
        expect(status[answer.status as number] ?? answer.status, `${answer.message} ${answer.detail ?? ''}`).to.equal(status[row.code]);
        if (row.code !== status.OK) expect(answer.message).to.match(row.message);
        await expectGoodAnswer();
      });
    }
  });

  describe('valid requests near the malformed ones are answered', () => {
    for (const row of ACCEPTED) {
      it(`OK for ${row.name}`, async () => {
        const bytes = row.bytes();
        const answer = await unary(bytes);
        expect(answer.status, answer.message).to.equal(status.OK);
        const response = decodeResponse(answer.messages[0]);
        expect(response.outputs).to.have.length(row.outputs);
        expect(response.raw_output_contents).to.have.length(row.outputs);
      });
    }
  });

  describe('over ModelStreamInfer', () => {
    it('answers every row in-stream with the same message, in order, each followed by a good request, and ends OK', async () => {
      const sent = ROWS.flatMap((row) => [row.bytes(), good()]);
      const answer = await channel.call(MODEL_STREAM_INFER_PATH, Buffer.concat(sent.map((b) => grpcFrame(b))), 20_000);
      expect(answer.status, `${answer.message} ${answer.detail ?? ''}`).to.equal(status.OK);
      expect(answer.messages).to.have.length(sent.length);
      answer.messages.forEach((message, i) => {
        const reply = decodeStreamResponse(message);
        const row = ROWS[i >> 1];
        if (i % 2 === 0 && row.code !== status.OK) {
          expect(reply.error_message ?? '', row.name).to.match(row.message);
          expect(reply.infer_response?.outputs, row.name).to.equal(undefined);
        } else {
          expect(reply.error_message ?? '', i % 2 ? `the good request after ${row.name}` : row.name).to.equal('');
          expect(reply.infer_response?.outputs?.length).to.be.greaterThan(0);
        }
      });
    });
  });

  describe('broken gRPC framing', () => {
    it('answers RESOURCE_EXHAUSTED, naming the limit, for a frame that declares more than the message limit', async () => {
      for (const path of [MODEL_INFER_PATH, MODEL_STREAM_INFER_PATH]) {
        const answer = await channel.call(path, grpcFrame(good(), { declaredLength: 2 ** 31 }), 20_000);
        expect(answer.status, path).to.equal(status.RESOURCE_EXHAUSTED);
        expect(answer.message).to.match(/larger than max \(2147483648 vs 67108864\)/);
      }
      await expectGoodAnswer();
    });

    it('ends a ModelInfer call with no complete message with a status (UNIMPLEMENTED, from grpc-js) rather than waiting', async () => {
      for (const body of [Buffer.alloc(0), Buffer.from([0, 0, 0]), grpcFrame(good(), { declaredLength: good().length + 10 })]) {
        const answer = await channel.call(MODEL_INFER_PATH, body, 20_000);
        expect(answer.status).to.equal(status.UNIMPLEMENTED);
        expect(answer.message).to.match(/no request message/);
      }
      await expectGoodAnswer();
    });

    it('ends a ModelInfer call that carries two messages with UNIMPLEMENTED, naming the second', async () => {
      const answer = await channel.call(MODEL_INFER_PATH, Buffer.concat([grpcFrame(good()), grpcFrame(good())]), 20_000);
      expect(answer.status).to.equal(status.UNIMPLEMENTED);
      expect(answer.message).to.match(/second request message/);
    });

    it('answers compressed frames that do not decompress, or decompress past the limit, or use an unknown encoding, each with its status', async () => {
      const gzip = { 'grpc-encoding': 'gzip' };
      const garbage = await channel.call(MODEL_INFER_PATH, grpcFrame(Buffer.from('not gzip'), { compressed: true }), 20_000, gzip);
      expect([garbage.status, garbage.message]).to.deep.equal([status.INTERNAL, 'Failed to decompress message']);
      const bomb = await channel.call(MODEL_INFER_PATH, grpcFrame(gzipSync(Buffer.alloc(80 * 1024 * 1024)), { compressed: true }), 20_000, gzip);
      expect(bomb.status).to.equal(status.RESOURCE_EXHAUSTED);
      expect(bomb.message).to.match(/decompresses to a size larger than 67108864/);
      const unknown = await channel.call(MODEL_STREAM_INFER_PATH, grpcFrame(good(), { compressed: true }), 20_000, { 'grpc-encoding': 'br' });
      expect(unknown.status).to.equal(status.UNIMPLEMENTED);
      expect(unknown.message).to.match(/unsupported encoding "br"/);
      await expectGoodAnswer();
    });

    it('answers bytes that are not protobuf INVALID_ARGUMENT on every other unary RPC, naming its message type, not INTERNAL', async () => {
      const garbage = grpcFrame(Buffer.from('9a2b7ce1ff00ff13370042', 'hex'));
      const rpcs: readonly (readonly [string, string])[] = [
        ...['ServerLive', 'ServerReady', 'ModelReady', 'ServerMetadata', 'ModelMetadata', 'ModelConfig', 'ModelStatistics', 'RepositoryIndex', 'RepositoryModelLoad', 'RepositoryModelUnload'].map(
          (rpc) => [`/inference.GRPCInferenceService/${rpc}`, `${rpc}Request`] as const,
        ),
        ...['GetRollout', 'SetWeights', 'Promote', 'Rollback'].map((rpc) => [`/onnx_grpc_server.admin.v1.RolloutAdmin/${rpc}`, `${rpc}Request`] as const),
        ['/grpc.health.v1.Health/Check', 'HealthCheckRequest'],
      ];
      for (const [path, type] of rpcs) {
        const answer = await channel.call(path, garbage, 20_000);
        expect(status[answer.status as number] ?? answer.status, `${path}: ${answer.message}`).to.equal('INVALID_ARGUMENT');
        expect(answer.message, path).to.match(new RegExp(`^request: not a valid ${type} protobuf message \\(.+\\)`));
      }
      const live = await channel.call('/inference.GRPCInferenceService/ServerLive', grpcFrame(Buffer.alloc(0)), 20_000);
      expect(live.status).to.equal(status.OK);
      await expectGoodAnswer();
    });

    it('answers a request whose message would quote 300 KB the client sent, its start in grpc-message, rather than leaving it without a status', async () => {
      // HTTP/2 bounds the trailers: quoted whole (100 KB went through), 300 KB left the call hanging until its deadline.
      const long = Buffer.alloc(300_000, 'a');
      const calls: readonly (readonly [string, Buffer, number])[] = [
        ['/inference.GRPCInferenceService/RepositoryIndex', lenField(1, long), status.INVALID_ARGUMENT],
        ['/inference.GRPCInferenceService/ModelInfer', Buffer.concat([lenField(1, Buffer.from('stock_scorer')), lenField(2, long)]), status.INVALID_ARGUMENT],
        ['/inference.GRPCInferenceService/ModelInfer', Buffer.concat([lenField(1, Buffer.from('stock_scorer')), lenField(5, lenField(1, long))]), status.INVALID_ARGUMENT],
        ['/grpc.health.v1.Health/Check', lenField(1, long), status.NOT_FOUND],
      ];
      for (const [path, body, code] of calls) {
        const answer = await channel.call(path, grpcFrame(body), 5_000);
        expect(answer.status, `${path}: ${answer.message}`).to.equal(code);
        expect(answer.message, path).to.match(/aaaa… \(\d+ characters in all\)$/);
        expect(answer.message.length, path).to.be.below(4200);
      }
      await expectGoodAnswer();
    });

    it('answers a request of more than 4,096 top-level fields INVALID_ARGUMENT before reading it (a map of that many entries)', async () => {
      const weight = lenField(2, Buffer.concat([varintField(1, 1), tag(2, WIRE.I64), Buffer.alloc(8)]));
      const weights = (n: number): Buffer => grpcFrame(Buffer.concat([lenField(1, Buffer.from('stock_scorer')), ...new Array<Buffer>(n).fill(weight)]));
      const over = await channel.call('/onnx_grpc_server.admin.v1.RolloutAdmin/SetWeights', weights(4096), 20_000);
      expect(status[over.status as number], over.message).to.equal('INVALID_ARGUMENT');
      expect(over.message).to.equal('request: a SetWeightsRequest of more than 4096 fields: expected a few, and maps of a handful of entries');
      // 4,095 entries and the model name are read: stock_scorer here has no rollout to set.
      const at = await channel.call('/onnx_grpc_server.admin.v1.RolloutAdmin/SetWeights', weights(4095), 20_000);
      expect(status[at.status as number], at.message).to.equal('FAILED_PRECONDITION');
      await expectGoodAnswer();
    });

    it('answers the complete messages of a stream whose last frame is cut short, and ends it', async () => {
      const body = Buffer.concat([grpcFrame(good()), grpcFrame(good()).subarray(0, 20)]);
      const answer = await channel.call(MODEL_STREAM_INFER_PATH, body, 20_000);
      expect(answer.status).to.be.a('number');
      expect(answer.messages).to.have.length(1);
      expect(decodeStreamResponse(answer.messages[0]).infer_response?.outputs).to.have.length(2);
    });
  });
});
