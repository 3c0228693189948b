import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { InferenceService } from '../dataplane/inference-service';
import type { Logger } from '../observability/logger';
import { createHandlers } from './handlers';
import { addReflection } from './reflection';
import { inferenceServiceDefinition } from './service-definition';

export const INFERENCE_SERVICE = 'inference.GRPCInferenceService';

export interface GrpcServer {
  readonly port: number;
  readonly health: HealthImplementation;
  shutdown(): Promise<void>;
}

export interface GrpcOptions {
  readonly host: string;
  readonly port: number;
  readonly maxMessageBytes: number;
  readonly streamMaxInFlight: number;
}

/** Binds the inference, health and reflection services; health stays NOT_SERVING until the caller says so. */
export async function startGrpcServer(service: InferenceService, options: GrpcOptions, log: Logger): Promise<GrpcServer> {
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
  });
  server.addService(inferenceServiceDefinition(), createHandlers(service, log, options.streamMaxInFlight));
  const health = new HealthImplementation({ '': 'NOT_SERVING', [INFERENCE_SERVICE]: 'NOT_SERVING' });
  health.addToServer(server);
  addReflection(server);
  const address = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    port,
    health,
    shutdown: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
