import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, loadConfig, type ServerConfig } from '../src/config/load';
import { makeTempDir, removeDir } from './support/e2e-helpers';

/** One configuration key, how each source spells it, and a distinct value from each source. */
interface KeyCase {
  readonly key: string;
  readonly env: string;
  readonly flag: string;
  readonly get: (config: ServerConfig) => unknown;
  readonly file: { readonly value: unknown; readonly expected: unknown };
  readonly fromEnv: { readonly value: string; readonly expected: unknown };
  readonly fromFlag: { readonly value: string; readonly expected: unknown };
}

const KEYS: readonly KeyCase[] = [
  {
    key: 'model_repository', env: 'MODEL_REPOSITORY', flag: '--model-repository', get: (c) => c.modelRepository,
    file: { value: '/srv/file-models', expected: '/srv/file-models' },
    fromEnv: { value: '/srv/env-models', expected: '/srv/env-models' },
    fromFlag: { value: '/srv/flag-models', expected: '/srv/flag-models' },
  },
  {
    key: 'grpc.host', env: 'GRPC_HOST', flag: '--grpc-host', get: (c) => c.grpc.host,
    file: { value: '10.0.0.1', expected: '10.0.0.1' },
    fromEnv: { value: '10.0.0.2', expected: '10.0.0.2' },
    fromFlag: { value: '10.0.0.3', expected: '10.0.0.3' },
  },
  {
    key: 'grpc.port', env: 'GRPC_PORT', flag: '--grpc-port', get: (c) => c.grpc.port,
    file: { value: 5001, expected: 5001 },
    fromEnv: { value: '5002', expected: 5002 },
    fromFlag: { value: '5003', expected: 5003 },
  },
  {
    key: 'grpc.max_message_bytes', env: 'GRPC_MAX_MESSAGE_BYTES', flag: '--grpc-max-message-bytes', get: (c) => c.grpc.maxMessageBytes,
    file: { value: 1024, expected: 1024 },
    fromEnv: { value: '2048', expected: 2048 },
    fromFlag: { value: '4096', expected: 4096 },
  },
  {
    key: 'grpc.stream_max_in_flight', env: 'GRPC_STREAM_MAX_IN_FLIGHT', flag: '--grpc-stream-max-in-flight', get: (c) => c.grpc.streamMaxInFlight,
    file: { value: 16, expected: 16 },
    fromEnv: { value: '32', expected: 32 },
    fromFlag: { value: '64', expected: 64 },
  },
  {
    key: 'grpc.max_concurrent_streams', env: 'GRPC_MAX_CONCURRENT_STREAMS', flag: '--grpc-max-concurrent-streams', get: (c) => c.grpc.maxConcurrentStreams,
    file: { value: 10, expected: 10 },
    fromEnv: { value: '20', expected: 20 },
    fromFlag: { value: '30', expected: 30 },
  },
  {
    key: 'grpc.max_connections', env: 'GRPC_MAX_CONNECTIONS', flag: '--grpc-max-connections', get: (c) => c.grpc.maxConnections,
    file: { value: 11, expected: 11 },
    fromEnv: { value: '21', expected: 21 },
    fromFlag: { value: '31', expected: 31 },
  },
  {
    key: 'grpc.keepalive_time_ms', env: 'GRPC_KEEPALIVE_TIME_MS', flag: '--grpc-keepalive-time-ms', get: (c) => c.grpc.keepaliveTimeMs,
    file: { value: 60000, expected: 60000 },
    fromEnv: { value: '0', expected: 0 },
    fromFlag: { value: '70000', expected: 70000 },
  },
  {
    key: 'grpc.keepalive_timeout_ms', env: 'GRPC_KEEPALIVE_TIMEOUT_MS', flag: '--grpc-keepalive-timeout-ms', get: (c) => c.grpc.keepaliveTimeoutMs,
    file: { value: 1000, expected: 1000 },
    fromEnv: { value: '2000', expected: 2000 },
    fromFlag: { value: '3000', expected: 3000 },
  },
  {
    key: 'grpc.max_connection_idle_ms', env: 'GRPC_MAX_CONNECTION_IDLE_MS', flag: '--grpc-max-connection-idle-ms', get: (c) => c.grpc.maxConnectionIdleMs,
    file: { value: 5000, expected: 5000 },
    fromEnv: { value: '6000', expected: 6000 },
    fromFlag: { value: '7000', expected: 7000 },
  },
  {
    key: 'grpc.max_connection_age_ms', env: 'GRPC_MAX_CONNECTION_AGE_MS', flag: '--grpc-max-connection-age-ms', get: (c) => c.grpc.maxConnectionAgeMs,
    file: { value: 300000, expected: 300000 },
    fromEnv: { value: '400000', expected: 400000 },
    fromFlag: { value: '500000', expected: 500000 },
  },
  {
    key: 'grpc.max_connection_age_grace_ms', env: 'GRPC_MAX_CONNECTION_AGE_GRACE_MS', flag: '--grpc-max-connection-age-grace-ms', get: (c) => c.grpc.maxConnectionAgeGraceMs,
    file: { value: 10000, expected: 10000 },
    fromEnv: { value: '20000', expected: 20000 },
    fromFlag: { value: '30000', expected: 30000 },
  },
  {
    key: 'limits.max_request_elements', env: 'MAX_REQUEST_ELEMENTS', flag: '--max-request-elements', get: (c) => c.limits.maxElements,
    file: { value: 100, expected: 100 },
    fromEnv: { value: '200', expected: 200 },
    fromFlag: { value: '300', expected: 300 },
  },
  {
    key: 'limits.max_bytes_elements', env: 'MAX_BYTES_ELEMENTS', flag: '--max-bytes-elements', get: (c) => c.limits.maxBytesElements,
    file: { value: 10, expected: 10 },
    fromEnv: { value: '20', expected: 20 },
    fromFlag: { value: '30', expected: 30 },
  },
  {
    key: 'limits.max_bytes_element_bytes', env: 'MAX_BYTES_ELEMENT_BYTES', flag: '--max-bytes-element-bytes', get: (c) => c.limits.maxBytesElementBytes,
    file: { value: 1000, expected: 1000 },
    fromEnv: { value: '2000', expected: 2000 },
    fromFlag: { value: '3000', expected: 3000 },
  },
  {
    key: 'grpc.reflection', env: 'GRPC_REFLECTION', flag: '--grpc-reflection', get: (c) => c.grpc.reflection,
    file: { value: false, expected: false },
    fromEnv: { value: '0', expected: false },
    fromFlag: { value: 'false', expected: false },
  },
  {
    key: 'grpc.channelz', env: 'GRPC_CHANNELZ', flag: '--grpc-channelz', get: (c) => c.grpc.channelz,
    file: { value: true, expected: true },
    fromEnv: { value: '1', expected: true },
    fromFlag: { value: 'true', expected: true },
  },
  {
    key: 'admin.rpcs', env: 'ADMIN_RPCS', flag: '--admin-rpcs', get: (c) => c.admin.enabled,
    file: { value: 'off', expected: false },
    fromEnv: { value: 'on', expected: true },
    fromFlag: { value: 'off', expected: false },
  },
  {
    key: 'admin.port', env: 'ADMIN_GRPC_PORT', flag: '--admin-grpc-port', get: (c) => c.admin.port,
    file: { value: 9101, expected: 9101 },
    fromEnv: { value: '9102', expected: 9102 },
    fromFlag: { value: '0', expected: 0 },
  },
  {
    key: 'admin.host', env: 'ADMIN_GRPC_HOST', flag: '--admin-grpc-host', get: (c) => c.admin.host,
    file: { value: '10.0.2.1', expected: '10.0.2.1' },
    fromEnv: { value: '10.0.2.2', expected: '10.0.2.2' },
    fromFlag: { value: '10.0.2.3', expected: '10.0.2.3' },
  },
  {
    key: 'admin.token_file', env: 'ADMIN_TOKEN_FILE', flag: '--admin-token-file', get: (c) => c.admin.tokenFile,
    file: { value: '/run/file-token', expected: '/run/file-token' },
    fromEnv: { value: '/run/env-token', expected: '/run/env-token' },
    fromFlag: { value: '/run/flag-token', expected: '/run/flag-token' },
  },
  {
    key: 'metrics.port', env: 'METRICS_PORT', flag: '--metrics-port', get: (c) => c.metrics.port,
    file: { value: 9001, expected: 9001 },
    fromEnv: { value: '0', expected: 0 },
    fromFlag: { value: '9003', expected: 9003 },
  },
  {
    key: 'metrics.host', env: 'METRICS_HOST', flag: '--metrics-host', get: (c) => c.metrics.host,
    file: { value: '10.0.1.1', expected: '10.0.1.1' },
    fromEnv: { value: '10.0.1.2', expected: '10.0.1.2' },
    fromFlag: { value: '10.0.1.3', expected: '10.0.1.3' },
  },
  {
    key: 'shutdown.delay_seconds', env: 'SHUTDOWN_DELAY_SECONDS', flag: '--shutdown-delay-seconds', get: (c) => c.shutdown.delaySeconds,
    file: { value: 5, expected: 5 },
    fromEnv: { value: '6', expected: 6 },
    fromFlag: { value: '7', expected: 7 },
  },
  {
    key: 'shutdown.grace_seconds', env: 'SHUTDOWN_GRACE_SECONDS', flag: '--shutdown-grace-seconds', get: (c) => c.shutdown.graceSeconds,
    file: { value: 40, expected: 40 },
    fromEnv: { value: '50', expected: 50 },
    fromFlag: { value: '60', expected: 60 },
  },
  {
    key: 'models.control_mode', env: 'MODEL_CONTROL_MODE', flag: '--model-control-mode', get: (c) => c.modelControl.mode,
    file: { value: 'poll', expected: 'poll' },
    fromEnv: { value: 'explicit', expected: 'explicit' },
    fromFlag: { value: 'none', expected: 'none' },
  },
  {
    key: 'models.poll_seconds', env: 'REPOSITORY_POLL_SECONDS', flag: '--repository-poll-seconds', get: (c) => c.modelControl.pollSeconds,
    file: { value: 2, expected: 2 },
    fromEnv: { value: '3', expected: 3 },
    fromFlag: { value: '4', expected: 4 },
  },
  {
    key: 'models.default_statistics_columns', env: 'DEFAULT_STATISTICS_COLUMNS', flag: '--default-statistics-columns', get: (c) => c.defaultStatisticsColumns,
    file: { value: 16, expected: 16 },
    fromEnv: { value: '0', expected: 0 },
    fromFlag: { value: '8', expected: 8 },
  },
  {
    key: 'models.load', env: 'LOAD_MODELS', flag: '--load-model', get: (c) => c.modelControl.load,
    file: { value: ['a'], expected: ['a'] },
    fromEnv: { value: 'b,c', expected: ['b', 'c'] },
    fromFlag: { value: 'd', expected: ['d'] },
  },
  {
    key: 'log.level', env: 'LOG_LEVEL', flag: '--log-level', get: (c) => c.logLevel,
    file: { value: 'warn', expected: 'warn' },
    fromEnv: { value: 'debug', expected: 'debug' },
    fromFlag: { value: 'error', expected: 'error' },
  },
  {
    key: 'runtime.execution_providers', env: 'EXECUTION_PROVIDERS', flag: '--execution-providers', get: (c) => c.runtime.executionProviders,
    file: { value: ['cpu'], expected: ['cpu'] },
    fromEnv: { value: 'cpu,cuda', expected: ['cpu', 'cuda'] },
    fromFlag: { value: 'cuda', expected: ['cuda'] },
  },
  {
    key: 'runtime.intra_op_threads', env: 'ORT_INTRA_OP_THREADS', flag: '--ort-intra-op-threads', get: (c) => c.runtime.intraOpThreads,
    file: { value: 2, expected: 2 },
    fromEnv: { value: '3', expected: 3 },
    fromFlag: { value: '4', expected: 4 },
  },
  {
    key: 'runtime.graph_optimization_level', env: 'ORT_GRAPH_OPTIMIZATION_LEVEL', flag: '--ort-graph-optimization-level', get: (c) => c.runtime.graphOptimizationLevel,
    file: { value: 'basic', expected: 'basic' },
    fromEnv: { value: 'extended', expected: 'extended' },
    fromFlag: { value: 'disabled', expected: 'disabled' },
  },
  {
    key: 'runtime.require_gpu', env: 'REQUIRE_GPU', flag: '--require-gpu', get: (c) => c.runtime.requireGpu,
    file: { value: true, expected: true },
    fromEnv: { value: '0', expected: false },
    fromFlag: { value: 'true', expected: true },
  },
  {
    key: 'runtime.probe_node_placement', env: 'PROBE_NODE_PLACEMENT', flag: '--probe-node-placement', get: (c) => c.runtime.probeNodePlacement,
    file: { value: true, expected: true },
    fromEnv: { value: 'false', expected: false },
    fromFlag: { value: '1', expected: true },
  },
];

