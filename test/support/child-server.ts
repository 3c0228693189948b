/**
 * The real server as users run it: `node dist/src/main.js` in a child process, for what only
 * a process can show (signals, exit codes). Its JSON log lines are kept for the test to read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { freePort } from '../../scripts/bench/free-port';
import { REPO_ROOT } from './server';
import { waitFor } from './wait-for';

const MAIN = path.join(REPO_ROOT, 'dist', 'src', 'main.js');

export interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface ChildServer {
  readonly process: ChildProcess;
  readonly port: number;
  readonly logs: LogLine[];
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** Waits until the server has logged `msg`, and gives that line. */
  logged(msg: string, timeoutMs?: number): Promise<LogLine>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts the server with `env` on top of the test defaults (undefined removes one) and waits for 'server started'. */
export async function startChildServer(env: NodeJS.ProcessEnv): Promise<ChildServer> {
  const port = await freePort();
  const merged: NodeJS.ProcessEnv = { ...process.env, GRPC_HOST: '127.0.0.1', GRPC_PORT: String(port), METRICS_PORT: '0', EXECUTION_PROVIDERS: 'cpu', LOG_LEVEL: 'info', ...env };
  // An undefined value removes the variable (spawn would pass the string 'undefined').
  const childEnv = Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
  const child = spawn(process.execPath, [MAIN], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: LogLine[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const logged = async (msg: string, timeoutMs = 60_000): Promise<LogLine> => {
    await waitFor(`the server to log '${msg}'`, () => logs.some((l) => l.msg === msg), (yes) => yes, timeoutMs);
    return logs.find((l) => l.msg === msg)!;
  };
  const server: ChildServer = { process: child, port, logs, exited, logged, kill: (signal) => child.kill(signal) };
  await Promise.race([
    logged('server started'),
    exited.then((code) => {
      throw new Error(`the server exited (${code}) before it started`);
    }),
  ]);
  return server;
}
