/**
 * The long-lived calls a graceful stop has to end itself (ModelStreamInfer streams,
 * Health.Watch): grpc-js's tryShutdown waits for every open call, and these never end alone.
 */
/** What both kinds of call share: Node stream events and grpc-js's 'cancelled'. */
interface LongLivedCall {
  readonly writableEnded: boolean;
  once(event: 'cancelled' | 'finish', listener: () => void): unknown;
}

export class OpenCalls {
  private readonly calls = new Map<LongLivedCall, () => void>();

  /** `end` finishes the call with an OK status once what it owes has been written. */
  add(call: LongLivedCall, end: () => void): void {
    this.calls.set(call, end);
    call.once('cancelled', () => this.calls.delete(call));
    call.once('finish', () => this.calls.delete(call));
  }

  endAll(): void {
    for (const [call, end] of this.calls) if (!call.writableEnded) end();
    this.calls.clear();
  }
}
