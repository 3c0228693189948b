/** Wires config, repository, routing, data plane and transport into a running server. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ServerConfig } from './config/load';
import { Admission } from './dataplane/admission';
import { unavailable } from './errors';
import { InferenceService } from './dataplane/inference-service';
import { Readiness } from './health/readiness';
import { drain, type DrainOutcome } from './lifecycle/drain';
import { RepositoryService } from './dataplane/repository-service';
import { RolloutAdmin } from './dataplane/rollout-admin';
import type { Logger } from './observability/logger';
import { startMetricsServer, type MetricsServer } from './observability/metrics/metrics-server';
import { ModelRepository } from './repository/model-repository';
import { RepositoryPoller } from './repository/repository-poller';
import { ShadowMetrics } from './observability/metrics/shadow-metrics';
import { ShadowTraffic } from './rollout/shadow-traffic';
import { Router } from './routing/router';
import { PROTO_DIR } from './platform/proto-dir';
import { startGrpcServer } from './transport/server';

/** ServerMetadata reports the package's own name and version. */
const PACKAGE = JSON.parse(fs.readFileSync(path.join(PROTO_DIR, '..', 'package.json'), 'utf8')) as { name: string; version: string };
/** Triton protocol extensions this server implements. */
const EXTENSIONS = ['classification', 'model_configuration', 'model_repository', 'statistics', 'parameters'];

export interface RunningServer {
  readonly port: number;
  /** The admin listener's port, when ADMIN_GRPC_PORT gives the admin RPCs their own. */
  readonly adminPort: number | undefined;
  readonly service: InferenceService;
  readonly repository: ModelRepository;
  readonly readiness: Readiness;
  /** The shutdown sequence with the configured delay and grace (see lifecycle/drain.ts). */
  drain(): Promise<DrainOutcome>;
  /** The same sequence with no delay, for tests and embedding. */
  stop(): Promise<void>;
}

/**
 * Listens first (so liveness answers while models load), then loads and warms every
 * model; readiness turns true only after that.
 */
export async function startServer(config: ServerConfig, log: Logger): Promise<RunningServer> {
  const started = performance.now();
  const repository = new ModelRepository(config, log);
  const readiness = new Readiness(repository);
  const admission = new Admission();
  const info = { name: PACKAGE.name, version: PACKAGE.version, extensions: EXTENSIONS };
  const shadowMetrics = new ShadowMetrics();
  const shadow = new ShadowTraffic(repository, admission, shadowMetrics);
  const service = new InferenceService(repository, new Router(repository), readiness, admission, info, new RepositoryService(repository), shadow, config.limits);
  const grpc = await startGrpcServer(service, new RolloutAdmin(repository), readiness, config.grpc, config.admin, log);
  let metrics: MetricsServer | undefined;
  try {
    metrics = await startMetricsServer(config, service, repository, shadowMetrics, log);
    await repository.loadAll();
  } catch (err) {
    await metrics?.close();
    await grpc.close();
    throw err;
  }
  const { modelControl } = config;
  const poller = modelControl.mode === 'poll' ? new RepositoryPoller(() => repository.poll(), modelControl.pollSeconds * 1000, log) : undefined;
  poller?.start();
  readiness.markStarted();
  const ready = readiness.serverReady;
  log.info(
    {
      grpc: `${config.grpc.host}:${grpc.port}`,
      tls: config.grpc.tls ? { client_auth: config.grpc.tls.clientAuth } : 'off',
      admin: adminSummary(config, grpc.adminPort),
      metrics: metrics ? `${config.metrics.host}:${metrics.port}` : 'off',
      repository: config.modelRepository,
      execution_providers: config.runtime.executionProviders,
      ready,
      ms: Math.round(performance.now() - started),
      models: [...repository.entries()].map((e) => ({
        name: e.name,
        versions: [...e.versions.values()].map((v) => ({ version: v.version, provider: v.kind === 'onnx' ? v.provider : 'ensemble', state: v.state })),
        ...(e.failures.length > 0 && { failures: e.failures }),
      })),
    },
    'server started',
  );
  if (config.admin.enabled && config.admin.tokenFile !== undefined && !config.grpc.tls) {
    log.warn('the admin bearer token crosses the network in clear text: set GRPC_TLS_CERT and GRPC_TLS_KEY, or keep the admin port on a trusted network');
  }
  const targets = {
    readiness,
    admission,
    stopModelControl: () => repository.stopModelControl(),
    cutQueued: () => repository.rejectQueued(unavailable('the server shut down before this request ran (shutdown grace period over); retry on another replica')),
    closeTransport: async () => {
      await grpc.close();
      await metrics?.close();
    },
    unloadModels: async () => {
      await poller?.stop();
      await repository.unloadAll();
    },
  };
  const graceMs = config.shutdown.graceSeconds * 1000;
  let drained: Promise<DrainOutcome> | undefined;
  const drainOnce = (delayMs: number): Promise<DrainOutcome> => {
    // No rescans while draining; unloadModels waits for one in progress.
    void poller?.stop();
    return (drained ??= drain(targets, { delayMs, graceMs }, log));
  };
  return {
    port: grpc.port,
    adminPort: grpc.adminPort,
    service,
    repository,
    readiness,
    drain: () => drainOnce(config.shutdown.delaySeconds * 1000),
    stop: async () => {
      await drainOnce(0);
    },
  };
}

/** Where the admin RPCs are served, and whether they need a token, for the start log line. */
function adminSummary(config: ServerConfig, adminPort: number | undefined): object | string {
  const { admin } = config;
  if (!admin.enabled) return 'off';
  return { address: adminPort === undefined ? 'the gRPC port' : `${admin.host}:${adminPort}`, token_required: admin.tokenFile !== undefined };
}
