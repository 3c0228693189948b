/**
 * ModelStreamInfer against requests held in the queue: how many of a stream's requests the server
 * takes in at once (grpc.stream_max_in_flight), and what a cancelled stream leaves behind.
 * Each model holds a lone batch for 1.5 s (max_queue_delay_microseconds), far longer than any
 * step of these tests takes, so what is queued together is known without timing anything.
 */
import { expect } from 'chai';
import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import { maxAbsDiff, startInfer, statistics, statsDelta, type Stats } from './support/batching-client';
import { affineModel, affineReference, affineRequest, serveRepository, valuesOf, type AffineOutput, type RepositoryServer } from './support/generated-models';
import { waitFor } from './support/wait-for';
import { createClient, type InferenceClient } from './support/server';

const WIDTH = 4;
const Y: AffineOutput = { name: 'y', scale: 3, bias: -2 };
const MAX_IN_FLIGHT = 4;
const held = { max_batch_size: 64, dynamic_batching: { max_queue_delay_microseconds: 1_500_000 } };

interface StreamResponse {
  error_message?: string;
  infer_response?: { id?: string };
}

describe('e2e ModelStreamInfer with requests held in the queue', function () {
  this.timeout(30_000);
  let t: RepositoryServer;
  let other: InferenceClient;
  let stream: ClientDuplexStream<object, Record<string, unknown>> | undefined;

  before(async () => {
    const onnx = affineModel([WIDTH], [Y]);
    t = await serveRepository(
      [
        { name: 'held_bound', config: held, versions: new Map([[1, onnx]]) },
        { name: 'held_cancel', config: held, versions: new Map([[1, onnx]]) },
        // No batching: a request to it runs as soon as the server reads it.
        { name: 'instant', config: { max_batch_size: 0 }, versions: new Map([[1, onnx]]) },
      ],
      { GRPC_STREAM_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT) },
    );
    other = createClient(t.port);
  });

  afterEach(() => {
    stream?.cancel();
    stream = undefined;
  });

  after(async () => {
    other?.close();
    await t?.stop();
  });

  /** A stream whose responses land in `responses`; its CANCELLED end, which the tests cause, is expected. */
  function openStream(responses: StreamResponse[]): ClientDuplexStream<object, Record<string, unknown>> {
    const call = t.client.stream();
    call.on('data', (r: StreamResponse) => responses.push(r));
    call.on('error', (err: { code?: number }) => {
      if (err.code !== status.CANCELLED) throw err;
    });
    return call;
  }

  const stats = (model: string): Promise<Stats> => statistics(t.client, model);
  const request = (model: string, i: number): object => affineRequest(model, [1, WIDTH], valuesOf(i, WIDTH), { id: `s-${i}` });

  it(`takes exactly grpc.stream_max_in_flight (${MAX_IN_FLIGHT}) requests of a stream into the queue at once`, async () => {
    const before = await stats('held_bound');
    const responses: StreamResponse[] = [];
    stream = openStream(responses);
    // Far more than the bound, all written at once: the server reads the first 4 and stops reading.
    for (let i = 0; i < 3 * MAX_IN_FLIGHT; i++) stream.write(request('held_bound', i));

    // The first batch leaves when the delay runs out, holding every request the stream let in.
    await waitFor('the first four answers', async () => responses.length, (n) => n >= MAX_IN_FLIGHT);
    const d = statsDelta(await stats('held_bound'), before);
    expect(responses.slice(0, MAX_IN_FLIGHT).map((r) => r.infer_response?.id)).to.deep.equal(['s-0', 's-1', 's-2', 's-3']);
    expect(responses.filter((r) => r.error_message)).to.have.length(0);
    expect([...d.batches], 'batch_stats: every run held exactly 4 rows').to.deep.equal([[MAX_IN_FLIGHT, d.executionCount]]);
  });

  it("drops a cancelled stream's queued requests without running them, and still serves another client's request queued beside them", async () => {
    const beforeHeld = await stats('held_cancel');
    const beforeInstant = await stats('instant');
    const x = valuesOf(99, WIDTH);
    const otherOutcome = startInfer(other, affineRequest('held_cancel', [1, WIDTH], x, { id: 'other' })).outcome;

    stream = openStream([]);
    for (let i = 0; i < 3; i++) stream.write(request('held_cancel', i));
    // The server handles a stream's messages in order: once this one has run, the three are queued.
    stream.write(request('instant', 3));
    await waitFor('the stream request to instant to run', async () => statsDelta(await stats('instant'), beforeInstant).success.count, (n) => n === 1);
    stream.cancel();

    // All four held_cancel requests settle one way or the other: the three dropped at once, the other after the delay.
    const d = await waitFor(
      'every held_cancel request to settle',
      async () => statsDelta(await stats('held_cancel'), beforeHeld),
      (s) => s.fail.count + s.success.count >= 4,
    );
    expect(d.fail.count, "failures: the stream's three requests").to.equal(3);
    expect(d.success.count, "successes: the other client's request").to.equal(1);
    expect(d.executionCount, 'runs').to.equal(1);
    expect([...d.batches], "batch_stats: the other client's row ran alone").to.deep.equal([[1, 1]]);
    expect(d.inferenceCount).to.equal(1);

    const o = await otherOutcome;
    expect(status[o.code], o.details).to.equal('OK');
    expect(o.id).to.equal('other');
    expect(maxAbsDiff(o.outputs.get('y')!.data, affineReference(x, Y))).to.be.below(1e-5);
  });
});
