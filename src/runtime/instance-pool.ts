import { EventEmitter } from 'node:events';
import type { Logger } from '../observability/logger';
import { InstanceSupervisor } from './instance-supervisor';
import { ModelInstance, type InstanceDeath, type LoadedSession } from './model-instance';
import type { SessionWorkerData } from './worker-protocol';

/** The version whose instances these are: named in errors and logs. */
export interface PoolOwner {
  readonly model: string;
  readonly version: number;
  readonly log: Logger;
}

/** Readies instances before they serve: the version's warm-up. */
export type PrepareInstances = (instances: readonly ModelInstance[]) => Promise<void>;

/**
 * instance_group.count sessions of one model version; a batch goes to whichever is idle.
 * Once warmed up, an instance whose worker dies leaves the pool at once and a replacement takes
 * its slot (instance-supervisor.ts); 'change' is emitted when an instance leaves or rejoins.
 */
export class InstancePool extends EventEmitter<{ change: [] }> {
  private readonly members: ModelInstance[];
  private readonly idle: ModelInstance[];
  private readonly supervisor: InstanceSupervisor;
  private first!: LoadedSession;
  /** Set by warmUp: from then on the pool serves and dead instances are replaced. */
  private prepare: PrepareInstances | undefined;
  private down = 0;
  private closed = false;

  private constructor(count: number, private readonly owner: PoolOwner, private readonly data: SessionWorkerData) {
    super();
    this.members = Array.from({ length: count }, (_, slot) => this.launch(slot));
    this.idle = [...this.members];
    this.supervisor = new InstanceSupervisor(
      {
        launch: (slot) => this.launch(slot),
        // Only deaths after warmUp are replaced, so prepare is set by then.
        prepare: (instance) => this.prepare!([instance]),
        rejoin: (slot, instance) => this.rejoin(slot, instance),
      },
      owner.log.child({ model: owner.model, version: owner.version }),
    );
  }

  /** Starts `count` workers and waits for all to load; the first one's provider speaks for the pool. */
  static async start(count: number, owner: PoolOwner, data: SessionWorkerData): Promise<InstancePool> {
    const pool = new InstancePool(count, owner, data);
    try {
      [pool.first] = await Promise.all(pool.members.map((i) => i.loaded));
      return pool;
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  get session(): LoadedSession {
    return this.first;
  }

  get size(): number {
    return this.members.length;
  }

  /** One per slot; a dead one stays until its replacement serves. */
  get instances(): readonly ModelInstance[] {
    return this.members;
  }

  /** True while every slot has a live instance. */
  get complete(): boolean {
    return this.down === 0;
  }

  /**
   * Runs `prepare` on every instance; from then on the pool serves, and each replacement is
   * prepared the same way before it takes a batch. A death before that fails the load instead.
   */
  async warmUp(prepare: PrepareInstances): Promise<void> {
    await prepare(this.members);
    // The automatic warm-up forgives failed runs, a dead worker's among them.
    const dead = this.members.find((i) => !i.alive);
    if (dead) throw new Error(`${dead.label} stopped during the warm-up`);
    this.prepare = prepare;
  }

  acquire(): ModelInstance | undefined {
    return this.idle.pop();
  }

  /** A dead or closed instance is dropped: it never gets another batch. */
  release(instance: ModelInstance): void {
    if (instance.alive) this.idle.push(instance);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    await Promise.allSettled([this.supervisor.close(), ...this.members.map((i) => i.close())]);
  }

  private launch(slot: number): ModelInstance {
    const label = `model '${this.owner.model}' version ${this.owner.version} instance ${slot}`;
    const instance: ModelInstance = new ModelInstance(this.data, label, (death) => this.lost(slot, instance, death));
    return instance;
  }

  /** A serving member died: it leaves the idle list now, and the supervisor replaces it. */
  private lost(slot: number, instance: ModelInstance, death: InstanceDeath): void {
    // Before warmUp a death fails the load; a replacement that dies while starting is the supervisor's to retry.
    if (!this.prepare || this.closed || this.members[slot] !== instance) return;
    const at = this.idle.indexOf(instance);
    if (at >= 0) this.idle.splice(at, 1);
    this.down++;
    this.supervisor.replace(slot, death);
    this.emit('change');
  }

  private rejoin(slot: number, instance: ModelInstance): void {
    this.members[slot] = instance;
    this.idle.push(instance);
    this.down--;
    this.emit('change');
  }
}
