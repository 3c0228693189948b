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
import { decodeInferRequest, deadlineFrom, encodeInferResponse } from './infer-codec';
import { logFailedRequest } from './request-log';
import type { WireInferRequest } from './wire-types';

interface Slot {
  message: unknown;
}

export function handleStream(call: ServerDuplexStream<WireInferRequest, unknown>, service: InferenceService, log: Logger): void {
  const cancellation = new Cancellation();
  const context = { deadlineAt: deadlineFrom(call.getDeadline()), cancellation };
  const slots: Slot[] = [];
  let head = 0;
  let clientDone = false;

  const flush = (): void => {
    while (head < slots.length && slots[head].message !== undefined) {
      call.write(slots[head].message);
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
      slot.message = {
        error_message: error.message,
        infer_response: { model_name: wire.model_name ?? '', model_version: wire.model_version ?? '', id: wire.id ?? '' },
      };
      flush();
    };
    try {
      service.infer(decodeInferRequest(wire, context)).then((result) => {
        slot.message = { infer_response: encodeInferResponse(result) };
        flush();
      }, fail);
    } catch (err) {
      fail(err);
    }
  });
}
