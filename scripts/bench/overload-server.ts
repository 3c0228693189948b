/**
 * The server the overload check runs against: the real server in a child process serving the
 * slow model (sized to this machine, see test/support/batching-slow-model.ts) with a bounded
 * queue, and the one request every caller sends, padded to a chosen size.
 */
import * as fs from 'node:fs';
import { SLOW_FEATURES, sizedSlowModel, writeTempRepository } from '../../test/support/batching-slow-model';
import { methodDefinition } from './protocol';
import { startServerOn } from './server-process';

export const OVERLOAD_MODEL = 'slow';
/** As long a name as OVERLOAD_MODEL's, so both requests have one size. */
const ABSENT_MODEL = 'none';

export interface OverloadSettings {
  /** dynamic_batching.default_queue_policy.max_queue_size */
  readonly queueBound: number;
  readonly maxBatch: number;
  /** Size of the serialized request; the request id carries the padding. */
  readonly requestBytes: number;
}

export interface OverloadServer {
  readonly address: string;
  readonly pid: number;
  readonly model: string;
  readonly request: Buffer;
  /** The same request, as large, for a model the server does not have: refused NOT_FOUND by the same path, with no queue. */
  readonly absentModelRequest: Buffer;
  stop(): Promise<void>;
}

export async function startOverloadServer(settings: OverloadSettings): Promise<OverloadServer> {
  const repository = writeTempRepository([
    {
      name: OVERLOAD_MODEL,
      onnx: await sizedSlowModel(),
      config: { max_batch_size: settings.maxBatch, dynamic_batching: { default_queue_policy: { max_queue_size: settings.queueBound } } },
    },
  ]);
  const server = await startServerOn('overload', repository, { LOG_LEVEL: 'info' }, () => fs.rmSync(repository, { recursive: true, force: true }));
  return { address: server.address, pid: server.pid, model: OVERLOAD_MODEL, request: paddedRequest(OVERLOAD_MODEL, settings.requestBytes),
    absentModelRequest: paddedRequest(ABSENT_MODEL, settings.requestBytes),
    stop: () => server.stop() };
}

function paddedRequest(model: string, bytes: number): Buffer {
  const method = methodDefinition('ModelInfer');
  const x = new Float32Array(SLOW_FEATURES).fill(0.5);
  const message = (id: string) => ({
    model_name: model,
    id,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, SLOW_FEATURES] }],
    raw_input_contents: [Buffer.from(x.buffer)],
  });
  const bare = method.requestSerialize(message('')).length;
  // The id's own length prefix grows by a byte or two with it; close enough for a size knob.
  return method.requestSerialize(message('p'.repeat(Math.max(0, bytes - bare - 3))));
}
