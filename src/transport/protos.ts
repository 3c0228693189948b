import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';

/** proto/ at the repository root, found upward so it works from src/ and dist/src/ alike. */
export const PROTO_DIR = findProtoDir(__dirname);

function findProtoDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'proto', 'grpc_service.proto'))) return path.join(dir, 'proto');
    if (path.dirname(dir) === dir) throw new Error(`proto/grpc_service.proto not found above ${from}`);
  }
}

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
