import { getChannelzHandlers, getChannelzServiceDefinition, Server, type handleUnaryCall, type ServerOptions, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { AdminConfig, ServerConfig } from '../config/load';
import type { InferenceService } from '../dataplane/inference-service';
import type { RolloutAdmin } from '../dataplane/rollout-admin';
import type { Readiness } from '../health/readiness';
import type { Logger } from '../observability/logger';
import { AdminToken, guardAdmin, refuseAdmin, REPOSITORY_RPCS } from './admin-guard';
import { listenWithConnectionLimit, type ConnectionListener } from './connection-limit';
import { createHandlers } from './handlers';
import { publishHealth } from './health-publisher';
import { OpenCalls } from './open-calls';
import { loadRolloutAdminService } from './protos';
import { addReflection } from './reflection';
import { createRolloutAdminHandlers } from './rollout-admin-handlers';
import { inferenceServiceDefinition } from './service-definition';
import { statusDetails } from './status';
import { listenerCredentials } from './tls-credentials';
import { addRefusingUnread } from './unread-requests';

export { INFERENCE_SERVICE } from './health-publisher';

export interface GrpcServer {
  readonly port: number;
  /** The separate admin listener's port; undefined when the inference port serves the admin RPCs. */
  readonly adminPort: number | undefined;
  /** Closes the listeners and ends every call still open (streams, Watch), then resolves. */
  close(): Promise<void>;
}

/** Past this, a graceful close stops waiting for clients and cuts their connections. */
const FORCE_CLOSE_MS = 5000;

/** The gRPC listener's settings, as configured (config/load.ts). */
export type GrpcOptions = ServerConfig['grpc'];

/**
 * grpc-js reads an absent option as "never"; a 0 it would take literally (a connection age of 0
 * closes at once). Exported for the benchmark's bare grpc-js ceiling, configured option for option.
 */
export function serverOptions(options: GrpcOptions): ServerOptions {
  const unlessZero = (key: string, value: number): ServerOptions => (value > 0 ? { [key]: value } : {});
  return {
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    'grpc.max_concurrent_streams': options.maxConcurrentStreams,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
    'grpc.enable_channelz': options.channelz ? 1 : 0,
    ...unlessZero('grpc.keepalive_time_ms', options.keepaliveTimeMs),
    ...unlessZero('grpc.max_connection_idle_ms', options.maxConnectionIdleMs),
    ...unlessZero('grpc.max_connection_age_ms', options.maxConnectionAgeMs),
    ...unlessZero('grpc.max_connection_age_grace_ms', options.maxConnectionAgeGraceMs),
  };
}

/**
 * Binds the inference, rollout admin, health and reflection services; health follows `readiness`
 * from the first moment. The admin RPCs are served, refused or moved to their own listener as
 * `admin` says, behind its token; both listeners share the TLS credentials.
 */
export async function startGrpcServer(
  service: InferenceService,
  rolloutAdmin: RolloutAdmin,
  readiness: Readiness,
  options: GrpcOptions,
  admin: AdminConfig,
  log: Logger,
): Promise<GrpcServer> {
  const token = admin.enabled && admin.tokenFile !== undefined ? await AdminToken.open(admin.tokenFile) : undefined;
  const tls = listenerCredentials(options.tls, log);
  const openCalls = new OpenCalls();
  const health = new HealthImplementation();
  publishHealth(health, readiness);
  const newServer = (): Server => {
    const server = new Server(serverOptions(options));
    addHealth(server, health, openCalls, log);
    if (options.reflection) addReflection(server);
    // With the bookkeeping on, serve it too: channelz tools ask the server itself.
    if (options.channelz) server.addService(getChannelzServiceDefinition(), getChannelzHandlers());
    return server;
  };

  const handlers = createHandlers(service, log, options.streamMaxInFlight, openCalls);
  const repositoryHandlers = Object.fromEntries(REPOSITORY_RPCS.map((rpc) => [rpc, handlers[rpc]]));
  const rolloutDefinition = loadRolloutAdminService();
  const rolloutRpcs = Object.keys(rolloutDefinition);
  /** Set when the admin RPCs get a listener of their own. */
  const separatePort = admin.enabled ? admin.port : undefined;
  const separate = separatePort !== undefined;
  const notHere = admin.enabled ? 'is served on the admin port only, not on the inference port' : 'is turned off on this server (ADMIN_RPCS=off)';

  const main = newServer();
  if (admin.enabled && !separate) {
    addRefusingUnread(main, inferenceServiceDefinition(service.limits), { ...handlers, ...guardAdmin(repositoryHandlers, token, log) }, log);
    addRefusingUnread(main, rolloutDefinition, guardAdmin(createRolloutAdminHandlers(rolloutAdmin, log), token, log), log);
  } else {
    addRefusingUnread(main, inferenceServiceDefinition(service.limits), { ...handlers, ...refuseAdmin(REPOSITORY_RPCS, notHere, log) }, log);
    addRefusingUnread(main, rolloutDefinition, refuseAdmin(rolloutRpcs, notHere, log), log);
  }
  const servers = [main];
  const listeners: ConnectionListener[] = [];
  const listen = async (server: Server, host: string, port: number): Promise<number> => {
    const listener = await listenWithConnectionLimit(server, { host, port, maxConnections: options.maxConnections, prefaceTimeoutMs: options.prefaceTimeoutMs, credentials: tls.credentials, secure: options.tls !== undefined }, log);
    listeners.push(listener);
    return listener.port;
  };
  const close = async (): Promise<void> => {
    for (const listener of listeners) listener.close();
    openCalls.endAll();
    await Promise.all(servers.map(shutDown));
    tls.close();
  };
  try {
    const port = await listen(main, options.host, options.port);
    let adminPort: number | undefined;
    if (separatePort !== undefined) {
      // The inference service's other RPCs are left out here: grpc-js answers them UNIMPLEMENTED.
      const adminServer = newServer();
      addRefusingUnread(adminServer, inferenceServiceDefinition(service.limits), guardAdmin(repositoryHandlers, token, log), log);
      addRefusingUnread(adminServer, rolloutDefinition, guardAdmin(createRolloutAdminHandlers(rolloutAdmin, log), token, log), log);
      servers.push(adminServer);
      adminPort = await listen(adminServer, admin.host, separatePort);
    }
    return { port, adminPort, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Registers each Watch, so that close() can end it; the library keeps its calls to itself. Check
 * quotes the service name it was asked for in its NOT_FOUND, however long: that goes through
 * statusDetails, as the server's own messages do.
 */
function addHealth(server: Server, health: HealthImplementation, openCalls: OpenCalls, log: Logger): void {
  health.addToServer({
    addService: (definition, implementation: UntypedServiceImplementation) => {
      const watch = implementation.watch as (call: ServerWritableStream<unknown, unknown>) => void;
      const check = implementation.check as handleUnaryCall<unknown, unknown>;
      const wrapped = {
        ...implementation,
        watch: (call: ServerWritableStream<unknown, unknown>) => {
          openCalls.add(call, () => call.end());
          watch(call);
        },
        check: ((call, callback) =>
          check(call, (err, value) => callback(err && { ...err, details: statusDetails(err.details ?? '') }, value))) satisfies handleUnaryCall<unknown, unknown>,
      };
      addRefusingUnread(server, definition, wrapped, log);
    },
  });
}

async function shutDown(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  const force = setTimeout(() => server.forceShutdown(), FORCE_CLOSE_MS);
  await closed;
  clearTimeout(force);
}