/** {"a": {"b": value}} for the dotted key "a.b". */
function nested(key: string, value: unknown): Record<string, unknown> {
  const parts = key.split('.');
  let object: Record<string, unknown> = { [parts[parts.length - 1]]: value };
  for (let i = parts.length - 2; i >= 0; i--) object = { [parts[i]]: object };
  return object;
}

function expectConfigError(load: () => unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    load();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected loadConfig to throw').to.be.instanceOf(ConfigError);
  for (const fragment of fragments) expect((caught as ConfigError).message).to.contain(fragment);
}

describe('loadConfig', () => {
  let dir: string;
  let fileCount = 0;

  before(() => {
    dir = makeTempDir('config-test');
  });
  after(() => removeDir(dir));

  /** Writes `content` (an object as JSON, or a string as is) to a fresh file and returns its path. */
  function writeConfigFile(content: object | string): string {
    const file = path.join(dir, `config-${++fileCount}.json`);
    fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  }

  describe('defaults, with no file, environment or flags', () => {
    let config: ServerConfig;
    before(() => {
      config = loadConfig([], {});
    });

    it('serves the ./models repository', () => {
      expect(config.modelRepository).to.equal('./models');
    });

    it('binds host 0.0.0.0', () => {
      expect(config.grpc.host).to.equal('0.0.0.0');
    });

    it('binds port 8001', () => {
      expect(config.grpc.port).to.equal(8001);
    });

    it('limits messages to 64 MiB', () => {
      expect(config.grpc.maxMessageBytes).to.equal(64 * 1024 * 1024);
    });

    it('holds 1,000 connections of at most 1,000 concurrent streams each', () => {
      expect(config.grpc.maxConnections).to.equal(1000);
      expect(config.grpc.maxConcurrentStreams).to.equal(1000);
    });

    it("pings a quiet connection after gRPC's 2 hours, waits 20 s for the answer, and never closes a connection for idleness or age", () => {
      expect(config.grpc.keepaliveTimeMs).to.equal(2 * 60 * 60 * 1000);
      expect(config.grpc.keepaliveTimeoutMs).to.equal(20_000);
      expect(config.grpc.maxConnectionIdleMs).to.equal(0);
      expect(config.grpc.maxConnectionAgeMs).to.equal(0);
      expect(config.grpc.maxConnectionAgeGraceMs).to.equal(0);
    });

    it('lets through any request element count and BYTES element that fits a 64 MiB message', () => {
      expect(config.limits.maxElements).to.equal(64 * 1024 * 1024);
      expect(config.limits.maxBytesElementBytes).to.equal(64 * 1024 * 1024);
    });

    it('prefers the cuda provider and falls back to cpu', () => {
      expect(config.runtime.executionProviders).to.deep.equal(['cuda', 'cpu']);
    });

    it('logs at level info', () => {
      expect(config.logLevel).to.equal('info');
    });

    it('gives each instance one intra-op thread (parallelism comes from instances) and applies every graph optimization', () => {
      expect(config.runtime.intraOpThreads).to.equal(1);
      expect(config.runtime.graphOptimizationLevel).to.equal('all');
    });

    it('lets a model fall back from CUDA with a warning, and probes node placement only for CUDA sessions', () => {
      expect(config.runtime.requireGpu).to.equal(false);
      expect(config.runtime.probeNodePlacement).to.equal(false);
    });

    it('keeps per-column input statistics off', () => {
      expect(config.defaultStatisticsColumns).to.equal(0);
    });
  });

  describe('each key from each source', () => {
    for (const k of KEYS) {
      it(`reads ${k.key} from the JSON file named by --config`, () => {
        const file = writeConfigFile(nested(k.key, k.file.value));
        expect(k.get(loadConfig(['--config', file], {}))).to.deep.equal(k.file.expected);
      });

      it(`reads ${k.key} from the environment variable ${k.env}`, () => {
        expect(k.get(loadConfig([], { [k.env]: k.fromEnv.value }))).to.deep.equal(k.fromEnv.expected);
      });

      it(`reads ${k.key} from the flag ${k.flag}`, () => {
        expect(k.get(loadConfig([k.flag, k.fromFlag.value], {}))).to.deep.equal(k.fromFlag.expected);
      });
    }

    it('reads the --config file path from CONFIG_FILE too', () => {
      const file = writeConfigFile({ grpc: { port: 5101 } });
      expect(loadConfig([], { CONFIG_FILE: file }).grpc.port).to.equal(5101);
    });

    it('accepts flags written as --flag=value', () => {
      expect(loadConfig(['--grpc-port=5102'], {}).grpc.port).to.equal(5102);
    });

    it('trims spaces around the providers of a comma list', () => {
      expect(loadConfig([], { EXECUTION_PROVIDERS: ' cpu , cuda ' }).runtime.executionProviders).to.deep.equal(['cpu', 'cuda']);
    });

    it('reads every key from one file at once', () => {
      let content: Record<string, unknown> = {};
      for (const k of KEYS) content = mergeDeep(content, nested(k.key, k.file.value));
      const config = loadConfig(['--config', writeConfigFile(content)], {});
      for (const k of KEYS) expect(k.get(config), k.key).to.deep.equal(k.file.expected);
    });
  });

  describe('precedence: file < environment < flag', () => {
    for (const k of KEYS) {
      it(`takes ${k.key} from ${k.env} over the file`, () => {
        const file = writeConfigFile(nested(k.key, k.file.value));
        expect(k.get(loadConfig(['--config', file], { [k.env]: k.fromEnv.value }))).to.deep.equal(k.fromEnv.expected);
      });

      it(`takes ${k.key} from ${k.flag} over both ${k.env} and the file`, () => {
        const file = writeConfigFile(nested(k.key, k.file.value));
        const config = loadConfig(['--config', file, k.flag, k.fromFlag.value], { [k.env]: k.fromEnv.value });
        expect(k.get(config)).to.deep.equal(k.fromFlag.expected);
      });
    }

    it('keeps file values for the keys that neither environment nor flags set', () => {
      const file = writeConfigFile({ grpc: { host: '10.1.1.1', port: 5201 }, log: { level: 'warn' } });
      const config = loadConfig(['--config', file, '--grpc-port', '5203'], { LOG_LEVEL: 'debug' });
      expect(config.grpc.host).to.equal('10.1.1.1');
      expect(config.grpc.port).to.equal(5203);
      expect(config.logLevel).to.equal('debug');
    });
  });

  describe('bad values throw a ConfigError naming the key', () => {
    it('rejects a non-numeric GRPC_PORT', () => {
      expectConfigError(() => loadConfig([], { GRPC_PORT: 'abc' }), 'grpc.port');
    });

    it('rejects a port above 65535 from the file', () => {
      const file = writeConfigFile({ grpc: { port: 70000 } });
      expectConfigError(() => loadConfig(['--config', file], {}), 'grpc.port');
    });

    it('rejects a negative --grpc-port', () => {
      expectConfigError(() => loadConfig(['--grpc-port', '-5'], {}), 'grpc.port');
    });

    it("rejects a mistyped GRPC_PORT such as '8O01' instead of binding port 8", () => {
      expectConfigError(() => loadConfig([], { GRPC_PORT: '8O01' }), 'grpc.port');
    });

    it("rejects a fractional ORT_INTRA_OP_THREADS such as '2.5' instead of truncating it to 2", () => {
      expectConfigError(() => loadConfig([], { ORT_INTRA_OP_THREADS: '2.5' }), 'runtime.intra_op_threads');
    });

    it('rejects an unknown execution provider and names it', () => {
      expectConfigError(() => loadConfig([], { EXECUTION_PROVIDERS: 'cuda,tpu' }), 'runtime.execution_providers', 'tpu');
    });

    it('rejects an empty list of execution providers', () => {
      expectConfigError(() => loadConfig([], { EXECUTION_PROVIDERS: ',' }), 'runtime.execution_providers');
    });

    it('rejects an unknown log level', () => {
      expectConfigError(() => loadConfig([], { LOG_LEVEL: 'loud' }), 'log.level', 'loud');
    });

    it('rejects a zero message size', () => {
      expectConfigError(() => loadConfig([], { GRPC_MAX_MESSAGE_BYTES: '0' }), 'grpc.max_message_bytes');
    });

    it('rejects a zero connection limit, stream limit or request element limit', () => {
      expectConfigError(() => loadConfig([], { GRPC_MAX_CONNECTIONS: '0' }), 'grpc.max_connections');
      expectConfigError(() => loadConfig([], { GRPC_MAX_CONCURRENT_STREAMS: '0' }), 'grpc.max_concurrent_streams');
      expectConfigError(() => loadConfig([], { MAX_REQUEST_ELEMENTS: '0' }), 'limits.max_request_elements');
    });

    it('rejects a negative connection age', () => {
      expectConfigError(() => loadConfig([], { GRPC_MAX_CONNECTION_AGE_MS: '-1' }), 'grpc.max_connection_age_ms');
    });

    it("rejects a duration past Node's 32-bit timers, which would fire after 1 ms, and takes the largest that fits", () => {
      const past: Record<string, [string, string]> = {
        GRPC_KEEPALIVE_TIME_MS: ['grpc.keepalive_time_ms', '2147483648'],
        GRPC_KEEPALIVE_TIMEOUT_MS: ['grpc.keepalive_timeout_ms', '2147483648'],
        GRPC_MAX_CONNECTION_IDLE_MS: ['grpc.max_connection_idle_ms', '2147483648'],
        GRPC_MAX_CONNECTION_AGE_MS: ['grpc.max_connection_age_ms', '3000000000'],
        GRPC_MAX_CONNECTION_AGE_GRACE_MS: ['grpc.max_connection_age_grace_ms', '2147483648'],
        GRPC_TLS_REFRESH_SECONDS: ['grpc.tls.refresh_seconds', '2147484'],
        SHUTDOWN_DELAY_SECONDS: ['shutdown.delay_seconds', '2147484'],
        SHUTDOWN_GRACE_SECONDS: ['shutdown.grace_seconds', '3000000'],
        REPOSITORY_POLL_SECONDS: ['models.poll_seconds', '10000000'],
      };
      for (const [env, [key, value]] of Object.entries(past)) {
        expectConfigError(() => loadConfig([], { [env]: value }), key);
        expect(() => loadConfig([], { [env]: value }), env).to.throw(/about 24.8 days/);
      }
      expect(loadConfig([], { GRPC_MAX_CONNECTION_AGE_MS: '2147483647', REPOSITORY_POLL_SECONDS: '2147483' }).modelControl.pollSeconds).to.equal(2147483);
    });

    it('rejects more default statistics columns than an input may follow, and takes the most it may', () => {
      expectConfigError(() => loadConfig([], { DEFAULT_STATISTICS_COLUMNS: '1025' }), 'models.default_statistics_columns');
      expect(() => loadConfig([], { DEFAULT_STATISTICS_COLUMNS: '1025' })).to.throw(/from 0 to 1024 \(each column is five Prometheus series/);
      expect(loadConfig([], { DEFAULT_STATISTICS_COLUMNS: '1024' }).defaultStatisticsColumns).to.equal(1024);
    });

    it('rejects a negative intra-op thread count', () => {
      expectConfigError(() => loadConfig([], { ORT_INTRA_OP_THREADS: '-1' }), 'runtime.intra_op_threads');
    });

    it('rejects an unknown graph optimization level', () => {
      expectConfigError(() => loadConfig([], { ORT_GRAPH_OPTIMIZATION_LEVEL: 'max' }), 'runtime.graph_optimization_level', 'max');
    });

    it('rejects an unknown top-level key in the file', () => {
      const file = writeConfigFile({ grpc_port: 5000 });
      expectConfigError(() => loadConfig(['--config', file], {}), 'grpc_port');
    });

    it('rejects an unknown nested key in the file', () => {
      const file = writeConfigFile({ grpc: { prot: 5000 } });
      expectConfigError(() => loadConfig(['--config', file], {}), 'grpc.prot');
    });

    it('rejects a bad value that comes from the file', () => {
      const file = writeConfigFile({ log: { level: 'chatty' } });
      expectConfigError(() => loadConfig(['--config', file], {}), 'log.level', 'chatty');
    });

    it('rejects a --config path that does not exist, naming the path', () => {
      const missing = path.join(dir, 'no-such-config.json');
      expectConfigError(() => loadConfig(['--config', missing], {}), missing);
    });

    it('rejects a --config file that is not valid JSON', () => {
      const file = writeConfigFile('{ "grpc": ');
      expectConfigError(() => loadConfig(['--config', file], {}));
    });
  });

  describe('TLS and admin settings, checked together', () => {
    const tlsEnv = { GRPC_TLS_CERT: '/tls/cert.pem', GRPC_TLS_KEY: '/tls/key.pem' };

    it('is plaintext with no TLS setting, and TLS with a certificate and its key', () => {
      expect(loadConfig([], {}).grpc.tls).to.equal(undefined);
      expect(loadConfig([], { ...tlsEnv, GRPC_TLS_REFRESH_SECONDS: '5' }).grpc.tls).to.deep.equal({
        certFile: '/tls/cert.pem', keyFile: '/tls/key.pem', caFile: undefined, clientAuth: 'none', refreshSeconds: 5,
      });
      expect(loadConfig(['--grpc-tls-ca', '/tls/ca.pem', '--grpc-tls-client-auth', 'require'], tlsEnv).grpc.tls).to.include({ caFile: '/tls/ca.pem', clientAuth: 'require' });
    });

    it('refuses half a TLS configuration rather than serving plaintext', () => {
      expectConfigError(() => loadConfig([], { GRPC_TLS_CERT: '/tls/cert.pem' }), 'GRPC_TLS_CERT, GRPC_TLS_KEY', 'set both or neither');
      expectConfigError(() => loadConfig([], { GRPC_TLS_KEY: '/tls/key.pem' }), 'set both or neither');
      expectConfigError(() => loadConfig([], { GRPC_TLS_CA: '/tls/ca.pem', GRPC_TLS_CLIENT_AUTH: 'require' }), 'need TLS');
      expectConfigError(() => loadConfig([], { ...tlsEnv, GRPC_TLS_CLIENT_AUTH: 'require' }), "'require' needs grpc.tls.ca");
      expectConfigError(() => loadConfig([], { ...tlsEnv, GRPC_TLS_CA: '/tls/ca.pem' }), 'only used to verify client certificates');
      expectConfigError(() => loadConfig([], { ...tlsEnv, GRPC_TLS_CLIENT_AUTH: 'request' }), 'grpc.tls.client_auth');
    });

    it('serves the admin RPCs on the inference port, with no token, by default; an empty ADMIN_GRPC_PORT means the same', () => {
      expect(loadConfig([], { GRPC_HOST: '10.9.9.9' }).admin).to.deep.equal({ enabled: true, port: undefined, host: '10.9.9.9', tokenFile: undefined });
      expect(loadConfig([], { ADMIN_GRPC_PORT: '' }).admin.port).to.equal(undefined);
      expectConfigError(() => loadConfig([], { ADMIN_GRPC_PORT: '80O1' }), 'admin.port');
      expectConfigError(() => loadConfig([], { ADMIN_RPCS: 'maybe' }), 'admin.rpcs');
    });
  });

  it('takes --load-model repeated, and refuses a reflection switch that is not true, false, 1 or 0', () => {
    expect(loadConfig(['--load-model', 'a', '--load-model', 'b'], {}).modelControl.load).to.deep.equal(['a', 'b']);
    expectConfigError(() => loadConfig([], { GRPC_REFLECTION: 'no' }), 'grpc.reflection', 'must be true or false');
  });

  it('refuses an unknown flag or a stray argument instead of starting on the defaults', () => {
    // convict alone ignored both: this started on port 8001.
    expectConfigError(() => loadConfig(['--grpc-portt', '5'], {}), "unknown flag '--grpc-portt'");
    expectConfigError(() => loadConfig(['--grpc-portt=5'], {}), "unknown flag '--grpc-portt'");
    expectConfigError(() => loadConfig(['-p', '5'], {}), "unknown flag '-p'");
    expectConfigError(() => loadConfig(['--grpc-port', '5', 'models'], {}), "unexpected argument 'models'");
    expectConfigError(() => loadConfig(['./models'], {}), "unexpected argument './models'", '--flag value, environment variables or a --config file');
  });

  it('reads every form of a known flag: --name value, --name=value, a bare --name, --no-name', () => {
    const c = loadConfig(['--grpc-port=5', '--grpc-reflection', '--require-gpu', 'false', '--no-grpc-channelz', '--shutdown-grace-seconds', '7'], {});
    expect([c.grpc.port, c.grpc.reflection, c.runtime.requireGpu, c.grpc.channelz, c.shutdown.graceSeconds]).to.deep.equal([5, true, false, false, 7]);
  });
});

function mergeDeep(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const existing = out[key];
    out[key] =
      typeof existing === 'object' && existing !== null && !Array.isArray(existing) && typeof value === 'object' && value !== null && !Array.isArray(value)
        ? mergeDeep(existing as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}
