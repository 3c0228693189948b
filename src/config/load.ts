import type { RequestLimits } from '../dataplane/request-limits';
import { commandLineProblem, flagNames } from './flags';
import { SCHEMA, buildSchema, type ClientAuthMode, type ExecutionProvider, type GraphOptimizationLevel, type ModelControlMode } from './schema';

/** TLS of the gRPC listeners: files, reread every refreshSeconds. */
export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** Set exactly when clientAuth is 'require'. */
  readonly caFile: string | undefined;
  readonly clientAuth: ClientAuthMode;
  readonly refreshSeconds: number;
}

export interface AdminConfig {
  readonly enabled: boolean;
  /** undefined: the inference listener serves the admin RPCs. */
  readonly port: number | undefined;
  readonly host: string;
  readonly tokenFile: string | undefined;
}

export interface ServerConfig {
  readonly modelRepository: string;
  readonly grpc: {
    readonly host: string;
    readonly port: number;
    readonly maxMessageBytes: number;
    readonly maxConcurrentStreams: number;
    readonly maxConnections: number;
    readonly prefaceTimeoutMs: number;
    /** 0: no server pings. */
    readonly keepaliveTimeMs: number;
    readonly keepaliveTimeoutMs: number;
    /** This and the two below: 0 means never. */
    readonly maxConnectionIdleMs: number;
    readonly maxConnectionAgeMs: number;
    readonly maxConnectionAgeGraceMs: number;
    readonly streamMaxInFlight: number;
    readonly reflection: boolean;
    readonly channelz: boolean;
    /** undefined: plaintext. */
    readonly tls: TlsConfig | undefined;
  };
  readonly limits: RequestLimits;
  readonly admin: AdminConfig;
  readonly metrics: { readonly host: string; readonly port: number };
  readonly shutdown: { readonly delaySeconds: number; readonly graceSeconds: number };
  readonly logLevel: string;
  readonly runtime: {
    readonly executionProviders: readonly ExecutionProvider[];
    readonly intraOpThreads: number;
    readonly graphOptimizationLevel: GraphOptimizationLevel;
    /** CUDA wanted and not had fails the load (REQUIRE_GPU). */
    readonly requireGpu: boolean;
    /** Probe node placement on CPU sessions too (CUDA sessions always are). */
    readonly probeNodePlacement: boolean;
  };
  readonly defaultMaxBatchSize: number;
  readonly defaultMaxQueueSize: number;
  readonly defaultStatisticsColumns: number;
  readonly modelControl: { readonly mode: ModelControlMode; readonly pollSeconds: number; readonly load: readonly string[] };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Precedence, lowest first: schema default, the --config JSON file, environment, flags.
 * A bad value, an unknown key in the file or an unknown flag throws a ConfigError naming it.
 */
export function loadConfig(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const problem = commandLineProblem(argv, flagNames(SCHEMA));
  if (problem !== undefined) throw new ConfigError(`invalid configuration: ${problem}`);
  const config = buildSchema({ env, args: [...argv] });
  try {
    const file = config.get('config');
    if (file) config.loadFile(file);
    config.validate({ allowed: 'strict' });
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    modelRepository: config.get('model_repository'),
    grpc: {
      host: config.get('grpc.host'),
      port: config.get('grpc.port'),
      maxMessageBytes: config.get('grpc.max_message_bytes'),
      maxConcurrentStreams: config.get('grpc.max_concurrent_streams'),
      maxConnections: config.get('grpc.max_connections'),
      prefaceTimeoutMs: config.get('grpc.preface_timeout_ms'),
      keepaliveTimeMs: config.get('grpc.keepalive_time_ms'),
      keepaliveTimeoutMs: config.get('grpc.keepalive_timeout_ms'),
      maxConnectionIdleMs: config.get('grpc.max_connection_idle_ms'),
      maxConnectionAgeMs: config.get('grpc.max_connection_age_ms'),
      maxConnectionAgeGraceMs: config.get('grpc.max_connection_age_grace_ms'),
      streamMaxInFlight: config.get('grpc.stream_max_in_flight'),
      reflection: config.get('grpc.reflection'),
      channelz: config.get('grpc.channelz'),
      tls: tlsConfig(config),
    },
    admin: {
      enabled: config.get('admin.rpcs') === 'on',
      port: config.get('admin.port') ?? undefined,
      host: config.get('admin.host') || config.get('grpc.host'),
      tokenFile: config.get('admin.token_file') || undefined,
    },
    limits: {
      maxElements: config.get('limits.max_request_elements'),
      maxBytesElements: config.get('limits.max_bytes_elements'),
      maxBytesElementBytes: config.get('limits.max_bytes_element_bytes'),
    },
    metrics: { host: config.get('metrics.host'), port: config.get('metrics.port') },
    shutdown: { delaySeconds: config.get('shutdown.delay_seconds'), graceSeconds: config.get('shutdown.grace_seconds') },
    logLevel: config.get('log.level'),
    runtime: {
      executionProviders: config.get('runtime.execution_providers') as ExecutionProvider[],
      intraOpThreads: config.get('runtime.intra_op_threads'),
      graphOptimizationLevel: config.get('runtime.graph_optimization_level') as GraphOptimizationLevel,
      requireGpu: config.get('runtime.require_gpu'),
      probeNodePlacement: config.get('runtime.probe_node_placement'),
    },
    defaultMaxBatchSize: config.get('models.default_max_batch_size'),
    defaultMaxQueueSize: config.get('models.default_max_queue_size'),
    defaultStatisticsColumns: config.get('models.default_statistics_columns'),
    modelControl: {
      mode: config.get('models.control_mode') as ModelControlMode,
      pollSeconds: config.get('models.poll_seconds'),
      load: config.get('models.load') as string[],
    },
  };
}

/** The TLS settings, checked together: half a configuration is refused rather than served as plaintext. */
function tlsConfig(config: ReturnType<typeof buildSchema>): TlsConfig | undefined {
  const certFile = config.get('grpc.tls.cert');
  const keyFile = config.get('grpc.tls.key');
  const caFile = config.get('grpc.tls.ca');
  const clientAuth = config.get('grpc.tls.client_auth') as ClientAuthMode;
  const refuse = (why: string): never => {
    throw new ConfigError(`invalid configuration: ${why}`);
  };
  if (certFile === '' && keyFile === '') {
    if (caFile !== '' || clientAuth !== 'none') refuse('grpc.tls.ca and grpc.tls.client_auth need TLS: set grpc.tls.cert and grpc.tls.key (GRPC_TLS_CERT, GRPC_TLS_KEY)');
    return undefined;
  }
  if (certFile === '' || keyFile === '') refuse('grpc.tls.cert and grpc.tls.key (GRPC_TLS_CERT, GRPC_TLS_KEY) go together: set both or neither');
  if (clientAuth === 'require' && caFile === '') refuse("grpc.tls.client_auth 'require' needs grpc.tls.ca (GRPC_TLS_CA), the CA client certificates must chain to");
  if (clientAuth === 'none' && caFile !== '') refuse("grpc.tls.ca is only used to verify client certificates: set grpc.tls.client_auth (GRPC_TLS_CLIENT_AUTH) to 'require', or leave the CA out");
  return { certFile, keyFile, caFile: caFile || undefined, clientAuth, refreshSeconds: config.get('grpc.tls.refresh_seconds') };
}
