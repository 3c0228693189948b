/**
 * ModelInferResponse and ModelStreamInferResponse written straight into one buffer.
 * Every response goes through here, and proto-loader's path (fromObject, then a writer that
 * queues an operation per field, then a copy) costs more per call than the rest of our
 * response handling; the messages we send are always the same few fields.
 */
import type { InferResult } from '../dataplane/infer-request';
import type { Tensor } from '../tensor/tensor';
import { encodeRaw } from './codec';

/** What a stream answers for one request: its result, or an error echoing the request's ids. */
export type StreamReply =
  | { readonly result: InferResult }
  | { readonly error: string; readonly modelName: string; readonly modelVersion: string; readonly id: string };

const WIRE_LEN = 2;
const tag = (field: number): number => (field << 3) | WIRE_LEN;

// ModelInferResponse
const RESPONSE_MODEL_NAME = tag(1);
const RESPONSE_MODEL_VERSION = tag(2);
const RESPONSE_ID = tag(3);
const RESPONSE_OUTPUTS = tag(5);
const RESPONSE_RAW_OUTPUT = tag(6);
// ModelInferResponse.InferOutputTensor
const OUTPUT_NAME = tag(1);
const OUTPUT_DATATYPE = tag(2);
const OUTPUT_SHAPE = tag(3);
// ModelStreamInferResponse
const STREAM_ERROR = tag(1);
const STREAM_RESPONSE = tag(2);

interface Header {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id: string;
}

/** A response laid out: its size, and the raw bytes of each output, computed once. */
interface Layout {
  readonly size: number;
  readonly raws: readonly Buffer[];
  readonly outputSizes: readonly number[];
  readonly shapeSizes: readonly number[];
}

export function encodeModelInferResponse(result: InferResult): Buffer {
  const layout = measureResponse(result, result.outputs);
  const w = new Writer(layout.size);
  writeResponse(w, result, result.outputs, layout);
  return w.done();
}

export function encodeStreamInferResponse(reply: StreamReply): Buffer {
  const isResult = 'result' in reply;
  const header = isResult ? reply.result : reply;
  const outputs = isResult ? reply.result.outputs : [];
  const layout = measureResponse(header, outputs);
  const errorSize = isResult ? 0 : stringField(reply.error);
  const w = new Writer(errorSize + 1 + varintSize(layout.size) + layout.size);
  if (!isResult) w.string(STREAM_ERROR, reply.error);
  w.byte(STREAM_RESPONSE);
  w.varint(layout.size);
  writeResponse(w, header, outputs, layout);
  return w.done();
}

function measureResponse(header: Header, outputs: readonly Tensor[]): Layout {
  let size = stringField(header.modelName) + stringField(header.modelVersion) + stringField(header.id);
  const raws: Buffer[] = [];
  const outputSizes: number[] = [];
  const shapeSizes: number[] = [];
  for (const output of outputs) {
    let shapeSize = 0;
    for (const dim of output.shape) shapeSize += varintSize(dim);
    const outputSize = stringField(output.name) + stringField(output.datatype) + (shapeSize > 0 ? 1 + varintSize(shapeSize) + shapeSize : 0);
    const raw = encodeRaw(output);
    size += 1 + varintSize(outputSize) + outputSize + 1 + varintSize(raw.length) + raw.length;
    raws.push(raw);
    outputSizes.push(outputSize);
    shapeSizes.push(shapeSize);
  }
  return { size, raws, outputSizes, shapeSizes };
}

function writeResponse(w: Writer, header: Header, outputs: readonly Tensor[], layout: Layout): void {
  w.string(RESPONSE_MODEL_NAME, header.modelName);
  w.string(RESPONSE_MODEL_VERSION, header.modelVersion);
  w.string(RESPONSE_ID, header.id);
  for (let i = 0; i < outputs.length; i++) {
    const output = outputs[i];
    w.byte(RESPONSE_OUTPUTS);
    w.varint(layout.outputSizes[i]);
    w.string(OUTPUT_NAME, output.name);
    w.string(OUTPUT_DATATYPE, output.datatype);
    if (layout.shapeSizes[i] > 0) {
      w.byte(OUTPUT_SHAPE);
      w.varint(layout.shapeSizes[i]);
      for (const dim of output.shape) w.varint(dim);
    }
  }
  for (const raw of layout.raws) {
    w.byte(RESPONSE_RAW_OUTPUT);
    w.varint(raw.length);
    w.bytes(raw);
  }
}

/** Bytes of a string field with its one-byte tag; proto3 leaves out an empty one. */
function stringField(value: string): number {
  if (value === '') return 0;
  const length = Buffer.byteLength(value, 'utf8');
  return 1 + varintSize(length) + length;
}

/** Dims and lengths are non-negative safe integers, so plain arithmetic covers 64 bits. */
function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

class Writer {
  private readonly buf: Buffer;
  private pos = 0;

  constructor(size: number) {
    // Every byte is written before done() checks the count, so uninitialised memory never leaves.
    this.buf = Buffer.allocUnsafe(size);
  }

  byte(value: number): void {
    this.buf[this.pos++] = value;
  }

  varint(value: number): void {
    while (value >= 0x80) {
      this.buf[this.pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buf[this.pos++] = value;
  }

  string(fieldTag: number, value: string): void {
    if (value === '') return;
    this.byte(fieldTag);
    this.varint(Buffer.byteLength(value, 'utf8'));
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }

  bytes(value: Uint8Array): void {
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  done(): Buffer {
    if (this.pos !== this.buf.length) throw new Error(`response encoder wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}
