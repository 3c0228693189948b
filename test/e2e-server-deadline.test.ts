/**
 * The gRPC deadline of a ModelInfer call, enforced by the server while the request waits in the
 * queue. A grpc-js client cancels a call itself when its deadline passes, so these calls are made
 * by hand over HTTP/2 (test/support/raw-grpc.ts): whatever status comes back, the server sent.
 *
 * The queue is not alone in watching that deadline: grpc-js's server arms its own timer for it
 * when the headers arrive, answers DEADLINE_EXCEEDED "Deadline exceeded" and reports the call
 * cancelled, which also takes the request out of the queue. The queue acts EXPIRY_LEAD_MS early
 * (src/batching/policy-queue.ts), so its own "deadline exceeded while queued" answers first; the
 * message is what tells the two apart, and a server that ignores the deadline never sends it.
 */
import { expect } from 'chai';
import { status, type MethodDefinition } from '@grpc/grpc-js';
import { loadInferenceService } from '../src/transport/protos';
import { statistics, statsDelta, type Stats } from './support/batching-client';
import { affineModel, affineRequest, serveRepository, valuesOf, type RepositoryServer } from './support/generated-models';
import { waitFor } from './support/wait-for';
import { rawUnary, type RawGrpcAnswer } from './support/raw-grpc';

const MODEL_INFER = '/inference.GRPCInferenceService/ModelInfer';
/** grpc-timeout of every call: 50 ms, against a queue delay of 1 s. */
const TIMEOUT = '50m';
const QUEUE_MESSAGE = 'deadline exceeded while queued';

describe('e2e gRPC deadline of a ModelInfer call waiting in the queue', function () {
  this.timeout(60_000);
  let t: RepositoryServer;
  let request: Buffer;

  before(async () => {
    t = await serveRepository([
      {
        name: 'held',
        // A lone request waits 1 s for company: its 50 ms deadline always passes in the queue.
        config: { max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: 1_000_000 } },
        versions: new Map([[1, affineModel([4], [{ name: 'y', scale: 2, bias: 1 }])]]),
      },
    ]);
    // Encoded by proto-loader's codec for the service, as any client's would be.
    const infer = loadInferenceService().ModelInfer as MethodDefinition<object, object>;
    request = infer.requestSerialize(affineRequest('held', [1, 4], valuesOf(1, 4)));
  });

  after(async () => t?.stop());

  const call = (): Promise<RawGrpcAnswer> => rawUnary(t.port, MODEL_INFER, request, { 'grpc-timeout': TIMEOUT });

  /** Waits until `calls` failures are counted (the last is counted as its answer leaves), then checks none ran. */
  async function expectFailedWithoutRunning(before: Stats, calls: number): Promise<void> {
    const d = await waitFor('every call counted as failed', async () => statsDelta(await statistics(t.client, 'held'), before), (s) => s.fail.count >= calls);
    expect(d.fail.count, 'failures').to.equal(calls);
    expect(d.success.count, 'successes').to.equal(0);
    expect(d.executionCount, 'runs').to.equal(0);
    expect(d.inferenceCount).to.equal(0);
  }

  it('answers DEADLINE_EXCEEDED with no response message, and never runs the request', async () => {
    const before = await statistics(t.client, 'held');
    const answer = await call();
    expect(status[answer.status], answer.message).to.equal('DEADLINE_EXCEEDED');
    expect(answer.message).to.equal(QUEUE_MESSAGE);
    expect(answer.messages).to.have.length(0);
    await expectFailedWithoutRunning(before, 1);
  });

  it("answers every call with the queue's own deadline rejection, not grpc-js's", async () => {
    // Each call is a race between the queue's timer and grpc-js's; the queue must win each one.
    const CALLS = 40;
    const before = await statistics(t.client, 'held');
    const messages = new Map<string, number>();
    for (let i = 0; i < CALLS; i++) {
      const answer = await call();
      expect(status[answer.status], answer.message).to.equal('DEADLINE_EXCEEDED');
      messages.set(answer.message, (messages.get(answer.message) ?? 0) + 1);
    }
    expect([...messages], 'messages of every call').to.deep.equal([[QUEUE_MESSAGE, CALLS]]);
    await expectFailedWithoutRunning(before, CALLS);
  });
});
