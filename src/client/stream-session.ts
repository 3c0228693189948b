/**
 * ModelStreamInfer as an async iterable: requests are pulled from the caller's (async) iterable
 * only while fewer than `maxInFlight` answers are owed or waiting to be taken, so neither a slow
 * server nor a slow consumer makes the client buffer without bound (back-pressure), and the
 * write side also waits for the transport to drain.
 * The server answers in request order and a failed request carries no id (only error_message),
 * so each answer belongs to the oldest request still owed; a successful answer's id is checked
 * against that request's.
 */
import * as grpc from '@grpc/grpc-js';
import { InferenceClientError } from './client-error';

export interface WireStreamResponse {
  error_message?: string;
  infer_response?: { id?: string };
}

/** One answer: its request's id, and the result or the in-stream error. */
export type StreamAnswer<R> = { readonly id: string; readonly result: R; readonly error?: undefined } | { readonly id: string; readonly result?: undefined; readonly error: InferenceClientError };

export interface StreamCodec<Q, R> {
  /** The wire request and the id it carries (one is given to a request without one). */
  encode(request: Q, sequence: number): { id: string; wire: object };
  decode(response: NonNullable<WireStreamResponse['infer_response']>): R;
}

/** `open` starts the call at the first pull of the answers, so a stream never iterated opens none. */
export async function* streamAnswers<Q, R>(open: () => grpc.ClientDuplexStream<object, WireStreamResponse>, requests: AsyncIterable<Q> | Iterable<Q>, codec: StreamCodec<Q, R>, maxInFlight: number): AsyncGenerator<StreamAnswer<R>> {
  const call = open();
  const owed: string[] = [];
  const ready: StreamAnswer<R>[] = [];
  let failure: InferenceClientError | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const changed = (): Promise<void> => new Promise((resolve) => (wake = resolve));

  call.on('data', (res: WireStreamResponse) => {
    const id = owed.shift();
    if (id === undefined) failure ??= new InferenceClientError(grpc.status.INTERNAL, 'an answer came for no request');
    else if (res.error_message) ready.push({ id, error: new InferenceClientError(grpc.status.UNKNOWN, res.error_message) });
    else if (res.infer_response?.id !== id) failure ??= new InferenceClientError(grpc.status.INTERNAL, `answer for id '${res.infer_response?.id}' where '${id}' was owed`);
    else ready.push({ id, result: codec.decode(res.infer_response) });
    notify();
  });
  call.on('error', (err) => {
    failure ??= InferenceClientError.from(err);
    notify();
  });
  call.on('end', () => {
    ended = true;
    notify();
  });

  const source = Symbol.asyncIterator in requests ? requests[Symbol.asyncIterator]() : requests[Symbol.iterator]();
  let sequence = 0;
  let exhausted = false;
  try {
    for (;;) {
      while (ready.length > 0) yield ready.shift()!;
      if (failure) throw failure;
      if (!exhausted && owed.length < maxInFlight) {
        const next = await source.next();
        if (next.done) {
          exhausted = true;
          call.end();
        } else {
          const { id, wire } = codec.encode(next.value, sequence++);
          owed.push(id);
          if (!call.write(wire)) {
            await new Promise((resolve) => {
              call.once('drain', resolve);
              call.once('error', resolve);
            });
          }
        }
        continue;
      }
      if (exhausted && owed.length === 0) return;
      if (ended) throw new InferenceClientError(grpc.status.INTERNAL, `the stream ended owing ${owed.length} answers`);
      await changed();
    }
  } finally {
    // An early break or a failure: stop the call rather than leave it open on the server.
    if (!exhausted || owed.length > 0) call.cancel();
  }
}
