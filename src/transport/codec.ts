/**
 * The tensor codec between KServe v2 wire messages (as @grpc/proto-loader decodes them with
 * keepCase, longs: String, defaults: false, or infer-request-decoder.ts with exact int64 dims
 * as numbers) and the domain Tensor. Runs on every request.
 */
import { invalidArgument, type InferenceError } from '../errors';
import {
  DATATYPES, elementSize, isDataType, isNumeric, view,
  type NumericArray, type NumericDataType,
} from '../tensor/datatype';
import { splitBytesElements } from '../tensor/bytes-elements';
import { elementCount, type Tensor } from '../tensor/tensor';
import { decodeContents, hasTypedValues, type WireTensorContents } from './codec-contents';

export type { WireTensorContents } from './codec-contents';

export interface WireInputTensor {
  name?: string;
  datatype?: string;
  shape?: (string | number)[];
  contents?: WireTensorContents;
  parameters?: unknown;
}

/** Far beyond any gRPC message, yet small enough that no allocation it allows can overflow. */
export const MAX_ELEMENTS = 2 ** 31;

const INTEGER = /^-?[0-9]+$/;

/** Up to this many inputs, duplicates are found by a scan; past it, by a Set. */
const SCAN_LIMIT = 16;

/** Decodes every input of a ModelInferRequest. Throws InferenceError INVALID_ARGUMENT. */
export function decodeInputs(
  inputs: readonly WireInputTensor[] | undefined,
  raw: readonly Uint8Array[] | undefined,
  maxBytesElements: number,
): Tensor[] {
  const wires = inputs ?? [];
  const raws = raw ?? [];
  const useRaw = raws.length > 0;
  if (useRaw && raws.length !== wires.length) throw rawCountMismatch(wires, raws.length);

  const tensors: Tensor[] = [];
  // Models have a handful of inputs: a scan beats building a Set per request. A request may hold
  // any number, though, and scanning each against all is quadratic (40,000 took 6 s of event loop).
  const seen = wires.length > SCAN_LIMIT ? new Set<string>() : undefined;
  let bytesElements = 0;
  for (let i = 0; i < wires.length; i++) {
    const input = wires[i];
    const name = input.name ?? '';
    if (name === '') throw invalidArgument(`input ${i}: name is empty: expected a tensor name`);
    const label = `input '${name}'`;
    if (seen ? seen.has(name) : tensors.some((earlier) => earlier.name === name)) {
      throw invalidArgument(`${label}: appears more than once: expected each input name once`);
    }
    seen?.add(name);

    const datatype = input.datatype ?? '';
    if (!isDataType(datatype)) {
      throw invalidArgument(`${label}: unknown datatype '${datatype}': expected one of ${DATATYPES.join(', ')}`);
    }
    const shape = parseShape(label, input.shape);
    const count = countElements(label, shape);
    if (datatype === 'BYTES') {
      // Checked before the split: each element becomes an object of its own, about 450 bytes of
      // heap from 4 bytes of message, so 64 MiB of empty elements ended the process.
      bytesElements += count;
      if (bytesElements > maxBytesElements) {
        throw invalidArgument(`${label}: ${count} BYTES elements bring the request to ${bytesElements}, over the server's limit of ${maxBytesElements} (MAX_BYTES_ELEMENTS)`);
      }
    }

    let data: NumericArray | readonly Uint8Array[];
    if (useRaw) {
      if (hasTypedValues(input.contents)) {
        throw invalidArgument(`${label}: raw and typed contents together: expected raw_input_contents only, got contents too`);
      }
      data = isNumeric(datatype)
        ? decodeRawNumeric(label, datatype, count, raws[i])
        : splitBytesElements(label, count, raws[i], 'raw_input_contents');
    } else {
      data = decodeContents(label, datatype, count, input.contents);
    }
    tensors.push({ name, datatype, shape, data });
  }
  return tensors;
}

