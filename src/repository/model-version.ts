import { Scheduler } from '../batching/scheduler';
import type { ExecutionProvider } from '../config/schema';
import type { InstancePool } from '../runtime/instance-pool';
import type { NodePlacement } from '../runtime/node-placement';
import type { EnsembleVersion } from './ensemble-version';
import type { ModelConfig, QueuePolicy } from './model-config';
import { VersionBase } from './served-version';

export type { ModelState } from './served-version';

/** Any loaded version: an ONNX model's or an ensemble's. */
export type ServedVersion = ModelVersion | EnsembleVersion;

/** One loaded version of an ONNX model: its configuration, sessions, scheduler and counters. */
export class ModelVersion extends VersionBase {
  readonly kind = 'onnx';
  readonly scheduler: Scheduler;

  constructor(
    name: string,
    version: number,
    config: ModelConfig,
    readonly pool: InstancePool,
    defaultQueuePolicy: QueuePolicy,
    onChange: () => void = () => {},
  ) {
    super(name, version, config, onChange);
    this.scheduler = new Scheduler(config, pool, this.stats, defaultQueuePolicy);
    pool.on('change', () => this.followPool());
  }

  get provider(): ExecutionProvider {
    return this.pool.session.provider;
  }

  /** The CUDA devices the instances run on, each once, in slot order; empty unless the provider is CUDA. */
  get deviceIds(): readonly number[] {
    return this.provider === 'cuda' ? [...new Set(this.pool.devices)] : [];
  }

  /** Where the first instance's nodes run, when it was probed (CUDA, or PROBE_NODE_PLACEMENT). */
  get placement(): NodePlacement | undefined {
    return this.pool.session.placement;
  }

  /**
   * A serving version is unready from an instance's death until its replacement serves
   * (docs/architecture.md); one that is unloading stays UNLOADING. Either way the live instances
   * keep draining the queue, and a replacement takes queued work at once.
   */
  private followPool(): void {
    if (this.state !== 'UNLOADING') this.state = this.pool.complete ? 'READY' : 'UNAVAILABLE';
    this.scheduler.schedule();
  }

  /** Its queued and running requests are answered before its workers stop. */
  async unload(): Promise<void> {
    this.state = 'UNLOADING';
    await this.scheduler.whenIdle();
    await this.pool.close();
    this.state = 'UNAVAILABLE';
  }
}
