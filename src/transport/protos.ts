import * as protoLoader from '@grpc/proto-loader';
import { loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { PROTO_DIR } from '../platform/proto-dir';

/** Int64 as decimal strings keeps INT64/UINT64 contents exact; absent fields stay undefined. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export function loadInferenceService(): ServiceDefinition {
  const definition = protoLoader.loadSync('grpc_service.proto', LOADER_OPTIONS);
  const grpcObject = loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: { service: ServiceDefinition } } };
  return grpcObject.inference.GRPCInferenceService.service;
}

export function loadRolloutAdminService(): ServiceDefinition {
  const definition = protoLoader.loadSync('rollout_admin.proto', LOADER_OPTIONS);
  const grpcObject = loadPackageDefinition(definition) as unknown as {
    onnx_grpc_server: { admin: { v1: { RolloutAdmin: { service: ServiceDefinition } } } };
  };
  return grpcObject.onnx_grpc_server.admin.v1.RolloutAdmin.service;
}
