/**
 * The GRPCInferenceService definition the server binds: proto-loader's, with the two
 * inference RPCs reading and writing their messages through our own codec (the hot path).
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { decodeModelInferRequest } from './infer-request-decoder';
import { encodeModelInferResponse, encodeStreamInferResponse } from './infer-response-encoder';
import { loadInferenceService } from './protos';
import type { WireInferRequest } from './wire-types';

export function inferenceServiceDefinition(): ServiceDefinition {
  const service = loadInferenceService();
  const withCodec = <Res>(name: string, encode: (response: Res) => Buffer): MethodDefinition<WireInferRequest, Res> => {
    const method = service[name] as MethodDefinition<WireInferRequest, Res>;
    const libraryDecode = method.requestDeserialize;
    return { ...method, requestDeserialize: (bytes) => decodeModelInferRequest(bytes, libraryDecode), responseSerialize: encode };
  };
  return {
    ...service,
    ModelInfer: withCodec('ModelInfer', encodeModelInferResponse),
    ModelStreamInfer: withCodec('ModelStreamInfer', encodeStreamInferResponse),
  };
}
