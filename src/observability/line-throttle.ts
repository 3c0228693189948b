/**
 * At most one log line per key per interval, for lines a client can cause at any rate (a refused
 * request, a refused connection): a line each would cost the event loop most when it can least
 * afford it (a synchronous write, blocking once the log pipe is full) and could fill the disk.
 */
export class LineThrottle {
  private readonly windows = new Map<string, { lineAt: number; unlogged: number }>();

  constructor(private readonly everyMs: number) {}

  /** Undefined: skip this line. Otherwise write it, with this count of lines skipped since the last. */
  take(key: string, now = Date.now()): number | undefined {
    const window = this.windows.get(key);
    if (window && now - window.lineAt < this.everyMs) {
      window.unlogged++;
      return undefined;
    }
    this.windows.set(key, { lineAt: now, unlogged: 0 });
    return window?.unlogged ?? 0;
  }
}
