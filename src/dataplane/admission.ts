/**
 * Counts inference requests accepted and not yet answered (queued or running), and stops
 * accepting new ones when the server drains, so that shutdown can wait for exactly those.
 */
export class Admission {
  private accepting = true;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  get open(): boolean {
    return this.accepting;
  }

  get pending(): number {
    return this.inFlight;
  }

  close(): void {
    this.accepting = false;
  }

  enter(): void {
    this.inFlight++;
  }

  leave(): void {
    if (--this.inFlight > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once nothing is in flight (at once if nothing is). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
