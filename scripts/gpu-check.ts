/**
 * The GPU check (issue 15): on a machine with an NVIDIA GPU, proves that onnxruntime-node's CUDA
 * provider loads and that the graph's nodes run on it, then measures the bundled digit_cnn and
 * the larger image_cnn (made here by make-models' imageCnn) on GPU and on CPU:
 *
 *   - in-process: ONNX Runtime sessions opened as the server opens them (openSession), one run
 *     after another at each batch size: runs/s, rows/s, p50/p99 ms per run; on CPU with one
 *     intra-op thread (the server's default) and with ONNX Runtime's default threads;
 *   - served: the real server (dist/src/main.js) as a child process, the model with
 *     dynamic_batching and instance_group KIND_GPU (EXECUTION_PROVIDERS=cuda,cpu) or KIND_CPU
 *     (EXECUTION_PROVIDERS=cpu), one row per request at each concurrency: req/s, p50/p99, the
 *     mean batch the server formed (ModelStatistics). The GPU server's `model version ready`
 *     log line must say provider cuda with nodes on CUDAExecutionProvider, or the check stops.
 *
 * Prints the machine (nvidia-smi's name, driver and memory; CPU; Node; onnxruntime-node), one
 * markdown table titled with the card's name, and writes everything as JSON (rewritten after
 * each measurement, so a run cut short keeps what it measured).
 *
 * Needs only this repository's dist/, node_modules and models/ (no network, no ghz, no npm):
 *
 *   npx tsc -p tsconfig.json      # wherever dist/ is built
 *   node dist/scripts/gpu-check.js [--providers cuda|cpu|both] [--batches 1,2,4,...,256]
 *        [--seconds S] [--concurrency 1,16,64,256] [--cpu-threads 1,0] [--models digit_cnn,image_cnn]
 *        [--queue-delay-us 200] [--out gpu-check.json]
 *
 * Defaults: both providers, batches 1 to 256 in powers of two, 2 s per measurement, concurrency
 * 1,16,64,256, CPU threads 1 and 0 (0: ONNX Runtime's default, one per core): about 3 to 4
 * minutes in all. --seconds 1 halves it. With cuda in --providers, a CUDA provider that does not
 * load (the reason carried through src/runtime/cuda-load-reason.ts) or a graph with no node on
 * it ends the check with exit code 1 before anything is measured; --providers cpu skips CUDA.
 * Exit codes: 0 done, 1 a check or measurement failed, 2 bad arguments.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ExecutionProvider } from '../src/config/schema';
import { providerLibraryDir } from '../src/runtime/cuda-load-reason';
import { describeMachine, gpuTitle, type MachineInfo } from './gpu-check/machine';
import { REPO_ROOT } from './make-models';
import { checkModels, type CheckModel } from './gpu-check/models';
import { measureInProcess, openCheckSession, type InProcessRow, type OpenedCheckSession } from './gpu-check/in-process';
import { measureServed, startServer, wrongPlacement, type ReadyLine, type ServedRow } from './gpu-check/served';

export interface CheckOptions {
  readonly providers: readonly ExecutionProvider[];
  readonly batches: readonly number[];
  readonly seconds: number;
  readonly concurrency: readonly number[];
  readonly cpuThreads: readonly number[];
  readonly models: readonly string[];
  readonly queueDelayUs: number;
  readonly out: string;
}

export interface CudaCheck {
  readonly status: 'ok' | 'failed' | 'skipped';
  readonly reason?: string;
  /** Per model: nodes per ORT provider in the in-process CUDA session. */
  readonly nodesByProvider?: Record<string, Readonly<Record<string, number>>>;
  readonly providerLibraryDir?: string;
  readonly ldLibraryPath?: string;
}

export interface CheckReport {
  readonly tool: 'scripts/gpu-check';
  readonly startedAt: string;
  wallSeconds: number;
  status: 'running' | 'ok' | 'failed';
  error?: string;
  readonly options: CheckOptions;
  readonly machine: MachineInfo;
  cudaCheck: CudaCheck;
  readonly models: { name: string; file: string; bytes: number; rowShape: readonly number[] }[];
  readonly inProcess: InProcessRow[];
  readonly served: ServedRow[];
  /** Each served run's `model version ready` log line. */
  readonly servers: { model: string; provider: ExecutionProvider; ready: ReadyLine }[];
}

const ALL_MODELS = ['digit_cnn', 'image_cnn'];
const MAX_BATCH_SIZE = 256;

class ArgError extends Error {}

