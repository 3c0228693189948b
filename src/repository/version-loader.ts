/**
 * Loads one version of a model: its instances, its configuration completed from the file, its
 * warm-up. The version it returns is READY but takes no traffic until the repository lists it.
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ServerConfig } from '../config/load';
import type { Logger } from '../observability/logger';
import { InstancePool } from '../runtime/instance-pool';
import { checkCudaOptions } from '../runtime/cuda-provider-options';
import { unavailable } from '../errors';
import { completeConfig } from './auto-config';
import { EnsembleVersion } from './ensemble-version';
import { withLabels } from './labels';
import { MODEL_FILE } from './discover';
import type { PartialModelConfig, QueuePolicy } from './model-config';
import { instanceDevices } from './instance-group-config';
import { ModelVersion, type ServedVersion } from './model-version';
import { providerPlan } from './provider-plan';
import { warmUp } from './warmup';

export interface VersionToLoad {
  readonly dir: string;
  readonly version: number;
  readonly partial: PartialModelConfig;
  /** False for auto-config: dynamic batching is then turned on for a model that batches. */
  readonly hasConfigFile: boolean;
  /** Aborted: the load gives up at its next step, with the signal's reason. */
  readonly cancel?: AbortSignal;
}

export class VersionLoader {
  private readonly defaultQueuePolicy: QueuePolicy;
  /** Aborted when the server stops: a load in progress gives up before its next warm-up run. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly config: ServerConfig,
    private readonly log: Logger,
    /** Told after every state change of a version it made. */
    private readonly onChange: () => void,
  ) {
    this.defaultQueuePolicy = { maxQueueSize: config.defaultMaxQueueSize, defaultTimeoutMicros: 0, allowTimeoutOverride: false, timeoutAction: 'REJECT' };
  }

  /** Loads in progress fail with UNAVAILABLE at their next step; later ones at once. */
  stop(): void {
    this.stopping.abort(unavailable('the server is stopping: the load was abandoned'));
  }

  async load({ dir, version, partial, hasConfigFile, cancel }: VersionToLoad): Promise<ServedVersion> {
    const started = performance.now();
    const signal = cancel ? AbortSignal.any([this.stopping.signal, cancel]) : this.stopping.signal;
    signal.throwIfAborted();
    if (partial.platform === 'ensemble') return this.loadEnsemble(dir, version, partial, started);
    const { runtime } = this.config;
    const name = partial.name;
    // Refused before any session is made: options that cannot take effect must not look as if they did.
    checkCudaOptions(partial.cudaOptions);
    const plan = providerPlan(partial.instanceGroup.kind, runtime.executionProviders, runtime.requireGpu);
    const pool = await InstancePool.start(instanceDevices(partial.instanceGroup), { model: name, version, log: this.log }, {
      modelPath: path.join(dir, String(version), MODEL_FILE),
      providers: plan.providers,
      ...(plan.requiredBy !== undefined && { requiredBy: plan.requiredBy }),
      intraOpThreads: runtime.intraOpThreads,
      graphOptimizationLevel: runtime.graphOptimizationLevel,
      // The model's own onnxruntime-backend settings win over the server's defaults.
      ...partial.session,
      probeNodePlacement: runtime.probeNodePlacement,
    }, partial.eventLoop && { limitNs: partial.eventLoop.limitUs * 1000, loneOnly: partial.eventLoop.loneOnly });
    try {
      const { session } = pool;
      for (const failure of session.failures) {
        this.log.warn({ model: name, version, provider: failure.provider, reason: failure.reason }, `execution provider ${failure.provider} unavailable, falling back`);
      }
      const completed = completeConfig(partial, hasConfigFile, session, {
        maxBatchSize: this.config.defaultMaxBatchSize,
        maxQueueSize: this.config.defaultMaxQueueSize,
        statisticsColumns: this.config.defaultStatisticsColumns,
      });
      const config = await withLabels(completed, dir);
      await pool.warmUp((instances) => warmUp(config, dir, instances, this.log, version, this.config.limits, signal));
      signal.throwIfAborted();
      const loaded = new ModelVersion(name, version, config, pool, this.defaultQueuePolicy, this.onChange);
      loaded.state = 'READY';
      const { placement } = session;
      this.log.info(
        {
          model: name,
          version,
          provider: session.provider,
          ...(session.provider === 'cuda' && { device_ids: loaded.deviceIds }),
          ...(placement && { nodes_by_provider: placement.nodesByProvider }),
          ...(placement?.error !== undefined && { placement_error: placement.error }),
          instances: pool.size,
          on_event_loop: pool.instances[0].thread === undefined,
          ...(partial.eventLoop?.loneOnly && { lone_requests_on_event_loop: true }),
          max_batch_size: config.maxBatchSize,
          dynamic_batching: config.dynamicBatching !== undefined,
          warmup_samples: config.warmup.map((w) => w.name),
          ms: Math.round(performance.now() - started),
        },
        'model version ready',
      );
      return loaded;
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  /** An ensemble's configuration was written out whole and its graph checked; only label files are left to read. */
  private async loadEnsemble(dir: string, version: number, partial: PartialModelConfig, started: number): Promise<EnsembleVersion> {
    const config = await withLabels({ ...partial, inputs: partial.inputs!, outputs: partial.outputs!, maxBatchSize: partial.maxBatchSize! }, dir);
    const loaded = new EnsembleVersion(partial.name, version, config, this.onChange);
    loaded.state = 'READY';
    const steps = loaded.steps.map((s) => (s.modelVersion === -1 ? s.modelName : `${s.modelName}:${s.modelVersion}`));
    this.log.info({ model: partial.name, version, platform: 'ensemble', steps, max_batch_size: config.maxBatchSize, ms: Math.round(performance.now() - started) }, 'model version ready');
    return loaded;
  }
}
