/**
 * A client's cancellation of queued work. AbortController would do, but grpc-js reports
 * 'cancelled' at the close of every call, even a successful one, and an abort builds a
 * DOMException with a stack trace: measured at ~30 us per request. This is a flag and a set.
 */
export class Cancellation {
  cancelled = false;
  private listeners: Set<() => void> | undefined;

  subscribe(listener: () => void): void {
    (this.listeners ??= new Set()).add(listener);
  }

  unsubscribe(listener: () => void): void {
    this.listeners?.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners?.size ?? 0;
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const listeners = this.listeners;
    this.listeners = undefined;
    listeners?.forEach((listener) => listener());
  }
}
