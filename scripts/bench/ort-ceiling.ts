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

export interface TimedRuns {
  readonly runs: number;
  /** Wall time of the measured runs. */
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** This process's CPU over the measured runs, every thread. */
  readonly cpuUs: number;
}

/**
 * Runs `feeds` one after another for about `seconds` (at least 3 runs), after `warmMs` of runs
 * that are not measured (a new shape may start with an allocation or an algorithm search).
 */
export async function timeRuns(session: ort.InferenceSession, feeds: ort.InferenceSession.FeedsType, seconds: number, warmMs: number): Promise<TimedRuns> {
  const warmUntil = performance.now() + warmMs;
  for (let i = 0; i < 2 || performance.now() < warmUntil; i++) await session.run(feeds);
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  const until = started + seconds * 1000;
  let now = started;
  while (now < until || latencies.length < 3) {
    const t0 = now;
    await session.run(feeds);
    now = performance.now();
    latencies.push(now - t0);
  }
  const used = process.cpuUsage(cpu);
  const summary = summarize(Float64Array.from(latencies));
  return { runs: latencies.length, seconds: (now - started) / 1000, p50Ms: summary.p50Ms, p99Ms: summary.p99Ms, meanMs: summary.meanMs, cpuUs: used.user + used.system };
}

export function ceilingRow(batchSize: number, timed: TimedRuns): OrtCeiling {
  return {
    batchSize,
    runs: timed.runs,
    runsPerSec: timed.runs / timed.seconds,
    rowsPerSec: (timed.runs * batchSize) / timed.seconds,
    p50Ms: timed.p50Ms,
    p99Ms: timed.p99Ms,
    cpuUsPerRun: timed.cpuUs / timed.runs,
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
      const timed = await timeRuns(session, feeds, seconds, 300);
      const result = ceilingRow(batchSize, timed);
      results.push(result);
      onProgress(result);
    }
  } finally {
    await session.release();
  }
  return results;
}
