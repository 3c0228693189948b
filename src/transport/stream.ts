/**
 * ModelStreamInfer: every message on the stream is one inference through the same data
 * plane as ModelInfer. Responses leave in the order their requests arrived, and a bad
 * request answers with an in-stream error_message while the stream goes on.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { Cancellation } from '../batching/cancellation';
import { asInferenceError } from '../errors';
import type { InferenceService } from '../dataplane/inference-service';
import type { Logger } from '../observability/logger';
import { decodeInferRequest, deadlineFrom } from './infer-codec';
import type { StreamReply } from './infer-response-encoder';
import { logFailedRequest } from './request-log';
import type { WireInferRequest } from './wire-types';

interface Slot {
  message: StreamReply | undefined;
}

export function handleStream(call: ServerDuplexStream<WireInferRequest, StreamReply>, service: InferenceService, log: Logger): void {
  const cancellation = new Cancellation();
  const context = { deadlineAt: deadlineFrom(call.getDeadline()), cancellation };
  const slots: Slot[] = [];
  let head = 0;
  let clientDone = false;

  const flush = (): void => {
    for (let message = slots[head]?.message; message !== undefined; message = slots[head]?.message) {
      call.write(message);
      head++;
    }
    if (head > 1024) {
      slots.splice(0, head);
      head = 0;
    }
    if (clientDone && head === slots.length) call.end();
  };

  call.once('cancelled', () => cancellation.cancel());
  call.on('end', () => {
    clientDone = true;
    flush();
  });
  call.on('data', (wire: WireInferRequest) => {
    const slot: Slot = { message: undefined };
    slots.push(slot);
    const fail = (err: unknown): void => {
      const error = asInferenceError(err);
      logFailedRequest(log, 'ModelStreamInfer', wire.model_name, error);
      slot.message = { error: error.message, modelName: wire.model_name ?? '', modelVersion: wire.model_version ?? '', id: wire.id ?? '' };
      flush();
    };
    try {
      service.infer(decodeInferRequest(wire, context)).then((result) => {
        slot.message = { result };
        flush();
      }, fail);
    } catch (err) {
      fail(err);
    }
  });
}
