/** Decoding of InferTensorContents: the typed (non-raw) form of an input tensor's data. */
import { invalidArgument } from '../errors';
import { allocate, type DataType, type NumericArray, type NumericDataType } from '../tensor/datatype';

/** InferTensorContents as @grpc/proto-loader gives it (longs: String, defaults: false). */
export interface WireTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: (string | number)[];
  uint_contents?: number[];
  uint64_contents?: (string | number)[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

type ContentsField = keyof WireTensorContents;

const FIELDS: readonly ContentsField[] = [
  'bool_contents', 'int_contents', 'int64_contents', 'uint_contents',
  'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents',
];

/** FP16 is absent: the protocol has no typed field for it. */
const FIELD_OF: Partial<Record<DataType, ContentsField>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents', FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** Inclusive bounds of the integer types that int_contents / uint_contents carry. */
const INT_RANGE: Partial<Record<DataType, readonly [number, number]>> = {
  INT8: [-128, 127], INT16: [-32768, 32767], INT32: [-2147483648, 2147483647],
  UINT8: [0, 255], UINT16: [0, 65535], UINT32: [0, 4294967295],
};

const BIG_RANGE: Partial<Record<DataType, readonly [bigint, bigint]>> = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};

type NumberArray = Exclude<NumericArray, BigInt64Array | BigUint64Array>;

/** An empty list is the same as an absent one: proto3 cannot tell them apart on the wire. */
function isNonEmpty(list: readonly unknown[] | undefined): boolean {
  return list !== undefined && list !== null && list.length > 0;
}

/** True when any typed list carries at least one value. */
export function hasTypedValues(contents: WireTensorContents | undefined): boolean {
  if (contents === undefined || contents === null) return false;
  for (const field of FIELDS) {
    if (isNonEmpty(contents[field])) return true;
  }
  return false;
}

/**
 * Decodes the typed contents of one input of `count` elements.
 * `contents` undefined is accepted only for an empty tensor: clients drop an empty submessage.
 */
export function decodeContents(
  label: string,
  datatype: DataType,
  count: number,
  contents: WireTensorContents | undefined,
): NumericArray | readonly Uint8Array[] {
  const field = FIELD_OF[datatype];
  // An empty FP16 tensor needs no data, so its missing typed field is no reason to refuse it.
  if (field === undefined && count === 0 && !hasTypedValues(contents)) return allocate(datatype as NumericDataType, 0);
  if (field === undefined) {
    throw invalidArgument(`${label}: ${datatype} has no typed contents field: send its data in raw_input_contents`);
  }
  if ((contents === undefined || contents === null) && count > 0) {
    throw invalidArgument(`${label}: no data: expected ${count} values in contents.${field} or raw_input_contents, got neither`);
  }
  const wire = contents ?? {};
  for (const other of FIELDS) {
    if (other !== field && isNonEmpty(wire[other])) {
      throw invalidArgument(`${label}: datatype ${datatype} takes contents.${field}, got contents.${other}`);
    }
  }
  const values = wire[field] ?? [];
  if (values.length !== count) {
    throw invalidArgument(`${label}: expected ${count} values in contents.${field}, got ${values.length}`);
  }

  switch (field) {
    case 'bool_contents': return decodeBool(label, values as boolean[]);
    case 'int_contents':
    case 'uint_contents': return decodeInt(label, datatype, field, values as number[]);
    case 'int64_contents':
    case 'uint64_contents': return decodeBig(label, datatype, field, values as (string | number)[]);
    case 'fp32_contents': return new Float32Array(values as number[]);
    case 'fp64_contents': return new Float64Array(values as number[]);
    case 'bytes_contents': return decodeBytes(label, values as Uint8Array[]);
  }
}

function decodeBool(label: string, values: readonly boolean[]): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== true && v !== false) {
      throw invalidArgument(`${label}: contents.bool_contents[${i}] must be true or false`);
    }
    out[i] = v ? 1 : 0;
  }
  return out;
}

function decodeInt(label: string, datatype: DataType, field: string, values: readonly number[]): NumberArray {
  const [min, max] = INT_RANGE[datatype]!;
  // INT_RANGE holds only 8- to 32-bit integer types, so the array holds numbers, not bigints.
  const out = allocate(datatype as NumericDataType, values.length) as NumberArray;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(Number.isInteger(v) && v >= min && v <= max)) {
      throw invalidArgument(`${label}: contents.${field}[${i}] is out of range for ${datatype}: expected an integer in ${min}..${max}`);
    }
    out[i] = v;
  }
  return out;
}

function decodeBig(
  label: string, datatype: DataType, field: string, values: readonly (string | number)[],
): BigInt64Array | BigUint64Array {
  const [min, max] = BIG_RANGE[datatype]!;
  const out = datatype === 'INT64' ? new BigInt64Array(values.length) : new BigUint64Array(values.length);
  let i = 0;
  try {
    for (; i < values.length; i++) {
      const v = BigInt(values[i]);
      // Typed arrays wrap silently, so a value out of range must be caught here.
      if (v < min || v > max) throw new RangeError('out of range');
      out[i] = v;
    }
  } catch {
    throw invalidArgument(`${label}: contents.${field}[${i}] is not a ${datatype} value: expected an integer in ${min}..${max}`);
  }
  return out;
}

/** The request's own Buffers become the elements, uncopied. */
function decodeBytes(label: string, values: readonly Uint8Array[]): readonly Uint8Array[] {
  for (let i = 0; i < values.length; i++) {
    if (!(values[i] instanceof Uint8Array)) {
      throw invalidArgument(`${label}: contents.bytes_contents[${i}] must be bytes, got ${typeof values[i]}`);
    }
  }
  return values;
}
