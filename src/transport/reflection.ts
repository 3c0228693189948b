/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha, by @grpc/reflection), so grpcurl, ghz
 * and other clients can call the server without its .proto files. It describes the inference,
 * health, rollout admin and reflection services from descriptors built as protoc would (file-descriptors.ts):
 * those the library derives from proto-loader are refused by Go clients.
 */
import * as path from 'node:path';
import type { Server, ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { fileDescriptorProtos } from './file-descriptors';
import { PROTO_DIR } from '../platform/proto-dir';

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
  new ReflectionService(definition).addToServer({
    addService: (service, implementation: UntypedServiceImplementation) => server.addService(service, withBackpressure(implementation)),
  });
}

type Stream = ServerDuplexStream<unknown, unknown>;

/**
 * @grpc/reflection answers each request on its stream with a write and ignores what the write
 * returns, so a client that sends requests and never reads the answers made the server buffer
 * them all: 3,000,000 requests in 111 MB took 900 MB. Here a write the stream cannot take at once
 * stops the reading of requests until it drains, and HTTP/2 flow control then stops the client.
 */
function withBackpressure(implementation: UntypedServiceImplementation): UntypedServiceImplementation {
  return Object.fromEntries(
    Object.entries(implementation).map(([rpc, handler]) => [
      rpc,
      (call: Stream) => {
        const write = call.write.bind(call) as (chunk: unknown) => boolean;
        call.write = ((chunk: unknown) => {
          const taken = write(chunk);
          if (!taken && !call.isPaused()) {
            call.pause();
            call.once('drain', () => call.resume());
          }
          return taken;
        }) as Stream['write'];
        (handler as (call: Stream) => void)(call);
      },
    ]),
  );
}
