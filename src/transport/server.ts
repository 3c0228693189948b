import { Server, ServerCredentials, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { InferenceService } from '../dataplane/inference-service';
import type { RolloutAdmin } from '../dataplane/rollout-admin';
import type { Readiness } from '../health/readiness';
import type { Logger } from '../observability/logger';
import { createHandlers } from './handlers';
import { publishHealth } from './health-publisher';
import { OpenCalls } from './open-calls';
import { loadRolloutAdminService } from './protos';
import { addReflection } from './reflection';
import { createRolloutAdminHandlers } from './rollout-admin-handlers';
import { inferenceServiceDefinition } from './service-definition';

export { INFERENCE_SERVICE } from './health-publisher';

export interface GrpcServer {
  readonly port: number;
  /** Closes the listener and ends every call still open (streams, Watch), then resolves. */
  close(): Promise<void>;
}

/** Past this, a graceful close stops waiting for clients and cuts their connections. */
const FORCE_CLOSE_MS = 5000;

export interface GrpcOptions {
  readonly host: string;
  readonly port: number;
  readonly maxMessageBytes: number;
  readonly streamMaxInFlight: number;
  readonly reflection: boolean;
}

/** Binds the inference, rollout admin, health and reflection services; health follows `readiness` from the first moment. */
export async function startGrpcServer(
  service: InferenceService,
  rolloutAdmin: RolloutAdmin,
  readiness: Readiness,
  options: GrpcOptions,
  log: Logger,
): Promise<GrpcServer> {
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
  });
  const openCalls = new OpenCalls();
  server.addService(inferenceServiceDefinition(), createHandlers(service, log, options.streamMaxInFlight, openCalls));
  server.addService(loadRolloutAdminService(), createRolloutAdminHandlers(rolloutAdmin, log));
  const health = new HealthImplementation();
  publishHealth(health, readiness);
  // Registers each Watch, so that close() can end it; the library keeps its calls to itself.
  health.addToServer({
    addService: (definition, implementation: UntypedServiceImplementation) => {
      const watch = implementation.watch as (call: ServerWritableStream<unknown, unknown>) => void;
      server.addService(definition, {
        ...implementation,
        watch: (call: ServerWritableStream<unknown, unknown>) => {
          openCalls.add(call, () => call.end());
          watch(call);
        },
      });
    },
  });
  if (options.reflection) addReflection(server);
  const address = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    port,
    close: async () => {
      openCalls.endAll();
      const closed = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      const force = setTimeout(() => server.forceShutdown(), FORCE_CLOSE_MS);
      await closed;
      clearTimeout(force);
    },
  };
}
