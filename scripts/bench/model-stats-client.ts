/**
 * Reads the bench model's ModelStatistics over gRPC: the counters that give the mean batch size,
 * and the time a batch spends in its run and around it.
 */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, STATS_PATH, benchModel, methodDefinition } from './protocol';

export interface BatchCounters {
  /** Rows served. */
  readonly inferenceCount: number;
  /** Model runs. */
  readonly executionCount: number;
  /** Summed over every run (batch_stats): compute_input, compute_infer and compute_output. */
  readonly inputNs: number;
  readonly inferNs: number;
  readonly outputNs: number;
}

interface WireDuration {
  readonly ns?: string;
}

export interface StatsResponse {
  readonly model_stats?: readonly {
    readonly inference_count?: string;
    readonly execution_count?: string;
    readonly batch_stats?: readonly { readonly compute_input?: WireDuration; readonly compute_infer?: WireDuration; readonly compute_output?: WireDuration }[];
  }[];
}

export class ModelStatsClient {
  private readonly client: grpc.Client;
  private readonly method = methodDefinition('ModelStatistics');

  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  read(): Promise<BatchCounters> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(STATS_PATH, this.method.requestSerialize, this.method.responseDeserialize, { name: benchModel().name }, (err, response) => {
        if (err || !response) return reject(err ?? new Error('empty ModelStatistics response'));
        resolve(batchCounters(response as StatsResponse));
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

/** The first model's counters (the bench serves one), uint64s as proto-loader gives them: strings. */
export function batchCounters(response: StatsResponse): BatchCounters {
  const stats = response.model_stats?.[0];
  let inputNs = 0;
  let inferNs = 0;
  let outputNs = 0;
  for (const b of stats?.batch_stats ?? []) {
    inputNs += Number(b.compute_input?.ns ?? 0);
    inferNs += Number(b.compute_infer?.ns ?? 0);
    outputNs += Number(b.compute_output?.ns ?? 0);
  }
  return { inferenceCount: Number(stats?.inference_count ?? 0), executionCount: Number(stats?.execution_count ?? 0), inputNs, inferNs, outputNs };
}

/** Rows per model run between two readings. */
export function meanBatchSize(before: BatchCounters, after: BatchCounters): number {
  const runs = after.executionCount - before.executionCount;
  return runs > 0 ? (after.inferenceCount - before.inferenceCount) / runs : NaN;
}

/** Wall time per run between two readings, in ms: the run itself, and around it (merge, the hand-off both ways, split). */
export interface BatchTimes {
  readonly runMs: number;
  readonly aroundMs: number;
}

export function batchTimes(before: BatchCounters, after: BatchCounters): BatchTimes {
  const runs = after.executionCount - before.executionCount;
  if (runs <= 0) return { runMs: NaN, aroundMs: NaN };
  const perRunMs = (ns: number): number => ns / runs / 1e6;
  return {
    runMs: perRunMs(after.inferNs - before.inferNs),
    aroundMs: perRunMs(after.inputNs - before.inputNs + after.outputNs - before.outputNs),
  };
}
