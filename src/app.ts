/** Wires config, repository, routing, data plane and transport into a running server. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ServerConfig } from './config/load';
import { InferenceService } from './dataplane/inference-service';
import type { Logger } from './observability/logger';
import { startMetricsServer, type MetricsServer } from './observability/metrics/metrics-server';
import { ModelRepository } from './repository/model-repository';
import { Router } from './routing/router';
import { PROTO_DIR } from './transport/protos';
import { INFERENCE_SERVICE, startGrpcServer } from './transport/server';

/** ServerMetadata reports the package's own name and version. */
const PACKAGE = JSON.parse(fs.readFileSync(path.join(PROTO_DIR, '..', 'package.json'), 'utf8')) as { name: string; version: string };
/** Triton protocol extensions this server implements. */
const EXTENSIONS = ['model_configuration', 'statistics', 'parameters'];

export interface RunningServer {
  readonly port: number;
  readonly service: InferenceService;
  readonly repository: ModelRepository;
  stop(): Promise<void>;
}

/**
 * Listens first (so liveness answers while models load), then loads and warms every
 * model; readiness turns true only after that.
 */
export async function startServer(config: ServerConfig, log: Logger): Promise<RunningServer> {
  const started = performance.now();
  const repository = new ModelRepository(config, log);
  const service = new InferenceService(repository, new Router(repository), { name: PACKAGE.name, version: PACKAGE.version, extensions: EXTENSIONS });
  const grpc = await startGrpcServer(service, config.grpc, log);
  let metrics: MetricsServer | undefined;
  try {
    metrics = await startMetricsServer(config, service, repository, log);
    await repository.loadAll();
  } catch (err) {
    await metrics?.close();
    await grpc.shutdown();
    throw err;
  }
  service.markStarted();
  const ready = service.isReady();
  grpc.health.setStatus('', ready ? 'SERVING' : 'NOT_SERVING');
  grpc.health.setStatus(INFERENCE_SERVICE, ready ? 'SERVING' : 'NOT_SERVING');
  log.info(
    {
      grpc: `${config.grpc.host}:${grpc.port}`,
      metrics: metrics ? `${config.metrics.host}:${metrics.port}` : 'off',
      repository: config.modelRepository,
      execution_providers: config.runtime.executionProviders,
      ready,
      ms: Math.round(performance.now() - started),
      models: [...repository.entries()].map((e) => ({
        name: e.name,
        versions: [...e.versions.values()].map((v) => ({ version: v.version, provider: v.provider, state: v.state })),
        ...(e.failures.length > 0 && { failures: e.failures }),
      })),
    },
    'server started',
  );
  return {
    port: grpc.port,
    service,
    repository,
    stop: async () => {
      await grpc.shutdown();
      await metrics?.close();
      await repository.unloadAll();
    },
  };
}
