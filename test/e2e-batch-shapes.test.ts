/**
 * The dynamic batcher never merges requests whose non-batch shapes differ in any dimension,
 * not only the first: a 3-D input [batch, 3, n] with n variable, requests [1,3,4] and [1,3,5].
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { maxAbsDiff, startInfer, statistics, statsDelta } from './support/batching-client';
import { affineModel, affineReference, affineRequest, serveRepository, valuesOf, type AffineOutput, type RepositoryServer } from './support/generated-models';

const Y: AffineOutput = { name: 'y', scale: 2, bias: 1 };

describe('e2e batching of requests whose trailing dimensions differ', function () {
  this.timeout(30_000);
  let t: RepositoryServer;

  before(async () => {
    t = await serveRepository([
      {
        name: 'cube',
        // Two rows fill a batch at once; a lone request waits 1.5 s, far longer than the test needs
        // to send both, so on any machine the two are in the queue together.
        config: { max_batch_size: 2, dynamic_batching: { max_queue_delay_microseconds: 1_500_000 } },
        versions: new Map([[1, affineModel([3, 'n'], [Y])]]),
      },
    ]);
  });

  after(async () => t?.stop());

  it('runs a [1,3,4] and a [1,3,5] request sent together separately, each answered in its own shape', async () => {
    const shapes = [
      [1, 3, 4],
      [1, 3, 5],
    ];
    const inputs = shapes.map((shape, i) => valuesOf(i + 1, shape.reduce((a, b) => a * b, 1)));
    const before = await statistics(t.client, 'cube');
    // Together they would fill max_batch_size: only their shapes keep them apart.
    const outcomes = await Promise.all(shapes.map((shape, i) => startInfer(t.client, affineRequest('cube', shape, inputs[i], { id: `r${i}` })).outcome));
    const d = statsDelta(await statistics(t.client, 'cube'), before);

    outcomes.forEach((o, i) => {
      expect(status[o.code], `request ${shapes[i].join('x')}: ${o.details}`).to.equal('OK');
      expect(o.id).to.equal(`r${i}`);
      const y = o.outputs.get('y');
      expect(y?.shape, `shape of y for ${shapes[i].join('x')}`).to.deep.equal(shapes[i]);
      expect(maxAbsDiff(y!.data, affineReference(inputs[i], Y)), `values of y for ${shapes[i].join('x')}`).to.be.below(1e-5);
    });
    expect(d.executionCount, 'one run per shape').to.equal(2);
    expect([...d.batches], 'batch_stats: two runs of one row, never one of two').to.deep.equal([[1, 2]]);
  });
});
