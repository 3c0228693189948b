/**
 * A session on the event loop's own thread, for a model that opts in (config.json parameter
 * `run_on_event_loop`): a run of a tiny model costs less than the two thread wake-ups around a
 * worker's (docs/benchmarks.md). session.run blocks the event loop for the whole run, so when
 * SLOW_RUNS runs in a row block it longer than the model's limit (warm-up runs included),
 * `onSlow` hears once and the pool moves the model to a worker thread for good (instance-pool.ts).
 */
import { performance } from 'node:perf_hooks';
import { internal, unavailable } from '../errors';
import type { Instance, LoadedSession, RunResult } from './model-instance';
import type { SessionWorkerData, WireTensor } from './worker-protocol';

/**
 * Runs in a row over the limit before the model moves. Under load about one run in a hundred and
 * fifty of a 20 µs model measured 1.5 to 11 ms here (a GC pause, the thread losing its core);
 * three in a row is the model.
 */
export const SLOW_RUNS = 3;

/** The part of session-core.ts this needs, imported on first use: the main thread loads onnxruntime-node only for a model that asks. */
type SessionCore = typeof import('./session-core');
type Session = Awaited<ReturnType<SessionCore['openSession']>>['session'];

export class EventLoopInstance implements Instance {
  readonly loaded: Promise<LoadedSession>;
  private core: SessionCore | undefined;
  private session: Session | undefined;
  private closing = false;
  /** Runs in a row that blocked the loop past the limit. */
  private slowInARow = 0;

  constructor(
    data: SessionWorkerData,
    readonly label: string,
    private readonly limitNs: number,
    /** Told once, with how long the event loop was blocked. */
    private readonly onSlow: (blockedNs: number) => void,
  ) {
    this.loaded = this.open(data);
  }

  get alive(): boolean {
    return this.session !== undefined && !this.closing;
  }

  async run(feeds: Record<string, WireTensor>, fetches: readonly string[]): Promise<RunResult> {
    if (!this.session || !this.core) throw unavailable(`${this.label} is not loaded`);
    // onnxruntime-node runs the session in a setImmediate callback; one queued just before it runs
    // just before it, and this continuation right after it, so the two stamps bound the time the
    // event loop was blocked, not the wait for the loop's turn (which other calls fill under load).
    let blockedFrom = Number.POSITIVE_INFINITY;
    setImmediate(() => (blockedFrom = performance.now()));
    let result: RunResult;
    try {
      result = await this.core.runSession(this.session, feeds, fetches);
    } catch (err) {
      throw internal(`onnxruntime: ${err instanceof Error ? err.message : String(err)}`);
    }
    const blockedNs = (performance.now() - blockedFrom) * 1e6;
    this.slowInARow = blockedNs > this.limitNs ? this.slowInARow + 1 : 0;
    if (this.slowInARow === SLOW_RUNS) this.onSlow(blockedNs);
    return result;
  }

  async close(): Promise<void> {
    this.closing = true;
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }

  private async open(data: SessionWorkerData): Promise<LoadedSession> {
    this.core = await import('./session-core');
    const { session, provider, deviceId, failures, placement, inputs, outputs } = await this.core.openSession(data);
    if (this.closing) {
      await session.release();
      throw unavailable(`${this.label} closed`);
    }
    this.session = session;
    return { provider, deviceId, failures, placement, inputs, outputs };
  }
}
