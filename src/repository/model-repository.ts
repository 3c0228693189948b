/**
 * Discovers the models in the repository folder, loads the versions each one's policy
 * selects, warms them up, and holds them for routing.
 */
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ServerConfig } from '../config/load';
import type { InferenceError } from '../errors';
import type { Logger } from '../observability/logger';
import { InstancePool } from '../runtime/instance-pool';
import { completeConfig } from './auto-config';
import { discoverModels, MODEL_FILE, selectVersions, type DiscoveredModel } from './discover';
import { parseModelConfig, type QueuePolicy } from './model-config';
import { ModelVersion } from './model-version';
import { warmUp } from './warmup';

export interface ModelEntry {
  readonly name: string;
  /** Loaded versions by number. */
  readonly versions: Map<number, ModelVersion>;
  /** Why a model or one of its versions failed to load, if it did. */
  readonly failures: string[];
  /** Versions that failed to load, with the reason, so a request pinned to one hears why. */
  readonly failedVersions: Map<number, string>;
}

/** Emits 'change' whenever a model or version appears, goes, or changes state. */
export class ModelRepository extends EventEmitter<{ change: [] }> {
  private readonly models = new Map<string, ModelEntry>();
  private readonly defaultQueuePolicy: QueuePolicy;

  constructor(private readonly config: ServerConfig, private readonly log: Logger) {
    super();
    this.defaultQueuePolicy = { maxQueueSize: config.defaultMaxQueueSize, defaultTimeoutMicros: 0, allowTimeoutOverride: false, timeoutAction: 'REJECT' };
  }

  /** Loads everything; a model that fails is logged and kept as failed, and the rest still serve. */
  async loadAll(): Promise<void> {
    const discovered = await discoverModels(path.resolve(this.config.modelRepository));
    await Promise.all(discovered.map((model) => this.loadModel(model)));
    this.emit('change');
  }

  get(name: string): ModelEntry | undefined {
    return this.models.get(name);
  }

  entries(): IterableIterator<ModelEntry> {
    return this.models.values();
  }

  /** True when every model loaded with at least one version and each loaded version is ready. */
  get allReady(): boolean {
    for (const entry of this.models.values()) {
      if (entry.failures.length > 0 || entry.versions.size === 0) return false;
      for (const version of entry.versions.values()) if (!version.ready) return false;
    }
    return true;
  }

  /** Fails every queued request of every version with `err`; returns how many. */
  rejectQueued(err: InferenceError): number {
    let count = 0;
    for (const entry of this.models.values()) for (const version of entry.versions.values()) count += version.scheduler.rejectQueued(err);
    return count;
  }

  async unloadAll(): Promise<void> {
    const versions = [...this.models.values()].flatMap((e) => [...e.versions.values()]);
    await Promise.all(versions.map((v) => v.unload()));
  }

  private async loadModel(model: DiscoveredModel): Promise<void> {
    const entry: ModelEntry = { name: model.name, versions: new Map(), failures: [], failedVersions: new Map() };
    this.models.set(model.name, entry);
    this.emit('change');
    try {
      if (model.configError !== undefined) throw new Error(model.configError);
      const partial = parseModelConfig(model.name, model.configJson ?? {}, this.config.defaultMaxQueueSize);
      const versions = selectVersions(model.versions, partial.versionPolicy);
      if (versions.length === 0) throw new Error(`no version folder with ${MODEL_FILE} matches the version policy`);
      await Promise.all(
        versions.map(async (version) => {
          try {
            entry.versions.set(version, await this.loadVersion(model, version, partial));
          } catch (err) {
            entry.failures.push(`version ${version}: ${(err as Error).message}`);
            entry.failedVersions.set(version, (err as Error).message);
            this.log.error({ model: model.name, version, err: (err as Error).message }, 'model version failed to load');
          }
        }),
      );
    } catch (err) {
      entry.failures.push((err as Error).message);
      this.log.error({ model: model.name, err: (err as Error).message }, 'model failed to load');
    }
  }

  private async loadVersion(model: DiscoveredModel, version: number, partial: ReturnType<typeof parseModelConfig>): Promise<ModelVersion> {
    const started = performance.now();
    const { runtime } = this.config;
    const pool = await InstancePool.start(partial.instanceCount, {
      modelPath: path.join(model.dir, String(version), MODEL_FILE),
      providers: runtime.executionProviders,
      intraOpThreads: runtime.intraOpThreads,
      graphOptimizationLevel: runtime.graphOptimizationLevel,
    });
    try {
      const { session } = pool;
      for (const failure of session.failures) {
        this.log.warn({ model: model.name, version, provider: failure.provider, reason: failure.reason }, `execution provider ${failure.provider} unavailable, falling back`);
      }
      const config = completeConfig(partial, model.configJson !== undefined, session, {
        maxBatchSize: this.config.defaultMaxBatchSize,
        maxQueueSize: this.config.defaultMaxQueueSize,
      });
      await warmUp(config, model.dir, pool.instances, this.log, version);
      const loaded = new ModelVersion(model.name, version, config, pool, this.defaultQueuePolicy, () => this.emit('change'));
      loaded.state = 'READY';
      this.log.info(
        { model: model.name, version, provider: session.provider, instances: pool.size, max_batch_size: config.maxBatchSize, dynamic_batching: config.dynamicBatching !== undefined, warmup_samples: config.warmup.map((w) => w.name), ms: Math.round(performance.now() - started) },
        'model version ready',
      );
      return loaded;
    } catch (err) {
      await pool.close();
      throw err;
    }
  }
}
