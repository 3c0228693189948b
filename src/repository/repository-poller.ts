/**
 * Poll mode's clock: rescans the repository every interval, counted from the end of the last
 * scan so that a slow load never makes scans overlap.
 */
import type { Logger } from '../observability/logger';

export class RepositoryPoller {
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly scan: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.arm();
  }

  /** No scan starts after this; resolves once the scan under way, if any, has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.scanning;
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.scanning = this.scan()
        .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'repository poll failed'))
        .finally(() => {
          this.scanning = undefined;
          this.arm();
        });
    }, this.intervalMs);
  }
}
