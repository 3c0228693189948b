/**
 * ModelInferRequest and the answers to it as bytes, with protobufjs (the library proto-loader
 * builds on, so the same reading of the same .proto files as the server's fallback decoder).
 */
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { PROTO_DIR } from '../../src/platform/proto-dir';

// keepCase: the proto's snake_case names, as the server's proto-loader keeps them.
const root = new protobuf.Root().loadSync(path.join(PROTO_DIR, 'grpc_service.proto'), { keepCase: true });

export const INFER_REQUEST = root.lookupType('inference.ModelInferRequest');
export const INFER_RESPONSE = root.lookupType('inference.ModelInferResponse');
export const STREAM_RESPONSE = root.lookupType('inference.ModelStreamInferResponse');

export const MODEL_INFER_PATH = '/inference.GRPCInferenceService/ModelInfer';
export const MODEL_STREAM_INFER_PATH = '/inference.GRPCInferenceService/ModelStreamInfer';

/** The options the server's proto-loader uses, so a re-decoded request reads as the server's does. */
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: false, oneofs: true };

/**
 * Encodes a plain object (snake_case field names, as the proto spells them) as ModelInferRequest
 * bytes; 64-bit integers may be decimal strings. Not verified first: fromObject takes what verify
 * refuses (strings for int64), and the table wants encodings of odd values.
 */
export function encodeRequest(request: object): Buffer {
  return Buffer.from(INFER_REQUEST.encode(INFER_REQUEST.fromObject(request)).finish());
}

/** Decodes bytes the way the server's fallback decoder does; throws on what is not protobuf. */
export function decodeRequest(bytes: Uint8Array): Record<string, unknown> {
  return INFER_REQUEST.toObject(INFER_REQUEST.decode(strict(bytes)), TO_OBJECT);
}

/** A plain view: protobufjs's Buffer reader lets a string's length run past the end (see service-definition.ts). */
function strict(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface WireOutput {
  readonly name?: string;
  readonly datatype?: string;
  readonly shape?: string[];
}

export interface WireResponse {
  readonly model_name?: string;
  readonly model_version?: string;
  readonly id?: string;
  readonly outputs?: WireOutput[];
  readonly raw_output_contents?: Uint8Array[];
}

export interface WireStreamResponse {
  readonly error_message?: string;
  readonly infer_response?: WireResponse;
}

export function decodeResponse(bytes: Uint8Array): WireResponse {
  return INFER_RESPONSE.toObject(INFER_RESPONSE.decode(strict(bytes)), TO_OBJECT) as WireResponse;
}

export function decodeStreamResponse(bytes: Uint8Array): WireStreamResponse {
  return STREAM_RESPONSE.toObject(STREAM_RESPONSE.decode(strict(bytes)), TO_OBJECT) as WireStreamResponse;
}
