/** KServe v2 tensor datatypes and how each one is held in memory and in ONNX Runtime. */

export const DATATYPES = [
  'BOOL', 'UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32',
  'UINT64', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES',
] as const;

export type DataType = (typeof DATATYPES)[number];

/** The ONNX Runtime tensor type names that onnxruntime-node accepts. */
export type OrtType =
  | 'bool' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32'
  | 'uint64' | 'int64' | 'float16' | 'float32' | 'float64' | 'string';

export type NumericArray =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | BigUint64Array | BigInt64Array | Float32Array | Float64Array;

export type NumericDataType = Exclude<DataType, 'BYTES'>;

interface NumericLayout {
  readonly bytes: number;
  readonly ort: OrtType;
  /** FP16 travels as its raw 16-bit patterns; BOOL as one byte per element (0 or 1). */
  readonly array: new (buffer: ArrayBufferLike, byteOffset: number, length: number) => NumericArray;
}

const NUMERIC: Record<NumericDataType, NumericLayout> = {
  BOOL: { bytes: 1, ort: 'bool', array: Uint8Array },
  UINT8: { bytes: 1, ort: 'uint8', array: Uint8Array },
  INT8: { bytes: 1, ort: 'int8', array: Int8Array },
  UINT16: { bytes: 2, ort: 'uint16', array: Uint16Array },
  INT16: { bytes: 2, ort: 'int16', array: Int16Array },
  UINT32: { bytes: 4, ort: 'uint32', array: Uint32Array },
  INT32: { bytes: 4, ort: 'int32', array: Int32Array },
  UINT64: { bytes: 8, ort: 'uint64', array: BigUint64Array },
  INT64: { bytes: 8, ort: 'int64', array: BigInt64Array },
  FP16: { bytes: 2, ort: 'float16', array: Uint16Array },
  FP32: { bytes: 4, ort: 'float32', array: Float32Array },
  FP64: { bytes: 8, ort: 'float64', array: Float64Array },
};

export function isDataType(value: string): value is DataType {
  return (DATATYPES as readonly string[]).includes(value);
}

export function isNumeric(datatype: DataType): datatype is NumericDataType {
  return datatype !== 'BYTES';
}

/** Bytes per element for fixed-size types. */
export function elementSize(datatype: NumericDataType): number {
  return NUMERIC[datatype].bytes;
}

/** Allocates a zeroed array of `length` elements of the given type. */
export function allocate(datatype: NumericDataType, length: number): NumericArray {
  const layout = NUMERIC[datatype];
  // A fresh ArrayBuffer, not `new Float32Array(n)`: V8 keeps small typed arrays on its heap and
  // pays a costly move the first time their .buffer is read, which transfer and raw copies do.
  return new layout.array(new ArrayBuffer(length * layout.bytes), 0, length);
}

/** A typed view over bytes; the caller guarantees alignment and length. */
export function view(datatype: NumericDataType, buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray {
  return new NUMERIC[datatype].array(buffer, byteOffset, length);
}

export function toOrtType(datatype: DataType): OrtType {
  return datatype === 'BYTES' ? 'string' : NUMERIC[datatype].ort;
}

const FROM_ORT = new Map<string, DataType>([
  ...Object.entries(NUMERIC).map(([dt, layout]) => [layout.ort, dt as DataType] as const),
  ['string', 'BYTES'],
]);

/** The KServe datatype for an ONNX Runtime type name, or undefined when the protocol has none (bfloat16, ...). */
export function fromOrtType(ortType: string): DataType | undefined {
  return FROM_ORT.get(ortType);
}

/** Triton model-config spelling (TYPE_FP32) of a datatype, and back. */
export function toConfigType(datatype: DataType): string {
  return datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`;
}

export function fromConfigType(configType: string): DataType | undefined {
  if (configType === 'TYPE_STRING') return 'BYTES';
  const bare = configType.startsWith('TYPE_') ? configType.slice(5) : '';
  return bare !== 'BYTES' && isDataType(bare) ? bare : undefined;
}
