import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** proto/ of this package, found upward from here (src/client/ and dist/src/client/ alike). */
function findProtoDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'proto', 'grpc_service.proto'))) return path.join(dir, 'proto');
    if (path.dirname(dir) === dir) throw new Error(`proto/grpc_service.proto not found above ${from}`);
  }
}

/** The server's loader options: int64 as decimal strings (exact), enums as names, no defaults filled. */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [findProtoDir(__dirname)],
};

export type ClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => grpc.Client;

export function inferenceServiceClient(): ClientConstructor {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync('grpc_service.proto', LOADER_OPTIONS)) as unknown as {
    inference: { GRPCInferenceService: ClientConstructor };
  };
  return pkg.inference.GRPCInferenceService;
}

export function healthClient(): ClientConstructor {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync('health.proto', LOADER_OPTIONS)) as unknown as {
    grpc: { health: { v1: { Health: ClientConstructor } } };
  };
  return pkg.grpc.health.v1.Health;
}
