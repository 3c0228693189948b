/**
 * What protobufjs would build from a ModelInferRequest, counted from its bytes before it builds
 * anything. The library decoder makes an object of every tensor, parameter, int64 dim or value
 * and bytes element, tens to hundreds of bytes each from one or two bytes on the wire: 1 MB of
 * packed dims took 118 MB and 1.3 s, 1.9 MB of empty bytes_contents 252 MB and 1.7 s, so one
 * 64 MiB message could exhaust the event loop's heap and end the process. Past a bound the
 * request is refused, naming what it carried. No allocation per field: the scan reads lengths
 * and skips payloads.
 */
import { LEN, NOT_PROTOBUF, VARINT, WireScan } from './wire-scan';

/**
 * Far more tensors than a model has. Each costs microseconds and hundreds of bytes to decode
 * and check: 700,000 tiny inputs in 14 MB held the event loop 4.4 s and took 450 MB.
 */
export const MAX_TENSORS = 4096;
/** More dims than any model's rank: ONNX Runtime models have a handful. */
export const MAX_DIMS = 64;
/** Parameters of the request and of its tensors together; Triton's clients send a few. */
export const MAX_PARAMETERS = 4096;
/** int64_contents and uint64_contents values (each a Long, then a string, in protobufjs); raw_input_contents has no such cost. */
const MAX_TYPED_INT64_VALUES = 1 << 20;

/** What decoding one request may build, from the operator's limits. */
export interface DecodeLimits {
  /** BYTES elements one request may carry, raw or typed (MAX_BYTES_ELEMENTS). */
  readonly maxBytesElements: number;
}

interface Counts {
  inputs: number;
  outputs: number;
  parameters: number;
  int64Values: number;
  bytesElements: number;
  /** The first input with more dims than MAX_DIMS, and how many it has. */
  deepInput?: [index: number, dims: number];
}

/** Why the request is refused before decoding, or undefined (within bounds, or not protobuf). */
export function censusRefusal(buf: Uint8Array, limits: DecodeLimits): string | undefined {
  const counts: Counts = { inputs: 0, outputs: 0, parameters: 0, int64Values: 0, bytesElements: 0 };
  try {
    scanRequest(new WireScan(buf, 0, buf.length), counts);
  } catch (err) {
    if (err === NOT_PROTOBUF) return undefined;
    throw err;
  }
  if (counts.inputs > MAX_TENSORS) return `inputs: ${counts.inputs} tensors: expected at most ${MAX_TENSORS}`;
  if (counts.outputs > MAX_TENSORS) return `outputs: ${counts.outputs} requested: expected at most ${MAX_TENSORS}`;
  if (counts.deepInput) return `input ${counts.deepInput[0]}: shape has ${counts.deepInput[1]} dims: expected at most ${MAX_DIMS}`;
  if (counts.parameters > MAX_PARAMETERS) {
    return `parameters: ${counts.parameters} in the request and its tensors: expected at most ${MAX_PARAMETERS}`;
  }
  if (counts.int64Values > MAX_TYPED_INT64_VALUES) {
    return `contents.int64_contents and uint64_contents: ${counts.int64Values} values: expected at most ${MAX_TYPED_INT64_VALUES}; send more as raw_input_contents`;
  }
  if (counts.bytesElements > limits.maxBytesElements) {
    return `contents.bytes_contents: ${counts.bytesElements} elements: over the server's limit of ${limits.maxBytesElements} BYTES elements a request (MAX_BYTES_ELEMENTS)`;
  }
  return undefined;
}

function scanRequest(s: WireScan, counts: Counts): void {
  while (s.pos < s.end) {
    const tag = s.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === LEN && field === 4) {
      counts.parameters++;
      s.skip(wireType);
    } else if (wireType === LEN && field === 5) {
      scanInput(s, counts, counts.inputs++);
    } else if (wireType === LEN && field === 6) {
      counts.outputs++;
      scanOutput(s, counts);
    } else s.skip(wireType);
  }
}

function scanInput(s: WireScan, counts: Counts, index: number): void {
  const outer = s.enter();
  let dims = 0;
  while (s.pos < s.end) {
    const tag = s.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 3 && wireType === VARINT) {
      dims++;
      s.varint();
    } else if (field === 3 && wireType === LEN) dims += s.packedCount();
    else if (field === 4 && wireType === LEN) {
      counts.parameters++;
      s.skip(wireType);
    } else if (field === 5 && wireType === LEN) scanContents(s, counts);
    else s.skip(wireType);
  }
  s.leave(outer);
  if (dims > MAX_DIMS && !counts.deepInput) counts.deepInput = [index, dims];
}

function scanContents(s: WireScan, counts: Counts): void {
  const outer = s.enter();
  while (s.pos < s.end) {
    const tag = s.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if ((field === 3 || field === 5) && wireType === LEN) counts.int64Values += s.packedCount();
    else if ((field === 3 || field === 5) && wireType === VARINT) {
      counts.int64Values++;
      s.varint();
    } else if (field === 8 && wireType === LEN) {
      counts.bytesElements++;
      s.skip(wireType);
    } else s.skip(wireType);
  }
  s.leave(outer);
}

function scanOutput(s: WireScan, counts: Counts): void {
  const outer = s.enter();
  while (s.pos < s.end) {
    const tag = s.varint();
    if (tag === ((2 << 3) | LEN)) counts.parameters++;
    s.skip(tag & 7);
  }
  s.leave(outer);
}
