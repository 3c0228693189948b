import type { RequestLimits } from '../dataplane/request-limits';
import { buildSchema, type ExecutionProvider, type GraphOptimizationLevel, type ModelControlMode } from './schema';

export interface ServerConfig {
  readonly modelRepository: string;
  readonly grpc: {
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
  };
  readonly limits: RequestLimits;
  readonly metrics: { readonly host: string; readonly port: number };
  readonly shutdown: { readonly delaySeconds: number; readonly graceSeconds: number };
  readonly logLevel: string;
  readonly runtime: {
    readonly executionProviders: readonly ExecutionProvider[];
    readonly intraOpThreads: number;
    readonly graphOptimizationLevel: GraphOptimizationLevel;
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
 * A bad value or an unknown key in the file throws a ConfigError naming the key.
 */
export function loadConfig(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): ServerConfig {
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
      keepaliveTimeMs: config.get('grpc.keepalive_time_ms'),
      keepaliveTimeoutMs: config.get('grpc.keepalive_timeout_ms'),
      maxConnectionIdleMs: config.get('grpc.max_connection_idle_ms'),
      maxConnectionAgeMs: config.get('grpc.max_connection_age_ms'),
      maxConnectionAgeGraceMs: config.get('grpc.max_connection_age_grace_ms'),
      streamMaxInFlight: config.get('grpc.stream_max_in_flight'),
      reflection: config.get('grpc.reflection'),
    },
    limits: { maxElements: config.get('limits.max_request_elements'), maxBytesElementBytes: config.get('limits.max_bytes_element_bytes') },
    metrics: { host: config.get('metrics.host'), port: config.get('metrics.port') },
    shutdown: { delaySeconds: config.get('shutdown.delay_seconds'), graceSeconds: config.get('shutdown.grace_seconds') },
    logLevel: config.get('log.level'),
    runtime: {
      executionProviders: config.get('runtime.execution_providers') as ExecutionProvider[],
      intraOpThreads: config.get('runtime.intra_op_threads'),
      graphOptimizationLevel: config.get('runtime.graph_optimization_level') as GraphOptimizationLevel,
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
