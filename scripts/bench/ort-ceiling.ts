/**
 * The inference ceiling: ONNX Runtime in this process on the same model file with the
 * server's session options, one run after another at each batch size, no gRPC, no queue,
 * no worker thread.
 */
import * as ort from '../../src/runtime/onnxruntime';
import { performance } from 'node:perf_hooks';
import { summarize } from './latency-recorder';
import { benchModel } from './protocol';
import type { GraphOptimizationLevel } from '../../src/config/schema';

export interface OrtCeiling {
  readonly batchSize: number;
  readonly runs: number;
  readonly runsPerSec: number;
  readonly rowsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** This process's CPU per run, intra-op threads included. */
  readonly cpuUsPerRun: number;
}

/** The server's session settings: the same environment variables as its config, with its defaults. */
export const sessionSettings = {
  intraOpThreads: Number(process.env.ORT_INTRA_OP_THREADS ?? 1),
  graphOptimizationLevel: (process.env.ORT_GRAPH_OPTIMIZATION_LEVEL ?? 'all') as GraphOptimizationLevel,
};

/** As src/runtime/session-worker.ts builds them. */
function sessionOptions(): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    ...(sessionSettings.intraOpThreads > 0 && { intraOpNumThreads: sessionSettings.intraOpThreads }),
    interOpNumThreads: 1,
    graphOptimizationLevel: sessionSettings.graphOptimizationLevel,
    logSeverityLevel: 4,
  };
}

export async function measureOrtCeilings(batchSizes: readonly number[], seconds: number, onProgress: (done: OrtCeiling) => void): Promise<OrtCeiling[]> {
  const { file, input, width } = benchModel();
  const session = await ort.InferenceSession.create(file, sessionOptions());
  const results: OrtCeiling[] = [];
  try {
    for (const batchSize of batchSizes) {
      const data = new Float32Array(batchSize * width);
      for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 97) / 97;
      const feeds = { [input]: new ort.Tensor('float32', data, [batchSize, width]) };
      const warmUntil = performance.now() + 300;
      while (performance.now() < warmUntil) await session.run(feeds);

      const latencies: number[] = [];
      const cpu = process.cpuUsage();
      const started = performance.now();
      const until = started + seconds * 1000;
      let now = started;
      while (now < until) {
        const t0 = now;
        await session.run(feeds);
        now = performance.now();
        latencies.push(now - t0);
      }
      const elapsed = (now - started) / 1000;
      const used = process.cpuUsage(cpu);
      const summary = summarize(Float64Array.from(latencies));
      const result: OrtCeiling = {
        batchSize,
        runs: latencies.length,
        runsPerSec: latencies.length / elapsed,
        rowsPerSec: (latencies.length * batchSize) / elapsed,
        p50Ms: summary.p50Ms,
        p99Ms: summary.p99Ms,
        cpuUsPerRun: (used.user + used.system) / latencies.length,
      };
      results.push(result);
      onProgress(result);
    }
  } finally {
    await session.release();
  }
  return results;
}
