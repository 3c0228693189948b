/**
 * What handing a batch to a session worker costs beyond the run: the server's own round
 * trip (ModelInstance and the real session worker) back to back, then with the worker left
 * idle between batches, as it is between the server's batches under load (and before every
 * request at c=1). Thread CPU comes from schedstat (proc-stats.ts); the round trip's wall time
 * is what a lone request pays for the hop on top of the run.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelInstance } from '../../src/runtime/model-instance';
import { LatencyRecorder } from './latency-recorder';
import { sessionSettings } from './ort-ceiling';
import { readOwnThreadRunNanos } from './proc-stats';
import { benchModel } from './protocol';

export interface HandoffCost {
  readonly batchSize: number;
  /** Idle time between batches; 0 is back to back. */
  readonly gapMs: number;
  readonly batchesPerSec: number;
  /** Wall time from posting the batch to holding its outputs. */
  readonly p50Ms: number;
  readonly p90Ms: number;
  /** The event-loop thread's CPU per batch: post, receive, settle. */
  readonly mainUsPerBatch: number;
  /** Every other thread: the session worker with its run, and V8's helpers. */
  readonly otherUsPerBatch: number;
}

export async function measureHandoff(batchSize: number, gapsMs: readonly number[], seconds: number, onProgress: (done: HandoffCost) => void): Promise<HandoffCost[]> {
  const { file, width } = benchModel();
  const instance = new ModelInstance({ modelPath: file, providers: ['cpu'], ...sessionSettings });
  const results: HandoffCost[] = [];
  try {
    const session = await instance.loaded;
    const input = session.inputs[0].name;
    const fetches = session.outputs.map((o) => o.name);
    const latency = new LatencyRecorder(1 << 16);
    const runOnce = async (): Promise<void> => {
      const data = new Float32Array(batchSize * width).fill(0.5);
      const posted = performance.now();
      await instance.run({ [input]: { type: 'float32', dims: [batchSize, width], data } }, fetches, [data.buffer]);
      latency.record(performance.now() - posted);
    };
    const warmUntil = performance.now() + 500;
    while (performance.now() < warmUntil) await runOnce();
    const main = String(process.pid);
    for (const gapMs of gapsMs) {
      latency.reset();
      const before = readOwnThreadRunNanos();
      const started = performance.now();
      let batches = 0;
      while (performance.now() - started < seconds * 1000) {
        await runOnce();
        batches++;
        if (gapMs > 0) await sleep(gapMs);
      }
      const elapsed = (performance.now() - started) / 1000;
      let mainNs = 0;
      let otherNs = 0;
      for (const [tid, ns] of readOwnThreadRunNanos()) {
        const used = ns - (before.get(tid) ?? 0);
        if (tid === main) mainNs = used;
        else otherNs += used;
      }
      const { p50Ms, p90Ms } = latency.summary();
      const result = { batchSize, gapMs, batchesPerSec: batches / elapsed, p50Ms, p90Ms, mainUsPerBatch: mainNs / 1000 / batches, otherUsPerBatch: otherNs / 1000 / batches };
      results.push(result);
      onProgress(result);
    }
  } finally {
    await instance.close();
  }
  return results;
}
