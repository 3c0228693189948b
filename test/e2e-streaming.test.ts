/** ModelStreamInfer end to end on stock_scorer: order, in-stream errors, clean end, statistics. */
import { expect } from 'chai';
import { status, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import { startTestServer, fp32Bytes, type TestServer } from './support/server';
import { maxAbsDiff, outputsOf, rowsOf, startInfer, statistics, statsDelta, type Outcome } from './support/batching-client';

interface StreamResponse {
  error_message?: string;
  infer_response?: { id?: string; model_name?: string; outputs?: { name: string; shape: string[] }[]; raw_output_contents?: Buffer[] };
}

interface StreamResult {
  readonly responses: StreamResponse[];
  readonly status: StatusObject;
  readonly ended: boolean;
}

const rowsFor = (i: number): number => 1 + (i % 5);

function request(i: number, input = 'features'): object {
  const x = rowsOf(i + 100, rowsFor(i), 8);
  return {
    model_name: 'stock_scorer',
    id: `s-${i}`,
    inputs: [{ name: input, datatype: 'FP32', shape: [rowsFor(i), 8] }],
    raw_input_contents: [fp32Bytes(x)],
  };
}

/** Writes every request at once, ends the client side, and collects until the server ends. */
function runStream(t: TestServer, requests: readonly object[]): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const call: ClientDuplexStream<object, Record<string, unknown>> = t.client.stream();
    const responses: StreamResponse[] = [];
    let ended = false;
    let finalStatus: StatusObject | undefined;
    const finish = (): void => {
      if (ended && finalStatus) resolve({ responses, status: finalStatus, ended });
    };
    call.on('data', (r: StreamResponse) => responses.push(r));
    call.on('error', reject);
    call.on('end', () => {
      ended = true;
      finish();
    });
    call.on('status', (s: StatusObject) => {
      finalStatus = s;
      finish();
    });
    for (const r of requests) call.write(r);
    call.end();
  });
}

