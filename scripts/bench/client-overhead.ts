/**
 * What the typed client (src/client/) costs its caller on top of grpc-js: the same
 * bench-model ModelInfer (one FP32 row as raw_input_contents) made from this
 * process (a) on a plain grpc-js client loaded from proto/ with a request object built per
 * call, and (b) through InferenceClient.infer, against the bare grpc-js server (no inference,
 * so the server's cost is the same for both). The figure is this process's own CPU per call
 * (process.cpuUsage), which holds the grpc-js and HTTP/2 work both share plus what the client
 * adds: encoding, the retry and deadline wrapper, the promise, decoding the outputs.
 * Six rounds alternate which side goes first, so a drift on the machine hits both alike.
 */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { InferenceClient } from '../../src/client';
import { CHANNEL_OPTIONS, benchModel, packageDefinition } from './protocol';

export type ClientSide = 'raw' | 'client';

export interface ClientOverheadRun {
  readonly side: ClientSide;
  readonly concurrency: number;
  readonly calls: number;
  /** This process's user + system CPU over the run, µs. */
  readonly cpuUs: number;
  readonly wallMs: number;
}

export interface ClientOverhead {
  readonly concurrency: number;
  /** Calls per side over all rounds. */
  readonly calls: number;
  readonly rawCpuUsPerCall: number;
  readonly clientCpuUsPerCall: number;
  /** client / raw CPU per call. */
  readonly cpuRatio: number;
  readonly rawCallsPerSec: number;
  readonly clientCallsPerSec: number;
  readonly rawWallUsPerCall: number;
  readonly clientWallUsPerCall: number;
  /** client / raw CPU per call in each round, in order, and their median. */
  readonly roundRatios: readonly number[];
  readonly medianRoundRatio: number;
}

export const CLIENT_CONCURRENCY = [1, 16] as const;
/** Short rounds, many of them: c=1's CPU per call swings with how the cores sleep and wake. */
const ROUNDS = 6;
const DEADLINE_MS = 20_000;

/** Per concurrency: totals over the rounds (every call weighs the same), and each round's ratio. */
export function summarizeOverhead(runs: readonly ClientOverheadRun[]): ClientOverhead[] {
  const levels = [...new Set(runs.map((r) => r.concurrency))].sort((a, b) => a - b);
  return levels.map((concurrency) => {
    const of = (side: ClientSide): ClientOverheadRun[] => runs.filter((r) => r.concurrency === concurrency && r.side === side);
    const total = (side: ClientSide): { calls: number; cpuUs: number; wallMs: number } =>
      of(side).reduce((t, r) => ({ calls: t.calls + r.calls, cpuUs: t.cpuUs + r.cpuUs, wallMs: t.wallMs + r.wallMs }), { calls: 0, cpuUs: 0, wallMs: 0 });
    const [raw, client] = [total('raw'), total('client')];
    const rawCpu = raw.cpuUs / raw.calls;
    const clientCpu = client.cpuUs / client.calls;
    const [rawRounds, clientRounds] = [of('raw'), of('client')];
    const roundRatios = clientRounds.map((c, i) => (rawRounds[i] ? c.cpuUs / c.calls / (rawRounds[i].cpuUs / rawRounds[i].calls) : NaN));
    return {
      concurrency,
      calls: Math.min(raw.calls, client.calls),
      rawCpuUsPerCall: rawCpu,
      clientCpuUsPerCall: clientCpu,
      cpuRatio: clientCpu / rawCpu,
      rawCallsPerSec: raw.calls / (raw.wallMs / 1000),
      clientCallsPerSec: client.calls / (client.wallMs / 1000),
      rawWallUsPerCall: (raw.wallMs * 1000) / raw.calls,
      clientWallUsPerCall: (client.wallMs * 1000) / client.calls,
      roundRatios,
      medianRoundRatio: median(roundRatios),
    };
  });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

type Unary = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/** `calls` calls, `concurrency` at a time; this process's CPU and the wall time over them. */
async function timed(side: ClientSide, concurrency: number, calls: number, call: () => Promise<unknown>): Promise<ClientOverheadRun> {
  let issued = 0;
  const lane = async (): Promise<void> => {
    while (issued < calls) {
      issued++;
      await call();
    }
  };
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, lane));
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { side, concurrency, calls, cpuUs: used.user + used.system, wallMs };
}

/** `callsPerSide` calls per side and concurrency, spread over the rounds. */
export async function measureClientOverhead(address: string, callsPerSide: number, onProgress: (run: ClientOverheadRun, round: number) => void): Promise<ClientOverhead[]> {
  const { name, input, row: features } = benchModel();
  // The raw side: what a caller writes without the typed client (proto-loader objects, a callback).
  const Service = (grpc.loadPackageDefinition(packageDefinition()).inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;
  const raw = new Service(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  // grpc-js attaches the RPCs from the proto at run time; index it by name.
  const modelInfer = (raw as unknown as Record<string, Unary>).ModelInfer;
  const rawCall = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const request = {
        model_name: name,
        inputs: [{ name: input, datatype: 'FP32', shape: [1, features.length] }],
        raw_input_contents: [Buffer.from(features.buffer, features.byteOffset, features.byteLength)],
      };
      modelInfer.call(raw, request, new grpc.Metadata(), { deadline: Date.now() + DEADLINE_MS }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  const client = new InferenceClient(address, { deadlineMs: DEADLINE_MS });
  const clientCall = (): Promise<unknown> => client.infer(name, { [input]: features }, { shape: [1, features.length] });
  const sides: Record<ClientSide, () => Promise<unknown>> = { raw: rawCall, client: clientCall };
  const runs: ClientOverheadRun[] = [];
  try {
    // Warm-up: connections, JIT of both paths; not measured.
    for (const side of ['raw', 'client'] as const) await timed(side, 16, Math.min(2000, callsPerSide), sides[side]);
    const perRound = Math.max(1, Math.ceil(callsPerSide / ROUNDS));
    for (let round = 1; round <= ROUNDS; round++) {
      const order: ClientSide[] = round % 2 === 1 ? ['raw', 'client'] : ['client', 'raw'];
      for (const concurrency of CLIENT_CONCURRENCY) {
        for (const side of order) {
          const run = await timed(side, concurrency, perRound, sides[side]);
          runs.push(run);
          onProgress(run, round);
        }
      }
    }
  } finally {
    client.close();
    raw.close();
  }
  return summarizeOverhead(runs);
}
