/**
 * The pieces of the overload check, shared by `npm run overload` and its e2e test: a round of
 * callers fired at once, each timed to its outcome; a health Check every few milliseconds on a
 * connection of its own; the server's RSS sampled from /proc; the model's mean run time.
 */
import * as grpc from '@grpc/grpc-js';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { HealthPollerData, HealthPollerResult } from './health-poller-worker';
import { LatencyRecorder } from './latency-recorder';
import { readRssBytes } from './proc-stats';
import { CHANNEL_OPTIONS, INFER_PATH, STATS_PATH, methodDefinition } from './protocol';

const passThrough = (b: Buffer): Buffer => b;

/** A channel with a connection of its own: grpc-js otherwise shares one among clients of the same target and options. */
export function ownChannel(address: string): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1 });
}

export interface RoundOutcome {
  /** Milliseconds from each call's start to its answer. */
  readonly accepted: LatencyRecorder;
  /** Calls answered with the round's refusal status. */
  readonly refused: LatencyRecorder;
  /** Any other outcome, by status name. */
  readonly other: Record<string, number>;
  /** From the round's start to its last refusal: how long the burst took to be sorted. */
  readonly lastRefusalMs: number;
  readonly durationMs: number;
}

/**
 * `callers` ModelInfer calls of the same serialized request, all started at once, spread over
 * `channels`; those answered `refusal` (RESOURCE_EXHAUSTED unless told) are timed apart.
 */
export function fireRound(channels: readonly grpc.Client[], request: Buffer, callers: number, deadlineMs: number, refusal = grpc.status.RESOURCE_EXHAUSTED): Promise<RoundOutcome> {
  const accepted = new LatencyRecorder(callers);
  const refused = new LatencyRecorder(callers);
  const other: Record<string, number> = {};
  const started = performance.now();
  let lastRefusal = started;
  let pending = callers;
  return new Promise((resolve) => {
    for (let i = 0; i < callers; i++) {
      const callStarted = performance.now();
      channels[i % channels.length].makeUnaryRequest(INFER_PATH, passThrough, passThrough, request, { deadline: Date.now() + deadlineMs }, (err) => {
        const now = performance.now();
        if (!err) accepted.record(now - callStarted);
        else if (err.code === refusal) {
          refused.record(now - callStarted);
          lastRefusal = now;
        } else {
          const name = grpc.status[err.code] ?? String(err.code);
          other[name] = (other[name] ?? 0) + 1;
        }
        if (--pending === 0) resolve({ accepted, refused, other, lastRefusalMs: lastRefusal - started, durationMs: now - started });
      });
    }
  });
}

/** Health Checks every `everyMs` from a thread of their own (health-poller-worker.ts) until stopped. */
export class HealthPoller {
  private readonly worker: Worker;
  private readonly result: Promise<HealthPollerResult>;
  /** Resolves once the poller's connection is open and its timed Checks begin. */
  readonly ready: Promise<void>;

  constructor(address: string, everyMs = 10, deadlineMs = 2000) {
    this.worker = new Worker(path.join(__dirname, 'health-poller-worker.js'), { workerData: { address, everyMs, deadlineMs } satisfies HealthPollerData });
    const messages: ((message: unknown) => void)[] = [];
    this.worker.on('message', (message) => messages.shift()?.(message));
    this.ready = new Promise((resolve) => messages.push(() => resolve()));
    this.result = new Promise((resolve, reject) => {
      messages.push((message) => resolve(message as HealthPollerResult));
      this.worker.once('error', reject);
    });
  }

  /** Started and connected. */
  static async start(address: string, everyMs?: number): Promise<HealthPoller> {
    const poller = new HealthPoller(address, everyMs);
    await poller.ready;
    return poller;
  }

  /** The latencies of the Checks answered, and how many failed or passed their deadline. */
  async stop(): Promise<{ latency: LatencyRecorder; failures: number }> {
    this.worker.postMessage('stop');
    const { latenciesMs, failures } = await this.result;
    await this.worker.terminate();
    const latency = new LatencyRecorder(Math.max(1, latenciesMs.length));
    for (const ms of latenciesMs) latency.record(ms);
    return { latency, failures };
  }
}

/** The peak of a process's RSS, sampled every `everyMs` until stopped. */
export class RssSampler {
  peakBytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, everyMs = 10) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peakBytes;
  }

  private sample(): void {
    this.peakBytes = Math.max(this.peakBytes, readRssBytes(this.pid));
  }
}

interface Duration {
  readonly count?: string;
  readonly ns?: string;
}

interface StatsResponse {
  readonly model_stats?: readonly {
    readonly inference_stats?: { readonly fail?: Duration };
    readonly batch_stats?: readonly { readonly compute_infer?: Duration }[];
  }[];
}

export interface ModelRuns {
  readonly runs: number;
  readonly meanRunMs: number;
  /** Requests refused after routing (here: the queue full), and the server's mean time to refuse one. */
  readonly failures: number;
  readonly meanFailureMs: number;
}

/** `model`'s runs so far and their mean compute time, from its batch statistics; its failures, from its inference statistics. */
export function readModelRuns(address: string, model: string): Promise<ModelRuns> {
  const method = methodDefinition('ModelStatistics');
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(STATS_PATH, method.requestSerialize, method.responseDeserialize, { name: model }, (err, response) => {
      client.close();
      if (err || !response) return reject(err ?? new Error('empty ModelStatistics response'));
      const stats = (response as StatsResponse).model_stats?.[0];
      let runs = 0;
      let ns = 0;
      for (const b of stats?.batch_stats ?? []) {
        runs += Number(b.compute_infer?.count ?? 0);
        ns += Number(b.compute_infer?.ns ?? 0);
      }
      const failures = Number(stats?.inference_stats?.fail?.count ?? 0);
      const failNs = Number(stats?.inference_stats?.fail?.ns ?? 0);
      resolve({ runs, meanRunMs: runs > 0 ? ns / runs / 1e6 : NaN, failures, meanFailureMs: failures > 0 ? failNs / failures / 1e6 : NaN });
    });
  });
}
