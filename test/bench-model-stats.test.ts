import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { batchCounters, batchTimes, meanBatchSize, ModelStatsClient, type BatchCounters } from '../scripts/bench/model-stats-client';
import { infer, rowsOf } from './support/batching-client';
import { startTestServer, type TestServer } from './support/server';

const counters = (executionCount: number, inferenceCount: number, inputNs: number, inferNs: number, outputNs: number): BatchCounters => ({ executionCount, inferenceCount, inputNs, inferNs, outputNs });

describe('bench: ModelStatistics counters per batch', () => {
  it('sums compute_input, compute_infer and compute_output over every batch size, from proto-loader strings', () => {
    const c = batchCounters({
      model_stats: [
        {
          inference_count: '30',
          execution_count: '3',
          batch_stats: [
            { compute_input: { ns: '1000' }, compute_infer: { ns: '20000' }, compute_output: { ns: '3000' } },
            { compute_input: { ns: '500' }, compute_infer: { ns: '7000' } },
          ],
        },
      ],
    });
    expect(c).to.deep.equal({ inferenceCount: 30, executionCount: 3, inputNs: 1500, inferNs: 27000, outputNs: 3000 });
    expect(batchCounters({})).to.deep.equal(counters(0, 0, 0, 0, 0));
  });

  it('gives the run and the time around it per run between two readings, NaN without a run', () => {
    const before = counters(10, 100, 1e6, 2e6, 3e6);
    // 4 runs of 5 rows: 0.5 ms of run each, 1 ms of input and 1.5 ms of output each.
    const after = counters(14, 120, 5e6, 4e6, 9e6);
    expect(meanBatchSize(before, after)).to.equal(5);
    expect(batchTimes(before, after)).to.deep.equal({ runMs: 0.5, aroundMs: 2.5 });
    const none = batchTimes(after, after);
    expect(none.runMs).to.be.NaN;
    expect(none.aroundMs).to.be.NaN;
  });

  describe('against the real server', () => {
    let ts: TestServer;
    let stats: ModelStatsClient;

    before(async () => {
      ts = await startTestServer();
      stats = new ModelStatsClient(`127.0.0.1:${ts.port}`);
    });

    after(async () => {
      stats.close();
      await ts.stop();
    });

    it('reads the bench model\'s counters, and a batch spends time both in its run and around it', async () => {
      const before = await stats.read();
      for (let i = 0; i < 5; i++) {
        const outcome = await infer(ts.client, 'stock_scorer', rowsOf(i, 3, 8), 8, { input: 'features' });
        expect(outcome.code, outcome.details).to.equal(grpc.status.OK);
      }
      const after = await stats.read();
      expect(after.executionCount - before.executionCount).to.equal(5);
      expect(meanBatchSize(before, after)).to.equal(3);
      const { runMs, aroundMs } = batchTimes(before, after);
      expect(runMs).to.be.greaterThan(0);
      // Merge, the worker round trip beyond the run, and split take some time too.
      expect(aroundMs).to.be.greaterThan(0);
    });
  });
});
