/**
 * Loads one version of a model: its instances, its configuration completed from the file, its
 * warm-up. The version it returns is READY but takes no traffic until the repository lists it.
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ServerConfig } from '../config/load';
import type { Logger } from '../observability/logger';
import { InstancePool } from '../runtime/instance-pool';
import { completeConfig } from './auto-config';
import { MODEL_FILE } from './discover';
import type { PartialModelConfig, QueuePolicy } from './model-config';
import { ModelVersion } from './model-version';
import { warmUp } from './warmup';

export interface VersionToLoad {
  readonly dir: string;
  readonly version: number;
  readonly partial: PartialModelConfig;
  /** False for auto-config: dynamic batching is then turned on for a model that batches. */
  readonly hasConfigFile: boolean;
}

export class VersionLoader {
  private readonly defaultQueuePolicy: QueuePolicy;

  constructor(
    private readonly config: ServerConfig,
    private readonly log: Logger,
    /** Told after every state change of a version it made. */
    private readonly onChange: () => void,
  ) {
    this.defaultQueuePolicy = { maxQueueSize: config.defaultMaxQueueSize, defaultTimeoutMicros: 0, allowTimeoutOverride: false, timeoutAction: 'REJECT' };
  }

  async load({ dir, version, partial, hasConfigFile }: VersionToLoad): Promise<ModelVersion> {
    const started = performance.now();
    const { runtime } = this.config;
    const name = partial.name;
    const pool = await InstancePool.start(partial.instanceCount, { model: name, version, log: this.log }, {
      modelPath: path.join(dir, String(version), MODEL_FILE),
      providers: runtime.executionProviders,
      intraOpThreads: runtime.intraOpThreads,
      graphOptimizationLevel: runtime.graphOptimizationLevel,
    }, partial.eventLoop && { limitNs: partial.eventLoop.limitUs * 1000 });
    try {
      const { session } = pool;
      for (const failure of session.failures) {
        this.log.warn({ model: name, version, provider: failure.provider, reason: failure.reason }, `execution provider ${failure.provider} unavailable, falling back`);
      }
      const config = completeConfig(partial, hasConfigFile, session, {
        maxBatchSize: this.config.defaultMaxBatchSize,
        maxQueueSize: this.config.defaultMaxQueueSize,
        statisticsColumns: this.config.defaultStatisticsColumns,
      });
      await pool.warmUp((instances) => warmUp(config, dir, instances, this.log, version));
      const loaded = new ModelVersion(name, version, config, pool, this.defaultQueuePolicy, this.onChange);
      loaded.state = 'READY';
      this.log.info(
        { model: name, version, provider: session.provider, instances: pool.size, on_event_loop: pool.instances[0].thread === undefined, max_batch_size: config.maxBatchSize, dynamic_batching: config.dynamicBatching !== undefined, warmup_samples: config.warmup.map((w) => w.name), ms: Math.round(performance.now() - started) },
        'model version ready',
      );
      return loaded;
    } catch (err) {
      await pool.close();
      throw err;
    }
  }
}
