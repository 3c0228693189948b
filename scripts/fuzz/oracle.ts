/**
 * What an answer to a fuzzed message may be. The reference is protobufjs reading the same
 * bytes strictly (decodeRequest): bytes it cannot read must be refused with INVALID_ARGUMENT
 * saying so; bytes it reads are a request, which may be refused (any message, a client-error
 * code) or served, and then expect-valid.ts must find the request valid and the response
 * must be well-formed: the model asked, the outputs asked, the batch sent, sizes that agree.
 */
import { status } from '@grpc/grpc-js';
import { expectedAnswer, whyInvalid } from './expect-valid';
import { ECHO_TYPES, ELEMENT_SIZE } from './seeds';
import { decodeRequest, type WireResponse } from './wire';

const NOT_PROTOBUF = /not a valid ModelInferRequest protobuf message/;
/**
 * The server's decoding bounds (README, "Limits"): a message past one is refused before it is
 * read, so whether the rest of it is protobuf is not known, and unreadable bytes may get this.
 */
const DECODING_BOUND = /^(input \d+: shape has \d+ dims: expected at most 64|inputs: \d+ tensors: expected at most 4096|outputs: \d+ requested: expected at most 4096|parameters: \d+ in the request and its tensors: expected at most 4096|contents\.int64_contents and uint64_contents: \d+ values: expected at most 1048576|contents\.bytes_contents: \d+ elements: over the server's limit)/;

/** Unreadable bytes are refused rightly as not protobuf, or as past a decoding bound. */
export const refusedAsUnreadable = (message: string): boolean => NOT_PROTOBUF.test(message) || DECODING_BOUND.test(message);

/** Codes a readable but wrong request may get: the client's error, never the server's. */
const CLIENT_ERRORS: ReadonlySet<number> = new Set([status.INVALID_ARGUMENT, status.NOT_FOUND]);

export interface Reading {
  /** The request protobufjs reads, or undefined when it cannot. */
  readonly request: Record<string, unknown> | undefined;
  readonly error?: string;
}

export function read(bytes: Uint8Array): Reading {
  try {
    return { request: decodeRequest(bytes) };
  } catch (err) {
    return { request: undefined, error: (err as Error).message };
  }
}

function hasTimeout(request: Record<string, unknown>): boolean {
  const parameters = request.parameters as Record<string, unknown> | undefined;
  return parameters !== undefined && 'timeout' in parameters;
}

/** A problem with a refusal of `reading`, or undefined when the refusal is right. */
export function checkRefusal(reading: Reading, code: number, message: string): string | undefined {
  if (message === '') return `${status[code]} with no message`;
  if (reading.request === undefined) {
    return code === status.INVALID_ARGUMENT && refusedAsUnreadable(message)
      ? undefined
      : `unreadable bytes (${reading.error}) answered ${status[code]} '${message}'`;
  }
  if (CLIENT_ERRORS.has(code)) return undefined;
  // A request's own timeout parameter may run out before it is served.
  if (code === status.DEADLINE_EXCEEDED && hasTimeout(reading.request)) return undefined;
  return `a readable request answered ${status[code]} '${message}'`;
}

/** A problem with a response served for `reading`, or undefined when it is well-formed. */
export function checkServed(reading: Reading, response: WireResponse): string | undefined {
  if (reading.request === undefined) return `unreadable bytes (${reading.error}) answered OK`;
  if (response.model_name !== reading.request.model_name) return `OK for model '${String(reading.request.model_name)}' names '${response.model_name}'`;
  const invalid = whyInvalid(reading.request);
  if (invalid) return `OK although the request is wrong: ${invalid}`;
  const expected = expectedAnswer(reading.request);
  const names = (response.outputs ?? []).map((o) => o.name ?? '').sort();
  if (names.join() !== expected.outputs.join()) return `OK with outputs [${names.join(', ')}], expected [${expected.outputs.join(', ')}]`;
  const batches = (response.outputs ?? []).filter((o) => o.shape?.[0] !== expected.batch);
  if (batches.length > 0) return `OK with output '${batches[0].name}' of shape [${batches[0].shape?.join(',')}] for a batch of ${expected.batch}`;
  return checkResponseShape(response);
}

/** Outputs and raw contents that agree, each the size its datatype and shape say. */
export function checkResponseShape(response: WireResponse): string | undefined {
  const outputs = response.outputs ?? [];
  const raws = response.raw_output_contents ?? [];
  if (outputs.length === 0 || outputs.length !== raws.length) return `OK with ${outputs.length} outputs and ${raws.length} raw contents`;
  for (let i = 0; i < outputs.length; i++) {
    const problem = checkOutput(outputs[i].datatype ?? '', outputs[i].shape ?? [], raws[i]);
    if (problem) return `OK with output '${outputs[i].name}' ${problem}`;
  }
  return undefined;
}

function checkOutput(datatype: string, shape: readonly string[], raw: Uint8Array): string | undefined {
  if (!(ECHO_TYPES as readonly string[]).includes(datatype)) return `of datatype '${datatype}'`;
  let count = 1;
  for (const dim of shape) {
    const n = Number(dim);
    if (!Number.isSafeInteger(n) || n < 0) return `of shape [${shape.join(',')}]`;
    count *= n;
  }
  if (datatype !== 'BYTES') {
    const expected = count * ELEMENT_SIZE[datatype as keyof typeof ELEMENT_SIZE];
    return raw.length === expected ? undefined : `of ${raw.length} bytes for ${count} ${datatype}`;
  }
  const view = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 4 > view.length) return `with BYTES element ${i} of ${count} missing`;
    at += 4 + view.readUInt32LE(at);
  }
  return at === view.length ? undefined : `with BYTES framing ending at ${at} of ${view.length}`;
}
