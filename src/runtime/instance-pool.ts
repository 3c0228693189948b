import { EventEmitter } from 'node:events';
import type { Logger } from '../observability/logger';
import { EventLoopInstance, SLOW_RUNS } from './event-loop-instance';
import { InstanceSupervisor } from './instance-supervisor';
import { LoneSession } from './lone-session';
import { ModelInstance, type Instance, type InstanceDeath, type LoadedSession } from './model-instance';
import type { SessionWorkerData } from './worker-protocol';

/** A model that runs on the event loop (only its lone requests, with `loneOnly`) until runs take longer than `limitNs`. */
export interface EventLoopOption {
  readonly limitNs: number;
  readonly loneOnly?: boolean;
}

/** The version whose instances these are: named in errors and logs. */
export interface PoolOwner {
  readonly model: string;
  readonly version: number;
  readonly log: Logger;
}

/** Readies instances before they serve: the version's warm-up. */
export type PrepareInstances = (instances: readonly Instance[]) => Promise<void>;

/**
 * instance_group.count sessions of one model version; a batch goes to whichever is idle.
 * Once warmed up, an instance whose worker dies leaves the pool at once and a replacement takes
 * its slot (instance-supervisor.ts); 'change' is emitted when an instance leaves or rejoins.
 * With `eventLoop`, the one session runs on the event loop until runs take longer than its
 * limit; then a worker is started, warmed up, and takes the slot, while the event-loop session
 * serves on until then (no request fails for the move), and the model stays on workers. With
 * `eventLoop.loneOnly`, the workers serve and a LoneSession beside them takes lone requests.
 */
export class InstancePool extends EventEmitter<{ change: [] }> {
  private readonly members: Instance[];
  private readonly idle: Instance[];
  /** Event-loop sessions replaced by a worker while running a batch: closed when released. */
  private readonly retired = new Set<Instance>();
  /** A slot whose event-loop session ran too long during the warm-up: moved once warmUp is done. */
  private moveAfterWarmUp: number | undefined;
  private readonly supervisor: InstanceSupervisor;
  private first!: LoadedSession;
  /** Set by warmUp: from then on the pool serves and dead instances are replaced. */
  private prepare: PrepareInstances | undefined;
  private down = 0;
  private closed = false;
  private readonly lone: LoneSession | undefined;

