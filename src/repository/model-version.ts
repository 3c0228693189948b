import { FeatureStatistics } from '../observability/feature-statistics';
import { ModelStatistics } from '../observability/model-statistics';
import { Scheduler } from '../batching/scheduler';
import type { ExecutionProvider } from '../config/schema';
import type { InstancePool } from '../runtime/instance-pool';
import type { NodePlacement } from '../runtime/node-placement';
import type { ModelConfig, QueuePolicy } from './model-config';

/** Triton's version states; UNLOADING: taking no new requests, finishing those it holds. */
export type ModelState = 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

/** One loaded version of a model: its configuration, sessions, scheduler and counters. */
export class ModelVersion {
  private current: ModelState = 'LOADING';
  readonly stats = new ModelStatistics();
  /** Per-column statistics of the inputs whose config asks for them. */
  readonly features: FeatureStatistics;
  readonly scheduler: Scheduler;

  constructor(
    readonly name: string,
    readonly version: number,
    readonly config: ModelConfig,
    readonly pool: InstancePool,
    defaultQueuePolicy: QueuePolicy,
    /** Told after every state change, so health and metrics follow the truth. */
    private readonly onChange: () => void = () => {},
  ) {
    this.features = new FeatureStatistics(config);
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

  get state(): ModelState {
    return this.current;
  }

  set state(next: ModelState) {
    if (next === this.current) return;
    this.current = next;
    this.onChange();
  }

  get ready(): boolean {
    return this.current === 'READY';
  }

  /**
   * A serving version is unready from an instance's death until its replacement serves
   * (docs/architecture.md); one that is unloading stays UNLOADING. Either way the live instances
   * keep draining the queue, and a replacement takes queued work at once.
   */
  private followPool(): void {
    if (this.current !== 'UNLOADING') this.state = this.pool.complete ? 'READY' : 'UNAVAILABLE';
    this.scheduler.schedule();
  }

  /**
   * Drains, then frees: the caller has already stopped routing to this version; its queued and
   * running requests are answered before its workers stop.
   */
  async unload(): Promise<void> {
    this.state = 'UNLOADING';
    await this.scheduler.whenIdle();
    await this.pool.close();
    this.state = 'UNAVAILABLE';
  }
}
