/**
 * Wakes the scheduler when the oldest queued job has waited out the queue delay, to within tens
 * of microseconds. Node's timers count whole milliseconds (a 200 µs timeout fires after 1 ms or
 * more), so a timer covers only the wait beyond TIMER_SLACK_MS, and the rest is checked on the
 * event loop's own turns (setImmediate), which go on serving I/O meanwhile. Those turns keep the
 * loop busy only while a batch waits for company, at most TIMER_SLACK_MS per wait; with nothing
 * queued, nothing is armed.
 */
import { timerDelay } from '../platform/timer-limit';

/** How late a Node timer may fire after the millisecond it was set for (libuv's clock is in whole ms). */
export const TIMER_SLACK_MS = 1.5;

export class DelayWake {
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  /** `wake` must recheck the wait and call arm() again if it is not over: a wake may come early. */
  constructor(private readonly wake: () => void) {}

  /** Arms one wake-up `ms` from now, unless one is armed already (the oldest job only gets older). */
  arm(ms: number): void {
    if (this.timer || this.immediate) return;
    if (ms > TIMER_SLACK_MS) {
      this.timer = setTimeout(this.fromTimer, timerDelay(ms - TIMER_SLACK_MS));
    } else {
      this.immediate = setImmediate(this.fromImmediate);
    }
  }

  cancel(): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private readonly fromTimer = (): void => {
    this.timer = undefined;
    this.wake();
  };

  private readonly fromImmediate = (): void => {
    this.immediate = undefined;
    this.wake();
  };
}
