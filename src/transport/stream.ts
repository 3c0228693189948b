/**
 * ModelStreamInfer: every message on the stream is one inference through the same data
 * plane as ModelInfer. Responses leave in the order their requests arrived, and a bad
 * request answers with an in-stream error_message while the stream goes on. A stream stops
 * being read while it owes too many answers or its client is not taking them, so HTTP/2 flow
 * control holds a fast or stalled client back instead of the server buffering without bound.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { Cancellation } from '../batching/cancellation';
import { asInferenceError, type InferenceError } from '../errors';
import type { InferenceService } from '../dataplane/inference-service';
import type { InferReply, InferResult } from '../dataplane/infer-request';
import type { Logger } from '../observability/logger';
import { decodeInferRequest, deadlineFrom, type CallContext } from './infer-codec';
import type { StreamReply } from './infer-response-encoder';
import type { OpenCalls } from './open-calls';
import { logFailedRequest } from './request-log';
import type { WireInferRequest } from './wire-types';

type Call = ServerDuplexStream<WireInferRequest, StreamReply>;

export function handleStream(call: Call, service: InferenceService, log: Logger, maxInFlight: number, openCalls: OpenCalls): void {
  const stream = new ReplyOrder(call, log, maxInFlight);
  // At shutdown the server ends the stream as if the client had: after every answer it owes.
  openCalls.add(call, () => stream.clientDone());
  const cancellation = new Cancellation();
  const context: CallContext = { deadlineAt: deadlineFrom(call.getDeadline()), cancellation };
  call.once('cancelled', () => cancellation.cancel());
  call.on('end', () => stream.clientDone());
  call.on('drain', () => stream.drained());
  call.on('data', (wire: WireInferRequest) => {
    const slot = stream.open(wire);
    try {
      service.infer(decodeInferRequest(wire, context, service.limits), slot);
    } catch (err) {
      slot.fail(asInferenceError(err));
    }
  });
}

/** The stream's responses in request order: each message holds a slot, and slots leave from the head once filled. */
class ReplyOrder {
  private readonly slots: StreamSlot[] = [];
  private head = 0;
  private ended = false;
  /** call.write reported its buffer full: the client is not reading its answers. */
  private writeBlocked = false;
  private paused = false;

  constructor(
    private readonly call: Call,
    readonly log: Logger,
    private readonly maxInFlight: number,
  ) {}

  open(wire: WireInferRequest): StreamSlot {
    const slot = new StreamSlot(this, wire);
    this.slots.push(slot);
    this.throttle();
    return slot;
  }

  drained(): void {
    this.writeBlocked = false;
    this.throttle();
  }

  clientDone(): void {
    this.ended = true;
    this.flush();
  }

  flush(): void {
    const { slots } = this;
    for (let slot = slots[this.head]; slot?.message !== undefined; slot = slots[++this.head]) {
      if (!this.call.write(slot.message)) this.writeBlocked = true;
      // Written slots wait for the next compaction; their responses need not.
      slot.message = undefined;
    }
    if (this.head > 1024) {
      slots.splice(0, this.head);
      this.head = 0;
    }
    if (this.ended && this.head === slots.length) this.call.end();
    else this.throttle();
  }

  /** Pausing stops grpc-js asking HTTP/2 for more messages, so the client's sends block on flow control. */
  private throttle(): void {
    const stop = this.writeBlocked || this.slots.length - this.head >= this.maxInFlight;
    if (stop === this.paused) return;
    this.paused = stop;
    if (stop) this.call.pause();
    else this.call.resume();
  }
}

/** One message's place in the response order; it is the InferReply its inference answers to. */
class StreamSlot implements InferReply {
  message: StreamReply | undefined;
  // Only what an error response echoes, so a slot does not hold the request's tensors.
  private readonly modelName: string;
  private readonly modelVersion: string;
  private readonly id: string;

  constructor(
    private readonly order: ReplyOrder,
    wire: WireInferRequest,
  ) {
    this.modelName = wire.model_name ?? '';
    this.modelVersion = wire.model_version ?? '';
    this.id = wire.id ?? '';
  }

  ok(result: InferResult): void {
    this.message = { result };
    this.order.flush();
  }

  fail(error: InferenceError): void {
    logFailedRequest(this.order.log, 'ModelStreamInfer', this.modelName || undefined, error);
    this.message = { error: error.message, modelName: this.modelName, modelVersion: this.modelVersion, id: this.id };
    this.order.flush();
  }
}