  private constructor(
    /** The CUDA device of each slot. */
    private readonly slots: readonly number[],
    private readonly owner: PoolOwner,
    private readonly data: SessionWorkerData,
    /** Cleared for good once a run is too long. */
    private eventLoop: EventLoopOption | undefined,
  ) {
    super();
    if (eventLoop?.loneOnly) {
      const label = `model '${owner.model}' version ${owner.version}`;
      this.lone = new LoneSession(data, label, eventLoop.limitNs, owner.log.child({ model: owner.model, version: owner.version }));
      this.eventLoop = undefined;
    }
    this.members = slots.map((_, slot) => this.launch(slot));
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

  /**
   * Starts one worker per entry of `devices`, each asking CUDA for that device (or the one
   * event-loop session, on the first), and waits for all to load; the first one's provider speaks for the pool.
   */
  static async start(devices: readonly number[], owner: PoolOwner, data: SessionWorkerData, eventLoop?: EventLoopOption): Promise<InstancePool> {
    const pool = new InstancePool(eventLoop && !eventLoop.loneOnly ? devices.slice(0, 1) : devices, owner, data, eventLoop);
    try {
      [pool.first] = await Promise.all([...pool.members.map((i) => i.loaded), ...(pool.lone ? [pool.lone.loaded] : [])]);
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

  /** The CUDA device each slot asks for, in slot order. */
  get devices(): readonly number[] {
    return this.slots;
  }

  /** One per slot; a dead one stays until its replacement serves. */
  get instances(): readonly Instance[] {
    return this.members;
  }

  /** The event-loop session for lone requests (run_on_event_loop "lone"), beside the slots. */
  get loneInstance(): Instance | undefined {
    return this.lone?.instance;
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
    await prepare(this.lone ? [...this.members, this.lone.instance] : this.members);
    // The automatic warm-up forgives failed runs, a dead worker's among them.
    const dead = this.members.find((i) => !i.alive);
    if (dead) throw new Error(`${dead.label} stopped during the warm-up`);
    this.prepare = prepare;
    if (this.moveAfterWarmUp !== undefined) await this.moveToWorker(this.moveAfterWarmUp);
  }

  /** Some instance may take a batch now. */
  get canRun(): boolean {
    return this.idle.length > 0 && !this.lone?.running;
  }

  /** An idle instance; for a lone request, the event-loop session when there is one and every worker is idle. */
  acquire(lone = false): Instance | undefined {
    if (this.lone?.running) return undefined;
    if (lone && this.lone && this.idle.length === this.members.length) {
      const instance = this.lone.take();
      if (instance) return instance;
    }
    return this.idle.pop();
  }

  /** A dead or closed instance is dropped: it never gets another batch; a retired one is closed. */
  release(instance: Instance): void {
    if (this.lone?.give(instance)) return;
    if (this.retired.delete(instance)) void instance.close();
    else if (instance.alive) this.idle.push(instance);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    await Promise.allSettled([
      this.supervisor.close(),
      ...this.members.map((i) => i.close()),
      ...[...this.retired].map((i) => i.close()),
      ...(this.lone ? [this.lone.close()] : []),
    ]);
  }

  private launch(slot: number): Instance {
    const label = `model '${this.owner.model}' version ${this.owner.version} instance ${slot}`;
    const data: SessionWorkerData = { ...this.data, deviceId: this.slots[slot] };
    if (this.eventLoop) {
      const instance: Instance = new EventLoopInstance(data, `${label} (event loop)`, this.eventLoop.limitNs, (blockedNs) => this.tooSlow(slot, instance, blockedNs));
      return instance;
    }
    const instance: Instance = new ModelInstance(data, label, (death) => this.lost(slot, instance, death));
    return instance;
  }

  /** Runs on the event loop took longer than its limit: the model moves to a worker thread for good. */
  private tooSlow(slot: number, instance: Instance, blockedNs: number): void {
    if (this.closed || this.members[slot] !== instance || !this.eventLoop) return;
    this.owner.log.warn(
      { model: this.owner.model, version: this.owner.version, last_run_ms: blockedNs / 1e6, limit_ms: this.eventLoop.limitNs / 1e6, slow_runs_in_a_row: SLOW_RUNS },
      'runs on the event loop took longer than their limit; the model moves to a worker thread for good',
    );
    this.eventLoop = undefined;
    if (this.prepare) void this.moveToWorker(slot);
    else this.moveAfterWarmUp = slot;
  }

  /** Starts and warms up a worker for the slot; the event-loop session serves until it takes over. */
  private async moveToWorker(slot: number): Promise<void> {
    const worker = this.launch(slot);
    try {
      await worker.loaded;
      await this.prepare!([worker]);
      if (!worker.alive) throw new Error(`${worker.label} stopped while starting`);
    } catch (err) {
      await worker.close();
      this.owner.log.error({ model: this.owner.model, version: this.owner.version, err: (err as Error).message }, 'the worker thread to replace the event-loop session failed to start; staying on the event loop');
      return;
    }
    if (this.closed) {
      await worker.close();
      return;
    }
    const previous = this.members[slot];
    this.members[slot] = worker;
    const at = this.idle.indexOf(previous);
    if (at >= 0) {
      this.idle.splice(at, 1);
      void previous.close();
    } else {
      this.retired.add(previous);
    }
    this.idle.push(worker);
    this.owner.log.info({ model: this.owner.model, version: this.owner.version, provider: (await worker.loaded).provider }, 'model moved to a worker thread');
    this.emit('change');
  }

  /** A serving member died: it leaves the idle list now, and the supervisor replaces it. */
  private lost(slot: number, instance: Instance, death: InstanceDeath): void {
    // Before warmUp a death fails the load; a replacement that dies while starting is the supervisor's to retry.
    if (!this.prepare || this.closed || this.members[slot] !== instance) return;
    const at = this.idle.indexOf(instance);
    if (at >= 0) this.idle.splice(at, 1);
    this.down++;
    this.supervisor.replace(slot, death);
    this.emit('change');
  }

  private rejoin(slot: number, instance: Instance): void {
    this.members[slot] = instance;
    this.idle.push(instance);
    this.down--;
    this.emit('change');
  }
}
