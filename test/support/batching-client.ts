/** Client-side helpers for the batching and streaming end-to-end tests. */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { fp32Bytes, readFp32, type InferenceClient } from './server';

export interface OutputTensor {
  readonly shape: number[];
  readonly data: Float32Array;
}

/** What came back for one call, with client-side times (performance.now()). */
export interface Outcome {
  readonly startedAt: number;
  readonly doneAt: number;
  readonly code: grpc.status;
  readonly details: string;
  readonly id: string;
  readonly outputs: Map<string, OutputTensor>;
}

export type InferParameters = Record<string, { int64_param?: string; uint64_param?: string; bool_param?: boolean; string_param?: string }>;

export interface InferOptions {
  readonly id?: string;
  readonly parameters?: InferParameters;
  /** Milliseconds from now for the gRPC deadline. */
  readonly deadlineMs?: number;
  readonly input?: string;
}

/** Deterministic FP32 rows: `rows` x `width` values in [-1, 1] from a seed. */
export function rowsOf(seed: number, rows: number, width: number): Float32Array {
  return Float32Array.from({ length: rows * width }, (_, i) => Math.sin(seed * 7.31 + i * 1.17) * (1 + (seed % 3)));
}

export function inferRequest(model: string, x: Float32Array, width: number, options: InferOptions = {}): object {
  return {
    model_name: model,
    id: options.id ?? '',
    ...(options.parameters && { parameters: options.parameters }),
    inputs: [{ name: options.input ?? 'x', datatype: 'FP32', shape: [x.length / width, width] }],
    raw_input_contents: [fp32Bytes(x)],
  };
}

interface WireResponse {
  id?: string;
  outputs?: { name: string; shape: string[] }[];
  raw_output_contents?: Buffer[];
}

export function outputsOf(res: WireResponse | undefined): Map<string, OutputTensor> {
  const map = new Map<string, OutputTensor>();
  (res?.outputs ?? []).forEach((o, i) => map.set(o.name, { shape: o.shape.map(Number), data: readFp32(res!.raw_output_contents![i]) }));
  return map;
}

/**
 * Starts one ModelInfer call and gives back the call (to cancel it) and its outcome;
 * the outcome promise never rejects: a failure is an outcome with a non-OK code.
 */
export function startInfer(client: InferenceClient, request: object, deadlineMs?: number): { call: grpc.ClientUnaryCall; outcome: Promise<Outcome> } {
  const startedAt = performance.now();
  const method = (client.raw as unknown as Record<string, (...args: unknown[]) => grpc.ClientUnaryCall>).ModelInfer;
  const options: grpc.CallOptions = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  let call!: grpc.ClientUnaryCall;
  const outcome = new Promise<Outcome>((resolve) => {
    call = method.call(client.raw, request, new grpc.Metadata(), options, (err: grpc.ServiceError | null, res: WireResponse) => {
      const doneAt = performance.now();
      if (err) resolve({ startedAt, doneAt, code: err.code, details: err.details, id: '', outputs: new Map() });
      else resolve({ startedAt, doneAt, code: grpc.status.OK, details: '', id: res.id ?? '', outputs: outputsOf(res) });
    });
  });
  return { call, outcome };
}

export function infer(client: InferenceClient, model: string, x: Float32Array, width: number, options: InferOptions = {}): Promise<Outcome> {
  return startInfer(client, inferRequest(model, x, width, options), options.deadlineMs).outcome;
}

export interface Duration {
  count: number;
  ns: number;
}

export interface Stats {
  inferenceCount: number;
  executionCount: number;
  success: Duration;
  fail: Duration;
  queue: Duration;
  computeInput: Duration;
  computeInfer: Duration;
  computeOutput: Duration;
  /** Executions per batch size (compute_infer count of each batch_stats entry). */
  batches: Map<number, number>;
}

type WireDuration = { count?: string; ns?: string } | undefined;
const dur = (d: WireDuration): Duration => ({ count: Number(d?.count ?? 0), ns: Number(d?.ns ?? 0) });

export async function statistics(client: InferenceClient, model: string): Promise<Stats> {
  const res = await client.unary<{ model_stats: Record<string, unknown>[] }>('ModelStatistics', { name: model, version: '' });
  if (res.model_stats.length !== 1) throw new Error(`expected statistics of one version of ${model}, got ${res.model_stats.length}`);
  const s = res.model_stats[0] as {
    inference_count?: string;
    execution_count?: string;
    inference_stats?: Record<string, WireDuration>;
    batch_stats?: { batch_size?: string; compute_infer?: WireDuration }[];
  };
  const i = s.inference_stats ?? {};
  return {
    inferenceCount: Number(s.inference_count ?? 0),
    executionCount: Number(s.execution_count ?? 0),
    success: dur(i.success),
    fail: dur(i.fail),
    queue: dur(i.queue),
    computeInput: dur(i.compute_input),
    computeInfer: dur(i.compute_infer),
    computeOutput: dur(i.compute_output),
    batches: new Map((s.batch_stats ?? []).map((b) => [Number(b.batch_size ?? 0), dur(b.compute_infer).count])),
  };
}

/** after - before, field by field. */
export function statsDelta(after: Stats, before: Stats): Stats {
  const d = (a: Duration, b: Duration): Duration => ({ count: a.count - b.count, ns: a.ns - b.ns });
  const batches = new Map<number, number>();
  for (const [size, count] of after.batches) {
    const diff = count - (before.batches.get(size) ?? 0);
    if (diff !== 0) batches.set(size, diff);
  }
  return {
    inferenceCount: after.inferenceCount - before.inferenceCount,
    executionCount: after.executionCount - before.executionCount,
    success: d(after.success, before.success),
    fail: d(after.fail, before.fail),
    queue: d(after.queue, before.queue),
    computeInput: d(after.computeInput, before.computeInput),
    computeInfer: d(after.computeInfer, before.computeInfer),
    computeOutput: d(after.computeOutput, before.computeOutput),
    batches,
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
