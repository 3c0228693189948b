/** Reads the bench model's ModelStatistics over gRPC: the counters that give the mean batch size. */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, STATS_PATH, benchModel, methodDefinition } from './protocol';

export interface BatchCounters {
  /** Rows served. */
  readonly inferenceCount: number;
  /** Model runs. */
  readonly executionCount: number;
}

interface StatsResponse {
  readonly model_stats?: readonly { readonly inference_count?: string; readonly execution_count?: string }[];
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
        const stats = (response as StatsResponse).model_stats?.[0];
        resolve({ inferenceCount: Number(stats?.inference_count ?? 0), executionCount: Number(stats?.execution_count ?? 0) });
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Rows per model run between two readings. */
export function meanBatchSize(before: BatchCounters, after: BatchCounters): number {
  const runs = after.executionCount - before.executionCount;
  return runs > 0 ? (after.inferenceCount - before.inferenceCount) / runs : NaN;
}
