/**
 * The real server (dist/src/main.js) as a child process on a temporary repository holding one
 * model with dynamic batching and the instance kind asked for (KIND_GPU or KIND_CPU), driven by
 * the bench's closed-loop grpc-js generator (one row per request, pre-serialized) at each
 * concurrency; ModelStatistics read through the project's InferenceClient gives the mean batch.
 * Started by scripts/bench/server-process.ts, whose log-line hook catches the `model version
 * ready` line: which provider the version got and where its nodes run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NodeLoadGenerator } from '../bench/load-generator';
import { methodDefinition } from '../bench/protocol';
import { startServerOn } from '../bench/server-process';
import { InferenceClient } from '../../src/client';
import type { ExecutionProvider } from '../../src/config/schema';
import type { CheckModel } from './models';

export interface ReadyLine {
  readonly provider?: string;
  readonly nodes_by_provider?: Record<string, number>;
  readonly placement_error?: string;
  readonly device_ids?: number[];
  readonly [key: string]: unknown;
}

export interface ServedRow {
  readonly model: string;
  readonly provider: ExecutionProvider;
  readonly concurrency: number;
  readonly requests: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly seconds: number;
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Rows per model run over the window, from ModelStatistics. */
  readonly meanBatchSize: number;
  /** This process (the load generator) over the window, as a share of one core: near 100 means the client was the limit. */
  readonly clientCpuPct: number | undefined;
}

export interface ServedOptions {
  readonly concurrency: readonly number[];
  readonly seconds: number;
  readonly queueDelayUs: number;
  readonly maxBatchSize: number;
}

export interface RunningServer {
  readonly address: string;
  readonly ready: ReadyLine;
  stop(): Promise<void>;
}

/** The server on a repository of `model` alone; resolves once it serves with the version ready. */
export async function startServer(model: CheckModel, provider: ExecutionProvider, options: ServedOptions): Promise<RunningServer> {
  const repository = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-check-repo-'));
  const dir = path.join(repository, model.name);
  fs.mkdirSync(path.join(dir, '1'), { recursive: true });
  fs.copyFileSync(model.file, path.join(dir, '1', 'model.onnx'));
  const config = {
    name: model.name,
    platform: 'onnxruntime_onnx',
    max_batch_size: options.maxBatchSize,
    input: [{ name: model.input, data_type: 'TYPE_FP32', dims: model.rowShape }],
    dynamic_batching: { max_queue_delay_microseconds: options.queueDelayUs },
    instance_group: [{ count: 1, kind: provider === 'cuda' ? 'KIND_GPU' : 'KIND_CPU' }],
  };
  fs.writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const env = {
    EXECUTION_PROVIDERS: provider === 'cuda' ? 'cuda,cpu' : 'cpu',
    PROBE_NODE_PLACEMENT: 'true',
  };
  let ready: ReadyLine | undefined;
  const onLogLine = (line: string): void => {
    const entry = parseJson(line);
    if (entry?.msg === 'model version ready' && entry.model === model.name) ready = entry as ReadyLine;
  };
  const label = `server ${model.name} on ${provider}`;
  const removeRepository = (): void => fs.rmSync(repository, { recursive: true, force: true });
  const server = await startServerOn(label, repository, env, removeRepository, { onLogLine }).catch((err: unknown) => {
    removeRepository();
    throw err;
  });
  if (ready === undefined) {
    await server.stop();
    throw new Error(`${label}: started without a 'model version ready' line for ${model.name}`);
  }
  return { address: server.address, ready, stop: () => server.stop() };
}

/** Why a server that should run on `provider` does not, from its ready line; undefined when it does. */
export function wrongPlacement(provider: ExecutionProvider, ready: ReadyLine): string | undefined {
  if (ready.provider !== provider) return `the model version is on provider '${String(ready.provider)}', not '${provider}'`;
  if (provider !== 'cuda') return undefined;
  const nodes = ready.nodes_by_provider;
  if (nodes === undefined) return `the ready line has no nodes_by_provider${ready.placement_error ? `: ${ready.placement_error}` : ''}`;
  if (!((nodes.CUDAExecutionProvider ?? 0) > 0)) return `no node runs on CUDAExecutionProvider: ${JSON.stringify(nodes)}`;
  return undefined;
}

/** One window of load per concurrency against a running server. */
export async function measureServed(
  model: CheckModel,
  provider: ExecutionProvider,
  server: RunningServer,
  options: ServedOptions,
  onRow: (row: ServedRow) => void,
): Promise<ServedRow[]> {
  const client = new InferenceClient(server.address, { deadlineMs: 30_000 });
  const rows: ServedRow[] = [];
  try {
    // One request through the typed client first: the answer has the shape the model promises.
    const answer = await client.infer(model.name, { [model.input]: model.rows(1) }, { shape: [1, ...model.rowShape] });
    const out = answer.outputs[model.output];
    if (out === undefined || out.shape[0] !== 1) throw new Error(`${model.name}: unexpected answer ${JSON.stringify(answer.outputs)}`);
    const row = model.rows(1);
    const request = methodDefinition('ModelInfer').requestSerialize({
      model_name: model.name,
      inputs: [{ name: model.input, datatype: 'FP32', shape: [1, ...model.rowShape] }],
      raw_input_contents: [Buffer.from(row.buffer, row.byteOffset, row.byteLength)],
    });
    for (const concurrency of options.concurrency) {
      const generator = new NodeLoadGenerator({ address: server.address, mode: 'unary', concurrency, channels: Math.min(4, concurrency), request, deadlineMs: 30_000 });
      generator.start();
      try {
        await sleep(Math.min(500, options.seconds * 500));
        const before = await counters(client, model.name);
        generator.beginWindow();
        await sleep(options.seconds * 1000);
        const window = generator.endWindow();
        const after = await counters(client, model.name);
        const runs = after.executions - before.executions;
        const result: ServedRow = {
          model: model.name,
          provider,
          concurrency,
          requests: window.requests,
          errors: window.errors,
          firstError: window.firstError,
          seconds: window.seconds,
          reqPerSec: window.rps,
          p50Ms: window.p50Ms,
          p99Ms: window.p99Ms,
          meanBatchSize: runs > 0 ? (after.rows - before.rows) / runs : NaN,
          clientCpuPct: window.clientCpuPct,
        };
        rows.push(result);
        onRow(result);
      } finally {
        await generator.stop();
      }
    }
  } finally {
    client.close();
  }
  return rows;
}

async function counters(client: InferenceClient, model: string): Promise<{ rows: number; executions: number }> {
  const stats = (await client.statistics(model)).model_stats?.[0] as { inference_count?: string; execution_count?: string } | undefined;
  return { rows: Number(stats?.inference_count ?? 0), executions: Number(stats?.execution_count ?? 0) };
}

function parseJson(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
