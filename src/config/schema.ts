import convict from 'convict';
import { registerFormats } from './formats';

export const EXECUTION_PROVIDERS = ['cuda', 'cpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];
export const GRAPH_OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type GraphOptimizationLevel = (typeof GRAPH_OPTIMIZATION_LEVELS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** Triton's model control modes: load at start only, rescan the repository, or load on request. */
export const MODEL_CONTROL_MODES = ['none', 'poll', 'explicit'] as const;
export type ModelControlMode = (typeof MODEL_CONTROL_MODES)[number];
/** Whether TLS asks clients for a certificate signed by GRPC_TLS_CA (mTLS) or not. */
export const CLIENT_AUTH_MODES = ['none', 'require'] as const;
export type ClientAuthMode = (typeof CLIENT_AUTH_MODES)[number];

registerFormats(EXECUTION_PROVIDERS);

/** The settings, for convict and for the command line's check (flags.ts). */
export const SCHEMA = {
  config: {
    doc: 'Path of a JSON file with any of these settings; environment and flags override it.',
    format: String,
    default: '',
    env: 'CONFIG_FILE',
    arg: 'config',
  },
  model_repository: {
    doc: 'Folder holding <model>/<version>/model.onnx and optional <model>/config.json.',
    format: String,
    default: './models',
    env: 'MODEL_REPOSITORY',
    arg: 'model-repository',
  },
  grpc: {
    host: { doc: 'Address the gRPC server binds.', format: String, default: '0.0.0.0', env: 'GRPC_HOST', arg: 'grpc-host' },
    port: { doc: 'gRPC port; 0 picks a free one.', format: 'tcp-port', default: 8001, env: 'GRPC_PORT', arg: 'grpc-port' },
    max_message_bytes: {
      doc: 'Largest request or response message, in bytes.',
      format: 'positive-int',
      default: 64 * 1024 * 1024,
      env: 'GRPC_MAX_MESSAGE_BYTES',
      arg: 'grpc-max-message-bytes',
    },
    reflection: {
      doc: 'Serve gRPC server reflection, so grpcurl and ghz need no proto files.',
      format: 'flag',
      default: true,
      env: 'GRPC_REFLECTION',
      arg: 'grpc-reflection',
    },
    channelz: {
      doc: "grpc-js's channelz bookkeeping (per-call counters for channelz tools); off by default, as it costs 3 to 4 µs of CPU per call.",
      format: 'flag',
      default: false,
      env: 'GRPC_CHANNELZ',
      arg: 'grpc-channelz',
    },
    max_concurrent_streams: {
      doc: 'HTTP/2 streams (calls) one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); the client holds further calls back until one ends.',
      format: 'positive-int',
      default: 1000,
      env: 'GRPC_MAX_CONCURRENT_STREAMS',
      arg: 'grpc-max-concurrent-streams',
    },
    max_connections: {
      doc: 'Client connections open at once; a connection past it has each call answered RESOURCE_EXHAUSTED and is closed.',
      format: 'positive-int',
      default: 1000,
      env: 'GRPC_MAX_CONNECTIONS',
      arg: 'grpc-max-connections',
    },
    preface_timeout_ms: {
      doc: "Milliseconds a new connection has to send HTTP/2's 24-byte preface (or, under TLS, as many bytes) before it is closed, so that idle sockets cannot hold every one of max_connections.",
      format: 'positive-duration-ms',
      default: 10_000,
      env: 'GRPC_PREFACE_TIMEOUT_MS',
      arg: 'grpc-preface-timeout-ms',
    },
    keepalive_time_ms: {
      doc: 'Milliseconds of quiet on a connection before the server pings the client; 0 turns server pings off (gRPC and Triton default: 2 hours).',
      format: 'duration-ms',
      default: 2 * 60 * 60 * 1000,
      env: 'GRPC_KEEPALIVE_TIME_MS',
      arg: 'grpc-keepalive-time-ms',
    },
    keepalive_timeout_ms: {
      doc: 'Milliseconds the server waits for a ping to be answered before it closes the connection.',
      format: 'positive-duration-ms',
      default: 20_000,
      env: 'GRPC_KEEPALIVE_TIMEOUT_MS',
      arg: 'grpc-keepalive-timeout-ms',
    },
    max_connection_idle_ms: {
      doc: 'Milliseconds a connection may have no call open before the server closes it (GOAWAY); 0 means never.',
      format: 'duration-ms',
      default: 0,
      env: 'GRPC_MAX_CONNECTION_IDLE_MS',
      arg: 'grpc-max-connection-idle-ms',
    },
    max_connection_age_ms: {
      doc: 'Milliseconds (plus or minus 10%) after which the server asks a client to reconnect (GOAWAY), so new connections spread over replicas behind a Kubernetes Service; 0 means never.',
      format: 'duration-ms',
      default: 0,
      env: 'GRPC_MAX_CONNECTION_AGE_MS',
      arg: 'grpc-max-connection-age-ms',
    },
    max_connection_age_grace_ms: {
      doc: 'After max_connection_age_ms, milliseconds calls still open may take before the connection is cut; 0 means they may take as long as they need.',
      format: 'duration-ms',
      default: 0,
      env: 'GRPC_MAX_CONNECTION_AGE_GRACE_MS',
      arg: 'grpc-max-connection-age-grace-ms',
    },
    tls: {
      cert: {
        doc: 'PEM certificate chain the gRPC listeners present; with GRPC_TLS_KEY it turns TLS on. Reread when the file changes, without a restart.',
        format: String,
        default: '',
        env: 'GRPC_TLS_CERT',
        arg: 'grpc-tls-cert',
      },
      key: { doc: 'PEM private key of GRPC_TLS_CERT.', format: String, default: '', env: 'GRPC_TLS_KEY', arg: 'grpc-tls-key' },
      ca: {
        doc: "PEM CA certificates that client certificates must chain to; needs GRPC_TLS_CLIENT_AUTH=require.",
        format: String,
        default: '',
        env: 'GRPC_TLS_CA',
        arg: 'grpc-tls-ca',
      },
      client_auth: {
        doc: "'require': a client must present a certificate signed by GRPC_TLS_CA (mTLS), or its handshake fails; 'none': no client certificate is asked for.",
        format: CLIENT_AUTH_MODES as unknown as string[],
        default: 'none',
        env: 'GRPC_TLS_CLIENT_AUTH',
        arg: 'grpc-tls-client-auth',
      },
      refresh_seconds: {
        doc: 'Seconds between rereads of the TLS files; a changed certificate, key or CA serves new connections from the next reread on.',
        format: 'positive-duration-seconds',
        default: 60,
        env: 'GRPC_TLS_REFRESH_SECONDS',
        arg: 'grpc-tls-refresh-seconds',
      },
    },
    stream_max_in_flight: {
      doc: 'Requests one ModelStreamInfer stream may have unanswered; past it the server stops reading that stream until answers go out.',
      format: 'positive-int',
      default: 128,
      env: 'GRPC_STREAM_MAX_IN_FLIGHT',
      arg: 'grpc-stream-max-in-flight',
    },
  },
  limits: {
    max_request_elements: {
      doc: 'Elements one inference request may carry, all inputs together (the product of each shape); the default lets any numeric input that fits the message size through.',
      format: 'positive-int',
      default: 64 * 1024 * 1024,
      env: 'MAX_REQUEST_ELEMENTS',
      arg: 'max-request-elements',
    },
    max_bytes_elements: {
      doc: 'BYTES elements one inference request may carry, all BYTES inputs together, raw or typed: each costs the server about 450 bytes of memory and 3 µs, so 64 MiB of empty elements would take gigabytes.',
      format: 'positive-int',
      default: 262_144,
      env: 'MAX_BYTES_ELEMENTS',
      arg: 'max-bytes-elements',
    },
    max_bytes_element_bytes: {
      doc: 'Bytes one element of a BYTES input may hold; the default is the message size, so only an operator who lowers it sees it.',
      format: 'positive-int',
      default: 64 * 1024 * 1024,
      env: 'MAX_BYTES_ELEMENT_BYTES',
      arg: 'max-bytes-element-bytes',
    },
  },
  admin: {
    rpcs: {
      doc: "'on' serves the admin RPCs (RepositoryIndex, RepositoryModelLoad, RepositoryModelUnload and the RolloutAdmin service); 'off' answers them UNIMPLEMENTED.",
      format: ['on', 'off'],
      default: 'on',
      env: 'ADMIN_RPCS',
      arg: 'admin-rpcs',
    },
    port: {
      doc: 'gRPC port of a separate admin listener, which then alone serves the admin RPCs (the inference port answers them UNIMPLEMENTED); empty: the inference port serves them; 0 picks a free port.',
      format: 'optional-tcp-port',
      default: null as number | null,
      nullable: true,
      env: 'ADMIN_GRPC_PORT',
      arg: 'admin-grpc-port',
    },
    host: {
      doc: 'Address the admin listener binds; empty: the same as GRPC_HOST.',
      format: String,
      default: '',
      env: 'ADMIN_GRPC_HOST',
      arg: 'admin-grpc-host',
    },
    token_file: {
      doc: "File holding the bearer token admin RPCs must send as 'authorization: Bearer <token>' metadata; read at each admin call, so replacing it rotates the token. Empty: no token asked.",
      format: String,
      default: '',
      env: 'ADMIN_TOKEN_FILE',
      arg: 'admin-token-file',
    },
  },
  metrics: {
    port: {
      doc: 'HTTP port of Prometheus /metrics and of /v2/health/live and /v2/health/ready; 0 turns it off.',
      format: 'tcp-port',
      default: 8002,
      env: 'METRICS_PORT',
      arg: 'metrics-port',
    },
    host: { doc: 'Address the metrics HTTP server binds.', format: String, default: '0.0.0.0', env: 'METRICS_HOST', arg: 'metrics-host' },
  },
  shutdown: {
    delay_seconds: {
      doc: 'After SIGTERM or SIGINT, seconds during which new calls are still served while readiness already says NOT_SERVING, so load balancers can stop sending; then new calls get UNAVAILABLE.',
      format: 'duration-seconds',
      default: 0,
      env: 'SHUTDOWN_DELAY_SECONDS',
      arg: 'shutdown-delay-seconds',
    },
    grace_seconds: {
      doc: 'After SIGTERM or SIGINT, the most seconds the server waits for calls in flight and queued before it cuts them and exits non-zero.',
      format: 'duration-seconds',
      default: 30,
      env: 'SHUTDOWN_GRACE_SECONDS',
      arg: 'shutdown-grace-seconds',
    },
  },
  log: {
    level: { doc: 'pino log level.', format: LOG_LEVELS as unknown as string[], default: 'info', env: 'LOG_LEVEL', arg: 'log-level' },
  },
  runtime: {
    execution_providers: {
      doc: 'ONNX Runtime execution providers in order of preference; each model falls back along the list.',
      format: 'provider-list',
      default: ['cuda', 'cpu'],
      env: 'EXECUTION_PROVIDERS',
      arg: 'execution-providers',
    },
    intra_op_threads: {
      doc: 'ONNX Runtime intra-op threads per model instance; 0 lets ONNX Runtime choose (one per core, spinning between runs).',
      format: 'count',
      default: 1,
      env: 'ORT_INTRA_OP_THREADS',
      arg: 'ort-intra-op-threads',
    },
    graph_optimization_level: {
      doc: 'ONNX Runtime graph optimization level.',
      format: GRAPH_OPTIMIZATION_LEVELS as unknown as string[],
      default: 'all',
      env: 'ORT_GRAPH_OPTIMIZATION_LEVEL',
      arg: 'ort-graph-optimization-level',
    },
    require_gpu: {
      doc: "A model version that wants CUDA (instance_group kind KIND_AUTO, or none, with 'cuda' first in execution_providers) fails to load when its sessions do not get it, instead of falling back to the next provider with a warning.",
      format: 'flag',
      default: false,
      env: 'REQUIRE_GPU',
      arg: 'require-gpu',
    },
    probe_node_placement: {
      doc: 'Prove where the graph nodes run (one profiled run at load) for CPU sessions too; CUDA sessions are always probed.',
      format: 'flag',
      default: false,
      env: 'PROBE_NODE_PLACEMENT',
      arg: 'probe-node-placement',
    },
  },
  models: {
    default_max_batch_size: {
      doc: 'max_batch_size given to an auto-configured model whose first dimension is variable (Triton uses 4).',
      format: 'count',
      default: 4,
      env: 'DEFAULT_MAX_BATCH_SIZE',
      arg: 'default-max-batch-size',
    },
    default_max_queue_size: {
      doc: 'Bound on queued requests per model version and priority level where config.json sets none (Triton: unbounded).',
      format: 'positive-int',
      default: 1024,
      env: 'DEFAULT_MAX_QUEUE_SIZE',
      arg: 'default-max-queue-size',
    },
    default_statistics_columns: {
      doc: "Per-column drift statistics (inference_input_feature_* metrics) for the first N columns of every 2-D float input whose config.json entry sets no 'statistics'; 0: off.",
      format: 'statistics-columns',
      default: 0,
      env: 'DEFAULT_STATISTICS_COLUMNS',
      arg: 'default-statistics-columns',
    },
    control_mode: {
      doc: "Triton's model control mode: 'none' loads the repository at start, 'poll' also rescans it, 'explicit' loads only what RepositoryModelLoad (or --load-model) names.",
      format: MODEL_CONTROL_MODES as unknown as string[],
      default: 'none',
      env: 'MODEL_CONTROL_MODE',
      arg: 'model-control-mode',
    },
    poll_seconds: {
      doc: "Seconds between repository rescans in 'poll' mode.",
      format: 'positive-duration-seconds',
      default: 15,
      env: 'REPOSITORY_POLL_SECONDS',
      arg: 'repository-poll-seconds',
    },
    load: {
      doc: "Models to load at start in 'explicit' mode ('*' for all); repeat the flag or give a comma list.",
      format: 'name-list',
      default: [] as string[],
      env: 'LOAD_MODELS',
      arg: 'load-model',
    },
  },
};

export function buildSchema(sources: { env: NodeJS.ProcessEnv; args: string[] }) {
  return convict(SCHEMA, sources);
}

export type ConfigSchema = ReturnType<typeof buildSchema>;
