/**
 * The event-loop session of a model whose `run_on_event_loop` is "lone": it takes a batch only
 * when the request came alone and every worker is idle, so that a lone request skips the two
 * thread wake-ups around a worker's run (docs/benchmarks.md), while batches under load still
 * run on the workers, off the event loop. SLOW_RUNS runs in a row past the limit retire it for
 * good, and the workers take everything.
 */
import type { Logger } from '../observability/logger';
import { EventLoopInstance, SLOW_RUNS } from './event-loop-instance';
import type { Instance, LoadedSession } from './model-instance';
import type { SessionWorkerData } from './worker-protocol';

export class LoneSession {
  readonly instance: EventLoopInstance;
  private busy = false;
  private retired = false;

  constructor(
    data: SessionWorkerData,
    label: string,
    private readonly limitNs: number,
    private readonly log: Logger,
  ) {
    this.instance = new EventLoopInstance(data, `${label} (event loop, lone requests)`, limitNs, (blockedNs) => this.tooSlow(blockedNs));
  }

  get loaded(): Promise<LoadedSession> {
    return this.instance.loaded;
  }

  /** A batch of it is running: nothing else may start meanwhile, as with one instance. */
  get running(): boolean {
    return this.busy;
  }

  /** The instance, now busy, or undefined when it is running or retired. */
  take(): Instance | undefined {
    if (this.busy || this.retired || !this.instance.alive) return undefined;
    this.busy = true;
    return this.instance;
  }

  /** True when `instance` is this session's: it is free again (or closed, once retired). */
  give(instance: Instance): boolean {
    if (instance !== this.instance) return false;
    this.busy = false;
    if (this.retired) void this.instance.close();
    return true;
  }

  close(): Promise<void> {
    this.retired = true;
    return this.instance.close();
  }

  private tooSlow(blockedNs: number): void {
    if (this.retired) return;
    this.retired = true;
    this.log.warn(
      { last_run_ms: blockedNs / 1e6, limit_ms: this.limitNs / 1e6, slow_runs_in_a_row: SLOW_RUNS },
      'runs on the event loop took longer than their limit; lone requests go to the worker threads for good',
    );
    if (!this.busy) void this.instance.close();
  }
}