/** Raw little-endian bytes of a tensor, as raw_output_contents carries them. */
export function encodeRaw(tensor: Tensor): Buffer {
  const { data } = tensor;
  if (!isBytesData(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);

  let total = 0;
  for (const element of data) total += 4 + element.byteLength;
  // Every byte is written below, so the pooled, uninitialised allocation is safe.
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const element of data) {
    out.writeUInt32LE(element.byteLength, at);
    out.set(element, at + 4);
    at += 4 + element.byteLength;
  }
  return out;
}

function isBytesData(data: Tensor['data']): data is readonly Uint8Array[] {
  return Array.isArray(data);
}

function rawCountMismatch(wires: readonly WireInputTensor[], rawCount: number): InferenceError {
  const expected = `expected one raw_input_contents entry per input (${wires.length})`;
  if (rawCount < wires.length) {
    return invalidArgument(`input '${wires[rawCount].name ?? ''}': has no raw_input_contents entry: ${expected}, got ${rawCount}`);
  }
  const names = wires.map((w) => `'${w.name ?? ''}'`).join(', ');
  return invalidArgument(`inputs [${names}]: ${expected}, got ${rawCount}`);
}

/** int64 dims arrive as decimal strings; they must be exact, non-negative integers. */
function parseShape(label: string, wire: readonly (string | number)[] | undefined): number[] {
  const shape: number[] = [];
  if (wire === undefined || wire === null) return shape;
  for (let i = 0; i < wire.length; i++) {
    const dim = wire[i];
    const n = typeof dim === 'number' ? dim : typeof dim === 'string' && INTEGER.test(dim) ? Number(dim) : NaN;
    if (!Number.isInteger(n) || n < 0) {
      throw invalidArgument(`${label}: shape[${i}] is ${String(dim)}: expected an integer >= 0`);
    }
    if (!Number.isSafeInteger(n)) {
      throw invalidArgument(`${label}: shape[${i}] is ${String(dim)}: expected at most ${Number.MAX_SAFE_INTEGER}`);
    }
    shape.push(n);
  }
  return shape;
}

function countElements(label: string, shape: readonly number[]): number {
  // With no zero dim the running product only grows, so even an inexact or infinite one is caught below.
  const count = shape.includes(0) ? 0 : elementCount(shape);
  if (count > MAX_ELEMENTS) {
    throw invalidArgument(`${label}: shape [${shape.join(',')}] has ${count} elements: expected at most ${MAX_ELEMENTS}`);
  }
  return count;
}

function decodeRawNumeric(label: string, datatype: NumericDataType, count: number, bytes: Uint8Array): NumericArray {
  const size = elementSize(datatype);
  const expected = count * size;
  if (bytes.byteLength !== expected) {
    throw invalidArgument(`${label}: expected ${expected} bytes of raw_input_contents for ${count} ${datatype} elements, got ${bytes.byteLength}`);
  }
  let data: NumericArray;
  if (bytes.byteOffset % size === 0) {
    data = view(datatype, bytes.buffer, bytes.byteOffset, count);
  } else {
    // Protobuf slices need not be aligned, and typed-array views must be. Node's Buffer pool
    // hands out 8-byte-aligned slices of a shared ArrayBuffer, so small copies avoid a fresh
    // ArrayBuffer per request (measured at 1-2 us of allocation and GC sweeping each).
    const pooled = Buffer.allocUnsafe(expected);
    // Node does not document the alignment, so a misaligned slice falls back to its own buffer.
    const aligned = pooled.byteOffset % size === 0 ? pooled : Buffer.from(new ArrayBuffer(expected));
    aligned.set(bytes);
    data = view(datatype, aligned.buffer, aligned.byteOffset, count);
  }
  if (datatype === 'BOOL') {
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] > 1) throw invalidArgument(`${label}: raw BOOL element ${i} is neither 0 nor 1`);
    }
  }
  return data;
}
