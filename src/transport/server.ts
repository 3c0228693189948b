import { Server, type ServerOptions, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { InferenceService } from '../dataplane/inference-service';
import type { RolloutAdmin } from '../dataplane/rollout-admin';
import type { Readiness } from '../health/readiness';
import type { Logger } from '../observability/logger';
import { listenWithConnectionLimit } from './connection-limit';
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
  readonly maxConcurrentStreams: number;
  readonly maxConnections: number;
  /** 0: no server pings. */
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  /** This and the two below: 0 means never. */
  readonly maxConnectionIdleMs: number;
  readonly maxConnectionAgeMs: number;
  readonly maxConnectionAgeGraceMs: number;
  readonly streamMaxInFlight: number;
  readonly reflection: boolean;
}

/** grpc-js reads an absent option as "never"; a 0 it would take literally (a connection age of 0 closes at once). */
function serverOptions(options: GrpcOptions): ServerOptions {
  const unlessZero = (key: string, value: number): ServerOptions => (value > 0 ? { [key]: value } : {});
  return {
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    'grpc.max_concurrent_streams': options.maxConcurrentStreams,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
    ...unlessZero('grpc.keepalive_time_ms', options.keepaliveTimeMs),
    ...unlessZero('grpc.max_connection_idle_ms', options.maxConnectionIdleMs),
    ...unlessZero('grpc.max_connection_age_ms', options.maxConnectionAgeMs),
    ...unlessZero('grpc.max_connection_age_grace_ms', options.maxConnectionAgeGraceMs),
  };
}

/** Binds the inference, rollout admin, health and reflection services; health follows `readiness` from the first moment. */
export async function startGrpcServer(
  service: InferenceService,
  rolloutAdmin: RolloutAdmin,
  readiness: Readiness,
  options: GrpcOptions,
  log: Logger,
): Promise<GrpcServer> {
  const server = new Server(serverOptions(options));
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
  const listener = await listenWithConnectionLimit(server, options.host, options.port, options.maxConnections, log);
  return {
    port: listener.port,
    close: async () => {
      listener.close();
      openCalls.endAll();
      const closed = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      const force = setTimeout(() => server.forceShutdown(), FORCE_CLOSE_MS);
      await closed;
      clearTimeout(force);
    },
  };
}
