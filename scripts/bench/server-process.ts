/**
 * The servers under test as child processes, so their CPU and memory are their own in /proc:
 * the real server (dist/src/main.js) on a temporary repository holding only the bench model
 * with the batching settings of the scenario, and the bare grpc-js server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { onCpus } from './cpu-pinning';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './free-port';
import { REPO_ROOT, benchModel } from './protocol';
import { readCpuSeconds, readMainThreadCpuSeconds, readRssBytes } from './proc-stats';

export interface Batching {
  readonly enabled: boolean;
  /** dynamic_batching.max_queue_delay_microseconds; ignored when batching is off. */
  readonly queueDelayUs: number;
}

export interface ChildServer {
  readonly label: string;
  readonly pid: number;
  readonly address: string;
  /** Where --cpu-prof writes, when profiling. */
  readonly profileDir: string | undefined;
  /** All threads: event loop, V8 GC helpers, session workers, ONNX Runtime pools. */
  cpuSeconds(): number;
  /** The event loop's thread alone. */
  mainThreadCpuSeconds(): number;
  rssBytes(): number;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Run the child on these CPUs only (taskset's list; --pin). */
  readonly cpus?: string;
  /** Run the child under --cpu-prof, writing into this folder. */
  readonly profileDir?: string;
  /** Give the model's input the rules of inputRules() (--validate). */
  readonly validate?: boolean;
  /** The model's parameters.run_on_event_loop (--event-loop, --lone). */
  readonly eventLoop?: EventLoopMode;
  /** Hears every line the child writes to stdout (its JSON log) until it serves. */
  readonly onLogLine?: (line: string) => void;
}

/** Every check config.json can ask of the input, bounds that the bench's values keep, and statistics of every column. */
export function inputRules(width: number): object {
  return { validation: { reject_non_finite: true, min: -1000, max: 1000 }, statistics: { columns: width } };
}

const SERVER_ENTRY = path.join(REPO_ROOT, 'dist', 'src', 'main.js');
const BARE_ENTRY = path.join(__dirname, 'bare-server.js');
const live = new Set<ChildProcess>();

// A bench that dies must not leave servers running.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function batchingLabel(b: Batching): string {
  return b.enabled ? `on(${b.queueDelayUs}us)` : 'off';
}

/**
 * "on": the model's config.json (max_batch_size 64, one CPU instance) with
 * dynamic_batching.max_queue_delay_microseconds set to the scenario's delay.
 * "off": the same without dynamic_batching, so every request is its own run.
 * `validate` adds inputRules() to each input entry; `eventLoop` is run_on_event_loop's value.
 */
/** parameters.run_on_event_loop: the session on the event loop, or only lone requests there. */
export type EventLoopMode = 'true' | 'lone';

export function writeRepository(batching: Batching, validate = false, eventLoop?: EventLoopMode): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-models-'));
  const model = benchModel();
  const modelDir = path.join(root, model.name);
  fs.mkdirSync(path.join(modelDir, '1'), { recursive: true });
  fs.copyFileSync(model.file, path.join(modelDir, '1', 'model.onnx'));
  const config = JSON.parse(fs.readFileSync(path.join(model.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  if (batching.enabled) config.dynamic_batching = { max_queue_delay_microseconds: batching.queueDelayUs };
  else delete config.dynamic_batching;
  if (validate) config.input = (config.input as object[]).map((input) => ({ ...input, ...inputRules(model.width) }));
  if (eventLoop) config.parameters = { run_on_event_loop: { string_value: eventLoop } };
  fs.writeFileSync(path.join(modelDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return root;
}

export async function startModelServer(batching: Batching, options: SpawnOptions = {}): Promise<ChildServer> {
  const repository = writeRepository(batching, options.validate, options.eventLoop);
  try {
    // Metrics on, as in production, each server on its own port (the servers run side by side).
    const env = { MODEL_REPOSITORY: repository, EXECUTION_PROVIDERS: 'cpu', METRICS_HOST: '127.0.0.1', METRICS_PORT: String(await freePort()) };
    return await spawnServer(`server batching=${batchingLabel(batching)}${options.validate ? ' validate' : ''}${options.eventLoop ? ` event-loop=${options.eventLoop}` : ''}`, SERVER_ENTRY, env, options, () =>
      fs.rmSync(repository, { recursive: true, force: true }),
    );
  } catch (err) {
    fs.rmSync(repository, { recursive: true, force: true });
    throw err;
  }
}

/** The real server on a repository the caller wrote; `cleanup` runs once it has stopped. */
export function startServerOn(label: string, repository: string, env: NodeJS.ProcessEnv, cleanup: () => void, options: SpawnOptions = {}): Promise<ChildServer> {
  return spawnServer(label, SERVER_ENTRY, { MODEL_REPOSITORY: repository, EXECUTION_PROVIDERS: 'cpu', METRICS_PORT: '0', ...env }, options, cleanup);
}

export function startBareServer(options: SpawnOptions = {}): Promise<ChildServer> {
  return spawnServer('bare grpc-js', BARE_ENTRY, {}, options, () => undefined);
}

/** Both entries log a JSON line {"msg":"server started","grpc":"host:port"} once they serve. */
async function spawnServer(label: string, entry: string, env: NodeJS.ProcessEnv, options: SpawnOptions, cleanup: () => void): Promise<ChildServer> {
  const nodeArgs = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const [bin, args] = onCpus(options.cpus, process.execPath, [...nodeArgs, entry]);
  const child = spawn(bin, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${label}: spawn failed`);
  // Kept for the error message if it dies; both pipes are always drained so the child never blocks.
  const tail: string[] = [];
  const remember = (line: string): void => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    live.delete(child);
    resolve(code);
  }));

  const address = await new Promise<string>((resolve, reject) => {
    // Generous: a CUDA session's first load (scripts/gpu-check) takes tens of seconds.
    const timer = setTimeout(() => reject(new Error(`${label}: no 'server started' within 90 s\n${tail.join('\n')}`)), 90_000);
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        remember(line);
        options.onLogLine?.(line);
        const started = parseStarted(line);
        if (started) {
          clearTimeout(timer);
          if (started.ready === false) reject(new Error(`${label}: started but not ready: ${line}`));
          else resolve(started.grpc);
        }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => remember(chunk.trimEnd()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${label}: exited with code ${code} before serving\n${tail.join('\n')}`));
    });
  });

  return {
    label,
    pid,
    address,
    profileDir: options.profileDir,
    cpuSeconds: () => readCpuSeconds(pid),
    mainThreadCpuSeconds: () => readMainThreadCpuSeconds(pid),
    rssBytes: () => readRssBytes(pid),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      cleanup();
    },
  };
}

function parseStarted(line: string): { grpc: string; ready: boolean | undefined } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: unknown; grpc?: unknown; ready?: unknown };
    if (entry.msg !== 'server started' || typeof entry.grpc !== 'string') return undefined;
    return { grpc: entry.grpc, ready: typeof entry.ready === 'boolean' ? entry.ready : undefined };
  } catch {
    return undefined;
  }
}
