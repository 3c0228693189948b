/**
 * The GRPCInferenceService definition the server binds: proto-loader's, with the two
 * inference RPCs reading and writing their messages through our own codec (the hot path).
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type { DecodeLimits } from './infer-request-census';
import { decodeModelInferRequest } from './infer-request-decoder';
import { encodeModelInferResponse, encodeStreamInferResponse } from './infer-response-encoder';
import { loadInferenceService } from './protos';
import type { WireInferRequest } from './wire-types';

export function inferenceServiceDefinition(limits: DecodeLimits): ServiceDefinition {
  const service = loadInferenceService();
  const withCodec = <Res>(name: string, encode: (response: Res) => Buffer): MethodDefinition<WireInferRequest, Res> => {
    const method = service[name] as MethodDefinition<WireInferRequest, Res>;
    // protobufjs reads a Buffer with a reader whose string() stops at the end of the message when
    // the length runs past it, so a message cut inside a string field decoded without error; its
    // reader for a plain Uint8Array refuses it. Its bytes fields are then Uint8Arrays, as typed.
    const libraryDecode = (bytes: Buffer): WireInferRequest =>
      method.requestDeserialize(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) as Buffer);
    return { ...method, requestDeserialize: (bytes) => decodeModelInferRequest(bytes, libraryDecode, limits), responseSerialize: encode };
  };
  return {
    ...service,
    ModelInfer: withCodec('ModelInfer', encodeModelInferResponse),
    ModelStreamInfer: withCodec('ModelStreamInfer', encodeStreamInferResponse),
  };
}