export function parseArgs(argv: readonly string[]): CheckOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const [key, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (!['--providers', '--batches', '--seconds', '--concurrency', '--cpu-threads', '--models', '--queue-delay-us', '--out'].includes(key)) throw new ArgError(`unknown argument ${arg}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ArgError(`${key} needs a value`);
    values.set(key, value);
  }
  const ints = (key: string, fallback: string, min: number, max = Number.MAX_SAFE_INTEGER): number[] => {
    const list = (values.get(key) ?? fallback).split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (list.length === 0) throw new ArgError(`${key} is empty`);
    return list.map((s) => {
      const n = Number(s);
      if (!/^\d+$/.test(s) || n < min || n > max) throw new ArgError(`${key}: '${s}' is not an integer from ${min} to ${max}`);
      return n;
    });
  };
  const providerArg = values.get('--providers') ?? 'both';
  const providers: ExecutionProvider[] | undefined = { cuda: ['cuda'], cpu: ['cpu'], both: ['cuda', 'cpu'] }[providerArg] as ExecutionProvider[] | undefined;
  if (!providers) throw new ArgError(`--providers takes cuda, cpu or both, not '${providerArg}'`);
  const seconds = Number(values.get('--seconds') ?? '2');
  if (!(seconds > 0 && seconds <= 60)) throw new ArgError('--seconds takes a number of seconds above 0, at most 60');
  const models = (values.get('--models') ?? ALL_MODELS.join(',')).split(',').map((s) => s.trim());
  const unknown = models.find((m) => !ALL_MODELS.includes(m));
  if (unknown !== undefined) throw new ArgError(`--models takes ${ALL_MODELS.join(', ')}, not '${unknown}'`);
  return {
    providers,
    batches: ints('--batches', '1,2,4,8,16,32,64,128,256', 1, 4096),
    seconds,
    concurrency: ints('--concurrency', '1,16,64,256', 1, 4096),
    cpuThreads: ints('--cpu-threads', '1,0', 0, 1024),
    models,
    queueDelayUs: ints('--queue-delay-us', '200', 0, 1_000_000)[0],
    out: path.resolve(values.get('--out') ?? 'gpu-check.json'),
  };
}

/** Runs the whole check; returns the exit code. */
export async function runCheck(options: CheckOptions, log: (line: string) => void = (l) => console.log(l)): Promise<number> {
  const started = performance.now();
  const machine = describeMachine();
  log(`GPU: ${machine.gpus.length > 0 ? machine.gpus.map((g) => `${g.name}, driver ${g.driverVersion}, ${g.memoryTotal}`).join('; ') : machine.gpuNote}`);
  log(`CPU: ${machine.cpuModel}, ${machine.cpuCores} cores; Node ${machine.node}; onnxruntime-node ${machine.onnxruntimeNode}`);

  const modelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-check-models-'));
  const allModels = checkModels(modelDir);
  const models = allModels.filter((m) => options.models.includes(m.name));
  const report: CheckReport = {
    tool: 'scripts/gpu-check',
    startedAt: new Date().toISOString(),
    wallSeconds: 0,
    status: 'running',
    options,
    machine,
    cudaCheck: { status: 'skipped' },
    models: models.map((m) => ({ name: m.name, file: m.file.startsWith(modelDir) ? 'made by scripts/make-models.ts imageCnn()' : path.relative(REPO_ROOT, m.file), bytes: fs.statSync(m.file).size, rowShape: m.rowShape })),
    inProcess: [],
    served: [],
    servers: [],
  };
  const save = (): void => {
    report.wallSeconds = (performance.now() - started) / 1000;
    fs.writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  };
  const fail = (message: string): number => {
    report.status = 'failed';
    report.error = message;
    save();
    log(`gpu-check FAILED: ${message}`);
    log(`wrote ${options.out}`);
    return 1;
  };

  try {
    // ---- 2. the CUDA provider loads, and the nodes run on it (digit_cnn, then each model measured)
    const cudaSessions = new Map<string, OpenedCheckSession>();
    if (options.providers.includes('cuda')) {
      const nodes: Record<string, Readonly<Record<string, number>>> = {};
      const context = { providerLibraryDir: providerLibraryDir(), ldLibraryPath: process.env.LD_LIBRARY_PATH };
      // digit_cnn always (the bundled model), then each other model measured.
      for (const model of allModels.filter((m) => m.name === 'digit_cnn' || options.models.includes(m.name))) {
        let opened: OpenedCheckSession;
        try {
          opened = await openCheckSession(model.file, 'cuda', 1);
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          report.cudaCheck = { status: 'failed', reason, ...context };
          return fail(`the CUDA execution provider could not be had for ${model.name}: ${reason}`);
        }
        nodes[model.name] = opened.nodesByProvider;
        log(`CUDA session for ${model.name}: nodes by provider ${JSON.stringify(opened.nodesByProvider)}${opened.placementError ? ` (${opened.placementError})` : ''}`);
        if (!((opened.nodesByProvider.CUDAExecutionProvider ?? 0) > 0)) {
          await opened.session.release();
          const reason = `no node of ${model.name} runs on CUDAExecutionProvider: ${opened.placementError ?? JSON.stringify(opened.nodesByProvider)}`;
          report.cudaCheck = { status: 'failed', reason, nodesByProvider: nodes, ...context };
          return fail(reason);
        }
        if (options.models.includes(model.name)) cudaSessions.set(model.name, opened);
        else await opened.session.release();
      }
      report.cudaCheck = { status: 'ok', nodesByProvider: nodes, ...context };
      log('CUDA provider: loaded, nodes run on CUDAExecutionProvider');
    } else {
      log('CUDA provider: not checked (--providers cpu)');
    }
    save();

    // ---- 4. measurements, GPU first so that a run cut short has the GPU numbers
    const served = { concurrency: options.concurrency, seconds: options.seconds, queueDelayUs: options.queueDelayUs, maxBatchSize: MAX_BATCH_SIZE };
    for (const provider of options.providers) {
      for (const model of models) {
        const threadsList = provider === 'cuda' ? [1] : options.cpuThreads;
        for (const threads of threadsList) {
          const opened = cudaSessions.get(model.name) ?? (await openCheckSession(model.file, provider, threads));
          cudaSessions.delete(model.name);
          try {
            await measureInProcess(model, opened.session, provider, threads, options.batches, options.seconds, (row) => {
              report.inProcess.push(row);
              save();
              log(`in-process ${row.model} ${row.provider} threads=${threadsLabel(row.threads)} batch=${row.batchSize}: ${fmt(row.runsPerSec)} runs/s, ${fmt(row.rowsPerSec)} rows/s, p50 ${ms(row.p50Ms)} ms, p99 ${ms(row.p99Ms)} ms`);
            });
          } finally {
            await opened.session.release();
          }
        }
        await serve(model, provider, served, report, save, log);
      }
    }
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  } finally {
    fs.rmSync(modelDir, { recursive: true, force: true });
  }

  report.status = 'ok';
  save();
  log('');
  log(renderTable(report));
  log('');
  log(`wrote ${options.out}; wall time ${report.wallSeconds.toFixed(1)} s`);
  return 0;
}

async function serve(model: CheckModel, provider: ExecutionProvider, options: Parameters<typeof startServer>[2], report: CheckReport, save: () => void, log: (line: string) => void): Promise<void> {
  const server = await startServer(model, provider, options);
  try {
    report.servers.push({ model: model.name, provider, ready: server.ready });
    save();
    log(`server ${model.name} (${provider === 'cuda' ? 'KIND_GPU' : 'KIND_CPU'}): model version ready on provider ${String(server.ready.provider)}, nodes by provider ${JSON.stringify(server.ready.nodes_by_provider ?? {})}`);
    const wrong = wrongPlacement(provider, server.ready);
    if (wrong !== undefined) throw new Error(`the server's ${model.name} is not where it was asked to run: ${wrong}`);
    await measureServed(model, provider, server, options, (row) => {
      report.served.push(row);
      save();
      log(`served ${row.model} ${row.provider} concurrency=${row.concurrency}: ${fmt(row.reqPerSec)} req/s, p50 ${ms(row.p50Ms)} ms, p99 ${ms(row.p99Ms)} ms, mean batch ${row.meanBatchSize.toFixed(1)}${row.errors > 0 ? `, ${row.errors} errors (${row.firstError})` : ''}`);
    });
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- the table

function threadsLabel(threads: number): string {
  return threads === 0 ? 'default' : String(threads);
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
}

function ms(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return n < 1 ? n.toFixed(3) : n < 10 ? n.toFixed(2) : n.toFixed(1);
}

/** One markdown table: in-process rows by batch, then served rows by concurrency. */
export function renderTable(report: CheckReport): string {
  const m = report.machine;
  const title = `### gpu-check on ${gpuTitle(m)}${m.gpus[0] ? ` (driver ${m.gpus[0].driverVersion}, ${m.gpus[0].memoryTotal})` : ''}; CPU ${m.cpuModel} x${m.cpuCores}; Node ${m.node}; onnxruntime-node ${m.onnxruntimeNode}; ${report.options.seconds} s per row`;
  const lines = [
    title,
    '',
    '| model | provider | path | threads | batch / concurrency | runs/s or req/s | rows/s | p50 ms | p99 ms | mean batch | client CPU |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const model of report.models) {
    for (const provider of report.options.providers) {
      for (const r of report.inProcess.filter((x) => x.model === model.name && x.provider === provider)) {
        lines.push(`| ${r.model} | ${r.provider} | in-process | ${threadsLabel(r.threads)} | ${r.batchSize} | ${fmt(r.runsPerSec)} | ${fmt(r.rowsPerSec)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${r.batchSize} | - |`);
      }
      for (const r of report.served.filter((x) => x.model === model.name && x.provider === provider)) {
        const kind = provider === 'cuda' ? 'KIND_GPU' : 'KIND_CPU';
        lines.push(`| ${r.model} | ${r.provider} | served ${kind} | 1 | c=${r.concurrency} | ${fmt(r.reqPerSec)} | ${fmt(r.reqPerSec)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${Number.isFinite(r.meanBatchSize) ? r.meanBatchSize.toFixed(1) : '-'} | ${r.clientCpuPct === undefined ? '-' : `${Math.round(r.clientCpuPct)}%`} |`);
      }
    }
  }
  lines.push('', 'served: one row per request, dynamic batching (max_batch_size 256, ' + `${report.options.queueDelayUs} µs queue delay), one instance, the bench's closed-loop grpc-js client in one process (client CPU: its share of one core; near 100% the client, not the server, was the limit).`);
  return lines.join('\n');
}

if (require.main === module) {
  let options: CheckOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`gpu-check: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
  runCheck(options).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`gpu-check FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}
