/**
 * ModelInferRequest read straight from its bytes, for the shapes high-rate clients send
 * (Triton's and KServe's clients put tensor data in raw_input_contents; JSON written for ghz
 * becomes packed fp32_contents or fp64_contents). proto-loader's generic decode plus toObject
 * turns every int64 dim into a Long and then a string, and that per-call work is what limits a
 * small model. Anything this reader does not handle (parameters, other typed contents, unknown
 * fields, malformed bytes) goes to the library decoder, so the result is always what
 * proto-loader would give, up to int64 dims arriving as numbers.
 */
import type { WireInputTensor, WireTensorContents } from './codec';
import { censusRefusal, MAX_DIMS, MAX_TENSORS, type DecodeLimits } from './infer-request-census';
import type { WireInferRequest } from './wire-types';

/** Thrown inside the reader to hand the message to the library decoder; never escapes. */
const FALLBACK = Symbol('fallback');

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

class Reader {
  pos: number;

  constructor(readonly buf: Buffer, start: number, readonly end: number) {
    this.pos = start;
  }

  /** A varint of at most 32 bits (tags, lengths). */
  uint32(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw FALLBACK;
      const byte = this.buf[this.pos++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) {
        if (value > 0xffffffff) throw FALLBACK;
        return value;
      }
    }
    throw FALLBACK;
  }

  /** An int64 varint: a number when exact, else its decimal string (as proto-loader's longs: String). */
  int64(): number | string {
    const start = this.pos;
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw FALLBACK;
      const byte = this.buf[this.pos++];
      if (i < 7) value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) return i < 7 ? value : this.bigInt64(start);
    }
    throw FALLBACK;
  }

  /** The rare varint of 8 or more bytes, exactly, two's complement. */
  private bigInt64(start: number): number | string {
    let value = 0n;
    for (let i = 0, at = start; at < this.pos; i++, at++) value |= BigInt(this.buf[at] & 0x7f) << BigInt(7 * i);
    const signed = BigInt.asIntN(64, value);
    const n = Number(signed);
    return Number.isSafeInteger(n) ? n : signed.toString();
  }

  /** The bounds of a length-delimited field's payload; the reader moves past it. */
  delimited(): number {
    const length = this.uint32();
    const start = this.pos;
    if (length > this.end - start) throw FALLBACK;
    this.pos = start + length;
    return start;
  }

  string(): string {
    const start = this.delimited();
    return this.buf.toString('utf8', start, this.pos);
  }

  bytes(): Buffer {
    const start = this.delimited();
    return this.buf.subarray(start, this.pos);
  }

  /** A reader over an embedded message or packed field; this one moves past it. */
  embedded(): Reader {
    const start = this.delimited();
    return new Reader(this.buf, start, this.pos);
  }
}

/**
 * @param fallback the library decoder, for every message outside the fast path, once the census
 *   has found nothing past `limits` in it.
 * @returns the request, `{ refused: reason }` past a decoding bound, or `{ malformed: reason }`
 *   when the library cannot read the bytes either.
 */
export function decodeModelInferRequest(buf: Buffer, fallback: (buf: Buffer) => WireInferRequest, limits: DecodeLimits): WireInferRequest {
  try {
    return readRequest(new Reader(buf, 0, buf.length));
  } catch (err) {
    if (err !== FALLBACK) throw err;
  }
  const refused = censusRefusal(buf, limits);
  if (refused !== undefined) return { refused };
  try {
    return fallback(buf);
  } catch (err) {
    return { malformed: err instanceof Error ? err.message : String(err) };
  }
}

interface MutableRequest {
  model_name?: string;
  model_version?: string;
  id?: string;
  inputs?: WireInputTensor[];
  outputs?: { name?: string }[];
  raw_input_contents?: Buffer[];
}

function readRequest(r: Reader): WireInferRequest {
  const request: MutableRequest = {};
  while (r.pos < r.end) {
    const tag = r.uint32();
    if ((tag & 7) !== WIRE_LEN) throw FALLBACK;
    switch (tag >>> 3) {
      case 1: request.model_name = r.string(); break;
      case 2: request.model_version = r.string(); break;
      case 3: request.id = r.string(); break;
      // Past a bound, the census refuses the message with its counts.
      case 5: if ((request.inputs ??= []).push(readInput(r)) > MAX_TENSORS) throw FALLBACK; break;
      case 6: if ((request.outputs ??= []).push(readOutput(r)) > MAX_TENSORS) throw FALLBACK; break;
      case 7: (request.raw_input_contents ??= []).push(r.bytes()); break;
      default: throw FALLBACK;
    }
  }
  return request;
}

function readInput(outer: Reader): WireInputTensor {
  const r = outer.embedded();
  const input: WireInputTensor = {};
  while (r.pos < r.end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 3 && wireType === WIRE_VARINT) {
      if ((input.shape ??= []).push(r.int64()) > MAX_DIMS) throw FALLBACK;
      continue;
    }
    if (wireType !== WIRE_LEN) throw FALLBACK;
    if (field === 1) input.name = r.string();
    else if (field === 2) input.datatype = r.string();
    else if (field === 3) readPackedDims(r.embedded(), (input.shape ??= []));
    else if (field === 5 && input.contents === undefined) input.contents = readContents(r.embedded());
    else throw FALLBACK;
  }
  return input;
}

/** Packed fp32_contents (6) and fp64_contents (7), as proto3 writers send them; any other field falls back. */
function readContents(r: Reader): WireTensorContents {
  const contents: { fp32_contents?: number[]; fp64_contents?: number[] } = {};
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === ((6 << 3) | WIRE_LEN)) readPackedFloats(r.embedded(), 4, (contents.fp32_contents ??= []));
    else if (tag === ((7 << 3) | WIRE_LEN)) readPackedFloats(r.embedded(), 8, (contents.fp64_contents ??= []));
    else throw FALLBACK;
  }
  return contents;
}

function readPackedFloats(packed: Reader, size: 4 | 8, into: number[]): void {
  if ((packed.end - packed.pos) % size !== 0) throw FALLBACK;
  for (let at = packed.pos; at < packed.end; at += size) into.push(size === 4 ? packed.buf.readFloatLE(at) : packed.buf.readDoubleLE(at));
}

function readPackedDims(packed: Reader, into: (string | number)[]): void {
  while (packed.pos < packed.end) if (into.push(packed.int64()) > MAX_DIMS) throw FALLBACK;
}

function readOutput(outer: Reader): { name?: string } {
  const r = outer.embedded();
  const output: { name?: string } = {};
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag !== ((1 << 3) | WIRE_LEN)) throw FALLBACK;
    output.name = r.string();
  }
  return output;
}
