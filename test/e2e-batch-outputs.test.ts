/**
 * Requests that share one model run but ask for different outputs: the run must compute every
 * output some request asked for, and each request gets exactly its own.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { maxAbsDiff, startInfer, statistics, statsDelta } from './support/batching-client';
import { affineModel, affineReference, affineRequest, serveRepository, valuesOf, type AffineOutput, type RepositoryServer } from './support/generated-models';

const Y1: AffineOutput = { name: 'y1', scale: 2, bias: 1 };
const Y2: AffineOutput = { name: 'y2', scale: -3, bias: 0.5 };
const WIDTH = 4;

describe('e2e batching of requests asking for different outputs', function () {
  this.timeout(30_000);
  let t: RepositoryServer;

  before(async () => {
    t = await serveRepository([
      {
        name: 'two_outputs',
        // Four one-row requests fill a batch; until then the first waits 1.5 s, far longer than
        // sending the other three takes, so all four share one run on any machine.
        config: { max_batch_size: 4, dynamic_batching: { max_queue_delay_microseconds: 1_500_000 } },
        versions: new Map([[1, affineModel([WIDTH], [Y1, Y2])]]),
      },
    ]);
  });

  after(async () => t?.stop());

  it('gives each of four requests batched into one run exactly the outputs it asked for, with their values', async () => {
    // Each asks for one output only, so whichever request the batch starts with, some other asks for the other one.
    const asked = [[Y1], [Y2], [Y1], [Y2]];
    const inputs = asked.map((_, i) => valuesOf(10 + i, WIDTH));
    const before = await statistics(t.client, 'two_outputs');
    const outcomes = await Promise.all(
      asked.map((outputs, i) => startInfer(t.client, affineRequest('two_outputs', [1, WIDTH], inputs[i], { id: `r${i}`, outputs: outputs.map((o) => o.name) })).outcome),
    );
    const d = statsDelta(await statistics(t.client, 'two_outputs'), before);

    expect([...d.batches], 'batch_stats: the four requests ran as one batch of 4').to.deep.equal([[4, 1]]);
    outcomes.forEach((o, i) => {
      const want = asked[i];
      expect(status[o.code], `request ${i}: ${o.details}`).to.equal('OK');
      expect(o.id).to.equal(`r${i}`);
      expect([...o.outputs.keys()], `outputs of request ${i}`).to.deep.equal(want.map((w) => w.name));
      for (const w of want) {
        const got = o.outputs.get(w.name)!;
        expect(got.shape).to.deep.equal([1, WIDTH]);
        expect(maxAbsDiff(got.data, affineReference(inputs[i], w)), `${w.name} of request ${i}`).to.be.below(1e-5);
      }
    });
  });
});
