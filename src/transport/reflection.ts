/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha, by @grpc/reflection), so grpcurl, ghz
 * and other clients can call the server without its .proto files. It describes the inference,
 * health, rollout admin and reflection services from descriptors built as protoc would (file-descriptors.ts):
 * those the library derives from proto-loader are refused by Go clients.
 */
import * as path from 'node:path';
import type { Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { fileDescriptorProtos } from './file-descriptors';
import { PROTO_DIR } from './protos';

/** The reflection protos that @grpc/reflection itself serves from, in its package. */
export const REFLECTION_PROTO_DIR = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');

type ReflectionPackage = ConstructorParameters<typeof ReflectionService>[0];

export function addReflection(server: Pick<Server, 'addService'>): void {
  const files = [
    ...fileDescriptorProtos(PROTO_DIR, ['grpc_service.proto', 'health.proto', 'rollout_admin.proto']),
    ...fileDescriptorProtos(REFLECTION_PROTO_DIR, ['grpc/reflection/v1/reflection.proto', 'grpc/reflection/v1alpha/reflection.proto']),
  ];
  // @grpc/reflection reads only `fileDescriptorProtos` from a package definition's entries,
  // so one entry carries them all.
  const definition: ReflectionPackage = { files: { format: 'Protocol Buffer 3 DescriptorProto', type: {}, fileDescriptorProtos: files } };
  new ReflectionService(definition).addToServer(server);
}
