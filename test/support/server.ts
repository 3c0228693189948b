/** Starts the real server in-process on 127.0.0.1:0 and gives tests a real gRPC client. */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as path from 'node:path';
import { startServer, type RunningServer } from '../../src/app';
import { loadConfig, type ServerConfig } from '../../src/config/load';
import { createLogger, type Logger } from '../../src/observability/logger';
import { LOADER_OPTIONS } from '../../src/transport/protos';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const MODELS_DIR = path.join(REPO_ROOT, 'models');

/** A Triton-style client: each RPC promisified, requests and responses as plain objects. */
export interface InferenceClient {
  readonly raw: grpc.Client;
  unary<Res = Record<string, unknown>>(rpc: string, request: object, options?: grpc.CallOptions): Promise<Res>;
  stream(options?: grpc.CallOptions): grpc.ClientDuplexStream<object, Record<string, unknown>>;
  close(): void;
}

export interface TestServer {
  readonly server: RunningServer;
  readonly client: InferenceClient;
  readonly port: number;
  stop(): Promise<void>;
}

/** Server config for tests: CPU only, silent logs, ephemeral port; env-style overrides welcome. */
export function testConfig(env: NodeJS.ProcessEnv = {}): ServerConfig {
  return loadConfig([], { MODEL_REPOSITORY: MODELS_DIR, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', METRICS_PORT: '0', EXECUTION_PROVIDERS: 'cpu', LOG_LEVEL: 'silent', ...env });
}

/** `log` replaces the silent logger, for tests that read what the server logs. */
export async function startTestServer(env: NodeJS.ProcessEnv = {}, log?: Logger): Promise<TestServer> {
  const config = testConfig(env);
  const server = await startServer(config, log ?? createLogger(config.logLevel));
  const client = createClient(server.port);
  return {
    server,
    client,
    port: server.port,
    stop: async () => {
      client.close();
      await server.stop();
    },
  };
}

type ClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: object) => grpc.Client;

/** How a client reaches the server: plaintext unless `credentials` say TLS; `headers` go with every call (e.g. authorization). */
export interface ClientConnection {
  readonly credentials?: grpc.ChannelCredentials;
  readonly headers?: Readonly<Record<string, string>>;
  /** Further channel options, e.g. grpc.ssl_target_name_override. */
  readonly options?: grpc.ChannelOptions;
}

export function callMetadata(connection: ClientConnection): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(connection.headers ?? {})) metadata.set(key, value);
  return metadata;
}

export function createClient(port: number, connection: ClientConnection = {}): InferenceClient {
  const definition = protoLoader.loadSync('grpc_service.proto', LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: ClientConstructor } };
  const raw = new pkg.inference.GRPCInferenceService(`127.0.0.1:${port}`, connection.credentials ?? grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    ...connection.options,
  });
  // Methods are attached dynamically by grpc-js from the proto; index them by name.
  const methods = raw as unknown as Record<string, (...args: unknown[]) => unknown>;
  return {
    raw,
    unary: <Res>(rpc: string, request: object, options: grpc.CallOptions = {}) =>
      new Promise<Res>((resolve, reject) => {
        methods[rpc].call(raw, request, callMetadata(connection), options, (err: grpc.ServiceError | null, response: Res) => (err ? reject(err) : resolve(response)));
      }),
    stream: (options: grpc.CallOptions = {}) =>
      methods.ModelStreamInfer.call(raw, callMetadata(connection), options) as grpc.ClientDuplexStream<object, Record<string, unknown>>,
    close: () => raw.close(),
  };
}

/** Raw little-endian FP32 bytes, as a client would put them in raw_input_contents. */
export function fp32Bytes(values: ArrayLike<number>): Buffer {
  const array = Float32Array.from(values);
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

export function readFp32(raw: Uint8Array): Float32Array {
  const copy = Uint8Array.from(raw);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}
