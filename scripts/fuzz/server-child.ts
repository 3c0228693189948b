/**
 * The server under fuzzing, `node dist/src/main.js` on the bundled models in a child process:
 * a crash ends the child, not the fuzzer, and its memory and open files are its own in /proc.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../bench/free-port';
import { readRssBytes } from '../bench/proc-stats';
import { PROTO_DIR } from '../../src/platform/proto-dir';

const REPO_ROOT = path.dirname(PROTO_DIR);

export interface ProcessSample {
  readonly rssBytes: number;
  readonly openFds: number;
}

export interface FuzzServer {
  readonly pid: number;
  readonly authority: string;
  /** The exit code or signal once it has ended; undefined while it runs. */
  exited(): number | string | undefined;
  sample(): ProcessSample;
  /** Lines it logged at error level or above (server faults), at most the last 50. */
  readonly errors: string[];
  stop(): Promise<void>;
}

export async function startFuzzServer(): Promise<FuzzServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'src', 'main.js')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      MODEL_REPOSITORY: path.join(REPO_ROOT, 'models'),
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: String(port),
      METRICS_PORT: '0',
      EXECUTION_PROVIDERS: 'cpu',
      // Every refused request logs a warning: at that rate the log would be the load.
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawning the server failed');
  let exit: number | string | undefined;
  const ended = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    exit = code ?? signal ?? 'unknown';
    resolve();
  }));
  const errors: string[] = [];
  const keep = (chunk: string): void => {
    for (const line of chunk.split('\n')) {
      if (line.trim() === '') continue;
      errors.push(line.slice(0, 2000));
      if (errors.length > 50) errors.shift();
    }
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  // Killed with the fuzzer, however it ends.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    pid,
    authority: `http://127.0.0.1:${port}`,
    exited: () => exit,
    sample: () => ({ rssBytes: readRssBytes(pid), openFds: fs.readdirSync(`/proc/${pid}/fd`).length }),
    errors,
    stop: async () => {
      process.removeListener('exit', killOnExit);
      if (exit === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await ended;
        clearTimeout(timer);
      }
    },
  };
}
