/**
 * Well-formed ModelInferRequests for the bundled models, as plain objects the way the proto
 * spells them: the starting points the fuzzer mutates and the malformed-request table bends.
 */

/** type_echo's datatypes: its inputs are in_<suffix>, its outputs out_<suffix>, all of dims [-1]. */
export const ECHO_TYPES = [
  'BOOL', 'UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'UINT64', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES',
] as const;

export type EchoType = (typeof ECHO_TYPES)[number];

/** Bytes per element of the fixed-size datatypes. */
export const ELEMENT_SIZE: Readonly<Record<Exclude<EchoType, 'BYTES'>, number>> = {
  BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, UINT32: 4, INT32: 4, UINT64: 8, INT64: 8, FP16: 2, FP32: 4, FP64: 8,
};

export const echoInput = (datatype: EchoType): string => `in_${datatype.toLowerCase()}`;

/** A BYTES tensor's raw form: each element a 4-byte little-endian length, then its bytes. */
export function frameBytes(elements: readonly Buffer[]): Buffer {
  return Buffer.concat(elements.flatMap((e) => {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(e.length);
    return [prefix, e];
  }));
}

export interface InputObject {
  name: string;
  datatype: string;
  shape: (number | string)[];
  contents?: Record<string, unknown>;
  parameters?: Record<string, unknown>;
}

export interface RequestObject {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: InputObject[];
  outputs?: { name: string; parameters?: Record<string, unknown> }[];
  raw_input_contents?: Buffer[];
}

const SCORER_ROW = [0.01, 0.1, 0.25, 18, 3, 22, 0.02, 1];

export function fp32Raw(values: readonly number[]): Buffer {
  return Buffer.from(Float32Array.from(values).buffer);
}

/** stock_scorer, `rows` rows of 8 features, raw FP32. */
export function scorerRequest(rows = 1): RequestObject {
  return {
    model_name: 'stock_scorer',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [rows, 8] }],
    raw_input_contents: [fp32Raw(Array.from({ length: rows }, () => SCORER_ROW).flat())],
  };
}

/** stock_scorer with typed fp32_contents, a requested output, an id and the Triton parameters. */
export function scorerTypedRequest(rows = 2): RequestObject {
  return {
    model_name: 'stock_scorer',
    model_version: '1',
    id: 'typed-1',
    parameters: { priority: { int64_param: 1 }, timeout: { uint64_param: 5_000_000 } },
    inputs: [{ name: 'features', datatype: 'FP32', shape: [rows, 8], contents: { fp32_contents: Array.from({ length: rows }, () => SCORER_ROW).flat() } }],
    outputs: [{ name: 'score' }],
  };
}

/** Raw bytes of `count` elements of a fixed-size datatype, every one a valid value (BOOL 0/1). */
function rawElements(datatype: Exclude<EchoType, 'BYTES'>, count: number): Buffer {
  const out = Buffer.alloc(count * ELEMENT_SIZE[datatype]);
  for (let i = 0; i < out.length; i++) out[i] = datatype === 'BOOL' ? i & 1 : (i * 37 + 11) & 0xff;
  if (datatype === 'FP16' || datatype === 'FP32' || datatype === 'FP64') out.fill(0x3c, 0); // finite, non-NaN patterns
  return out;
}

/** type_echo with every datatype, `rows` x `width` elements each, raw. */
export function echoRawRequest(rows = 1, width = 2): RequestObject {
  const count = rows * width;
  return {
    model_name: 'type_echo',
    id: 'echo-raw',
    inputs: ECHO_TYPES.map((datatype) => ({ name: echoInput(datatype), datatype, shape: [rows, width] })),
    raw_input_contents: ECHO_TYPES.map((datatype) =>
      datatype === 'BYTES'
        ? frameBytes(Array.from({ length: count }, (_, i) => Buffer.from(`s${i}`)))
        : rawElements(datatype, count)),
  };
}

/** Typed contents of `count` valid values for a datatype; FP16 has no typed field. */
export function typedContents(datatype: EchoType, count: number): Record<string, unknown> | undefined {
  const ints = Array.from({ length: count }, (_, i) => i % 2);
  switch (datatype) {
    case 'BOOL': return { bool_contents: ints.map((v) => v === 1) };
    case 'INT8': case 'INT16': case 'INT32': return { int_contents: ints };
    case 'UINT8': case 'UINT16': case 'UINT32': return { uint_contents: ints };
    case 'INT64': return { int64_contents: ints };
    case 'UINT64': return { uint64_contents: ints };
    case 'FP32': return { fp32_contents: ints };
    case 'FP64': return { fp64_contents: ints };
    case 'BYTES': return { bytes_contents: ints.map((v) => Buffer.from(`b${v}`)) };
    case 'FP16': return undefined;
  }
}

/**
 * type_echo with typed contents for every datatype that has a typed field; FP16, which has
 * none, is an empty [rows, 0] tensor (the only FP16 a typed request can carry).
 */
export function echoTypedRequest(rows = 1, width = 2): RequestObject {
  return {
    model_name: 'type_echo',
    inputs: ECHO_TYPES.map((datatype) => datatype === 'FP16'
      ? { name: echoInput(datatype), datatype, shape: [rows, 0] }
      : { name: echoInput(datatype), datatype, shape: [rows, width], contents: typedContents(datatype, rows * width) }),
  };
}

/** The requests the fuzzer starts from: every model's raw and typed forms, small and batched. */
export function seedRequests(): RequestObject[] {
  return [scorerRequest(1), scorerRequest(3), scorerTypedRequest(2), echoRawRequest(1, 2), echoRawRequest(2, 1), echoTypedRequest(1, 2)];
}
