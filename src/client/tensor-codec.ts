/**
 * Typed arrays to KServe datatypes and raw tensor bytes, both ways. Raw contents are little-endian
 * and row-major: typed arrays are viewed as they are, which is right on every little-endian host
 * (all that Node.js runs on in practice). BYTES: each element a 4-byte little-endian length, then its bytes.
 */

export type Datatype =
  | 'BOOL' | 'UINT8' | 'INT8' | 'UINT16' | 'INT16' | 'UINT32' | 'INT32'
  | 'UINT64' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

export type NumericArray =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | BigUint64Array | BigInt64Array | Float32Array | Float64Array;

/** An input's value: a typed array, or strings (UTF-8) / byte strings for BYTES. */
export type TensorValue = NumericArray | readonly (string | Uint8Array)[];

/** An output's value: FP16 as its raw 16-bit patterns, BOOL as 0 / 1 bytes, BYTES as UTF-8 strings. */
export type TensorData = NumericArray | string[];

export interface EncodedTensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: number[];
}

interface ArrayType {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
}

const ARRAYS: Record<Exclude<Datatype, 'BYTES'>, ArrayType> = {
  BOOL: Uint8Array, UINT8: Uint8Array, INT8: Int8Array, UINT16: Uint16Array, INT16: Int16Array,
  UINT32: Uint32Array, INT32: Int32Array, UINT64: BigUint64Array, INT64: BigInt64Array,
  FP16: Uint16Array, FP32: Float32Array, FP64: Float64Array,
};

/**
 * The datatype an array means by default, and those it may be told to mean instead: a Uint8Array
 * is UINT8 unless told BOOL; a Uint16Array is FP16 (JavaScript has no half-float array to hold it)
 * unless told UINT16.
 */
function datatypesOf(value: TensorValue): readonly Datatype[] {
  if (isBytes(value)) return ['BYTES'];
  if (value instanceof Float32Array) return ['FP32'];
  if (value instanceof Float64Array) return ['FP64'];
  if (value instanceof BigInt64Array) return ['INT64'];
  if (value instanceof BigUint64Array) return ['UINT64'];
  if (value instanceof Int32Array) return ['INT32'];
  if (value instanceof Uint32Array) return ['UINT32'];
  if (value instanceof Int16Array) return ['INT16'];
  if (value instanceof Uint16Array) return ['FP16', 'UINT16'];
  if (value instanceof Int8Array) return ['INT8'];
  if (value instanceof Uint8Array) return ['UINT8', 'BOOL'];
  throw new TypeError('a tensor must be a typed array or an array of strings');
}

/** An input's datatype, shape (1-D by default) and raw bytes; throws a TypeError on a mismatch. */
export function encodeTensor(name: string, value: TensorValue, shape?: readonly number[], datatype?: Datatype): { tensor: EncodedTensor; raw: Buffer } {
  const allowed = datatypesOf(value);
  const chosen = datatype ?? allowed[0];
  if (!allowed.includes(chosen)) throw new TypeError(`input '${name}': a ${value.constructor.name} cannot be sent as ${chosen} (only ${allowed.join(' or ')})`);
  const dims = shape ? [...shape] : [value.length];
  const elements = dims.reduce((a, b) => a * b, 1);
  if (elements !== value.length) throw new TypeError(`input '${name}': shape [${dims.join(', ')}] holds ${elements} elements, the value has ${value.length}`);
  const raw = isBytes(value) ? frameBytes(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return { tensor: { name, datatype: chosen, shape: dims }, raw };
}

/** An output's raw bytes as a typed array over a fresh, aligned copy (or strings for BYTES). */
export function decodeTensor(name: string, datatype: string, shape: readonly number[], raw: Uint8Array): TensorData {
  const elements = shape.reduce((a, b) => a * b, 1);
  if (datatype === 'BYTES') {
    const out = unframeBytes(name, raw);
    if (out.length !== elements) throw new TypeError(`output '${name}': ${out.length} BYTES elements for shape [${shape.join(', ')}]`);
    return out;
  }
  const array = ARRAYS[datatype as Exclude<Datatype, 'BYTES'>];
  if (!array) throw new TypeError(`output '${name}': unknown datatype '${datatype}'`);
  if (raw.byteLength !== elements * array.BYTES_PER_ELEMENT) throw new TypeError(`output '${name}': ${raw.byteLength} bytes for ${elements} ${datatype} elements`);
  // A copy: the response's buffer may sit at any offset, which a typed view needs aligned.
  const copy = new ArrayBuffer(raw.byteLength);
  new Uint8Array(copy).set(raw);
  return new array(copy, 0, elements);
}

/** Array.isArray does not narrow a readonly array type; this does. */
function isBytes(value: TensorValue): value is readonly (string | Uint8Array)[] {
  return Array.isArray(value);
}

function frameBytes(elements: readonly (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [];
  for (const element of elements) {
    const bytes = typeof element === 'string' ? Buffer.from(element, 'utf8') : element;
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(bytes.byteLength, 0);
    parts.push(prefix, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  return Buffer.concat(parts);
}

function unframeBytes(name: string, raw: Uint8Array): string[] {
  const buffer = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: string[] = [];
  for (let at = 0; at < buffer.length; ) {
    if (buffer.length - at < 4) throw new TypeError(`output '${name}': BYTES element ${out.length} cut short`);
    const length = buffer.readUInt32LE(at);
    at += 4;
    if (buffer.length - at < length) throw new TypeError(`output '${name}': BYTES element ${out.length} cut short`);
    out.push(buffer.toString('utf8', at, at + length));
    at += length;
  }
  return out;
}