describe('e2e ModelStreamInfer', function () {
  this.timeout(30_000);
  let t: TestServer;
  const N = 50;
  /** Each request sent alone over ModelInfer, for comparison. */
  let unary: Outcome[];

  before(async () => {
    t = await startTestServer();
    unary = [];
    for (let i = 0; i < N; i++) unary.push(await startInfer(t.client, request(i)).outcome);
    for (const o of unary) expect(o.code, o.details).to.equal(status.OK);
  });

  after(async () => t?.stop());

  function expectLikeUnary(r: StreamResponse, i: number): void {
    expect(r.error_message ?? '', `request ${i}`).to.equal('');
    expect(r.infer_response?.id).to.equal(`s-${i}`);
    const outputs = outputsOf(r.infer_response);
    for (const name of ['score', 'standardized']) {
      const got = outputs.get(name);
      const want = unary[i].outputs.get(name)!;
      expect(got?.shape, `${name} of request ${i}`).to.deep.equal(want.shape);
      expect(maxAbsDiff(got!.data, want.data), `${name} of request ${i}`).to.be.below(1e-5);
    }
  }

  it('answers 50 requests written at once in the order of their ids, with the outputs of unary calls', async () => {
    const before = await statistics(t.client, 'stock_scorer');
    const result = await runStream(t, Array.from({ length: N }, (_, i) => request(i)));
    expect(result.status.code).to.equal(status.OK);
    expect(result.responses.map((r) => r.infer_response?.id)).to.deep.equal(Array.from({ length: N }, (_, i) => `s-${i}`));
    result.responses.forEach((r, i) => expectLikeUnary(r, i));

    const d = statsDelta(await statistics(t.client, 'stock_scorer'), before);
    const rows = Array.from({ length: N }, (_, i) => rowsFor(i)).reduce((a, b) => a + b, 0);
    expect(d.success.count, 'every streamed request counted').to.equal(N);
    expect(d.fail.count).to.equal(0);
    expect(d.inferenceCount, 'inference_count counts the streamed rows').to.equal(rows);
    expect(d.executionCount).to.be.within(Math.ceil(rows / 64), N);
    expect([...d.batches].reduce((sum, [size, count]) => sum + size * count, 0)).to.equal(rows);
  });

  it('answers a bad request in the middle with an in-stream error_message and its id, and serves the rest', async () => {
    const before = await statistics(t.client, 'stock_scorer');
    const BAD = 10;
    const requests = Array.from({ length: 21 }, (_, i) => (i === BAD ? request(i, 'no_such_input') : request(i)));
    const result = await runStream(t, requests);
    expect(result.status.code, 'the stream itself succeeds').to.equal(status.OK);
    expect(result.responses).to.have.length(21);
    const bad = result.responses[BAD];
    expect(bad.error_message).to.be.a('string').and.match(/no_such_input/);
    expect(bad.infer_response?.id).to.equal(`s-${BAD}`);
    expect(bad.infer_response?.model_name).to.equal('stock_scorer');
    expect(bad.infer_response?.outputs ?? []).to.have.length(0);
    result.responses.forEach((r, i) => {
      if (i !== BAD) expectLikeUnary(r, i);
    });
    const d = statsDelta(await statistics(t.client, 'stock_scorer'), before);
    expect(d.success.count).to.equal(20);
    expect(d.fail.count).to.equal(1);
    const goodRows = Array.from({ length: 21 }, (_, i) => (i === BAD ? 0 : rowsFor(i))).reduce((a, b) => a + b, 0);
    expect(d.inferenceCount, 'the bad request never ran').to.equal(goodRows);
  });

  it('stops reading from a client that does not read its responses, then serves every request once it does', async () => {
    const M = 4000;
    const before = await statistics(t.client, 'stock_scorer');
    const call = t.client.stream();
    const responses: StreamResponse[] = [];
    const outcome = new Promise<StatusObject | Error>((resolve) => {
      call.on('status', resolve);
      call.on('error', resolve);
    });
    // Reading starts and stops at once: grpc-js then keeps 16 responses and lets HTTP/2 flow control hold the rest.
    call.on('data', (r: StreamResponse) => responses.push(r));
    call.pause();
    for (let i = 0; i < M; i++) call.write(request(i));
    call.end();
    let served = -1;
    for (let settled = 0; settled < 3; ) {
      await new Promise((r) => setTimeout(r, 100));
      const d = statsDelta(await statistics(t.client, 'stock_scorer'), before);
      const total = d.success.count + d.fail.count;
      settled = total === served ? settled + 1 : 0;
      served = total;
    }
    if (served >= M / 2) call.cancel();
    expect(served, 'requests the server took while nobody read its answers').to.be.above(0).and.below(M / 2);

    call.resume();
    const end = await outcome;
    expect(end).to.not.be.instanceOf(Error);
    expect((end as StatusObject).code).to.equal(status.OK);
    expect(responses.filter((r) => r.error_message), 'no request was refused').to.have.length(0);
    expect(responses.map((r) => r.infer_response?.id)).to.deep.equal(Array.from({ length: M }, (_, i) => `s-${i}`));
  });

  it('ends cleanly with status OK when the client ends, with requests in flight or none', async () => {
    const some = await runStream(t, [request(0), request(1), request(2)]);
    expect(some.ended).to.equal(true);
    expect(some.status.code).to.equal(status.OK);
    expect(some.responses.map((r) => r.infer_response?.id)).to.deep.equal(['s-0', 's-1', 's-2']);
    const none = await runStream(t, []);
    expect(none.ended).to.equal(true);
    expect(none.status.code).to.equal(status.OK);
    expect(none.responses).to.have.length(0);
  });
});

describe('e2e ModelStreamInfer in-flight bound', function () {
  this.timeout(30_000);
  let t: TestServer;

  // A queue of 8 would refuse most of 500 requests sent at once, unless the stream holds them back.
  before(async () => {
    t = await startTestServer({ GRPC_STREAM_MAX_IN_FLIGHT: '4', DEFAULT_MAX_QUEUE_SIZE: '8' });
  });

  after(async () => t?.stop());

  it('reads no more of a stream than grpc.stream_max_in_flight unanswered requests', async () => {
    const M = 500;
    const result = await runStream(t, Array.from({ length: M }, (_, i) => request(i)));
    expect(result.status.code).to.equal(status.OK);
    expect(result.responses.filter((r) => r.error_message), 'requests refused by the full queue').to.have.length(0);
    expect(result.responses.map((r) => r.infer_response?.id)).to.deep.equal(Array.from({ length: M }, (_, i) => `s-${i}`));
  });
});
