/** A client of the RolloutAdmin service, and its status message as the tests read it. */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS } from '../../src/transport/protos';
import { callMetadata, type ClientConnection } from './server';

export interface VersionTrafficMessage {
  version: number;
  requests: string;
  failures: string;
  p50_ms: number;
  p99_ms: number;
  total_requests: string;
  total_failures: string;
}

export interface RolloutStatusMessage {
  model: string;
  weights: Record<string, number>;
  previous_weights: Record<string, number>;
  weights_source: string;
  sticky_parameter: string;
  guard?: { canary: number; max_error_rate: number; max_p99_ratio: number; min_requests: number; window_seconds: number };
  guard_state: { rolled_back: boolean; rolled_back_at?: string; cause?: string; detail?: string };
  window_seconds: number;
  versions?: VersionTrafficMessage[];
}

export interface RolloutAdminClient {
  call(rpc: 'GetRollout' | 'SetWeights' | 'Promote' | 'Rollback', request: object): Promise<RolloutStatusMessage>;
  close(): void;
}

type ClientConstructor = new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;

export function createRolloutAdminClient(port: number, connection: ClientConnection = {}): RolloutAdminClient {
  const definition = protoLoader.loadSync('rollout_admin.proto', LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { onnx_grpc_server: { admin: { v1: { RolloutAdmin: ClientConstructor } } } };
  const raw = new pkg.onnx_grpc_server.admin.v1.RolloutAdmin(`127.0.0.1:${port}`, connection.credentials ?? grpc.credentials.createInsecure());
  // Methods are attached dynamically by grpc-js from the proto; index them by name.
  const methods = raw as unknown as Record<string, (...args: unknown[]) => unknown>;
  return {
    call: (rpc, request) =>
      new Promise((resolve, reject) => {
        methods[rpc].call(raw, request, callMetadata(connection), (err: grpc.ServiceError | null, response: RolloutStatusMessage) => (err ? reject(err) : resolve(response)));
      }),
    close: () => raw.close(),
  };
}

/** A version's requests within the window, 0 when it has answered none. */
export function windowRequests(state: RolloutStatusMessage, version: number): number {
  return Number(state.versions?.find((v) => v.version === version)?.requests ?? 0);
}
