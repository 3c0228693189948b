/**
 * The unary scenarios through ghz (https://ghz.sh) when it is found: same proto, the same
 * pre-serialized request as a binary file, one connection, JSON report parsed into a LoadWindow.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadWindow } from './load-result';
import { PROTO_DIR } from '../../src/platform/proto-dir';
import { onCpus } from './cpu-pinning';
import { SERVICE_NAME } from './protocol';

/** The shared clients folder beside the repository first (the tools users point at us), then PATH. */
export function findGhz(repoRoot: string): string | undefined {
  const dirs = [path.join(repoRoot, '..', 'shared', 'clients', 'bin'), ...(process.env.PATH ?? '').split(path.delimiter)];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, 'ghz');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export interface GhzRun {
  readonly bin: string;
  readonly address: string;
  readonly concurrency: number;
  readonly seconds: number;
  /** --timeout per call; 0 for none. */
  readonly deadlineMs: number;
  /** A serialized ModelInferRequest. */
  readonly requestFile: string;
  /** Run ghz on these CPUs only (taskset's list; --pin). */
  readonly cpus?: string;
}

/** The parts of ghz's --format json report used here; durations are nanoseconds. */
interface GhzReport {
  readonly count: number;
  readonly total: number;
  readonly average: number;
  readonly slowest: number;
  readonly rps: number;
  readonly latencyDistribution: readonly { readonly percentage: number; readonly latency: number }[] | null;
  readonly statusCodeDistribution?: Record<string, number>;
  readonly errorDistribution?: Record<string, number>;
}

/** One connection, the run's concurrency, deadline and duration, the pre-serialized request; the report in `format`. */
function ghzArgs(run: GhzRun, format: 'json' | 'summary'): string[] {
  return [
    '--insecure',
    '--proto', path.join(PROTO_DIR, 'grpc_service.proto'),
    '--import-paths', PROTO_DIR,
    '--call', `${SERVICE_NAME}.ModelInfer`,
    '-c', String(run.concurrency),
    '--connections', '1',
    '--timeout', run.deadlineMs > 0 ? `${run.deadlineMs}ms` : '0',
    '-z', `${run.seconds}s`,
    '-B', run.requestFile,
    '--format', format,
    run.address,
  ];
}

export async function runGhz(run: GhzRun): Promise<LoadWindow> {
  const [bin, args] = onCpus(run.cpus, run.bin, ghzArgs(run, 'json'));
  // The JSON report lists every request under "details": allow for a large one.
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(bin, args, { maxBuffer: 1 << 30 }, (err, out, errOut) => (err ? reject(new Error(`ghz failed: ${err.message}\n${errOut}`)) : resolve(out))),
  );
  const report = JSON.parse(stdout) as GhzReport;
  const ok = report.statusCodeDistribution?.OK ?? report.count;
  const at = (p: number): number => (report.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  const seconds = report.total / 1e9;
  const firstError = report.errorDistribution ? Object.keys(report.errorDistribution)[0] : undefined;
  return {
    generator: 'ghz',
    requests: ok,
    errors: report.count - ok,
    firstError,
    seconds,
    rps: ok / seconds,
    clientCpuPct: undefined,
    p50Ms: at(50),
    p90Ms: at(90),
    p99Ms: at(99),
    meanMs: report.average / 1e6,
    maxMs: report.slowest / 1e6,
  };
}

/**
 * A long ghz run (the soak) started now and read when it ends: its JSON report would list every
 * request, millions of them, so this one asks for the text summary and reads its totals.
 */
export function startGhzSummary(run: GhzRun): Promise<LoadWindow> {
  const [bin, args] = onCpus(run.cpus, run.bin, ghzArgs(run, 'summary'));
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(parseGhzSummary(out)) : reject(new Error(`ghz exited ${code}: ${err}`))));
  });
}

/** ghz's text summary: totals, latency percentiles in the unit it prints, and responses by status; errors leave out the calls cut when the run ends. */
export function parseGhzSummary(text: string): LoadWindow {
  const duration = (value: string, unit: string): number => Number(value) * ({ ns: 1e-6, 'µs': 1e-3, us: 1e-3, ms: 1, s: 1000 } as Record<string, number>)[unit];
  const field = (label: string): RegExpMatchArray | null => new RegExp(`${label}:\\s+([0-9.]+)\\s*(ns|µs|us|ms|s)?`).exec(text);
  const ms = (label: string): number => {
    const m = field(label);
    return m ? duration(m[1], m[2] ?? 'ms') : NaN;
  };
  const percentile = (p: number): number => {
    const m = new RegExp(`${p} % in ([0-9.]+) (ns|µs|us|ms|s)`).exec(text);
    return m ? duration(m[1], m[2]) : NaN;
  };
  const statuses = [...text.matchAll(/\[([A-Za-z]+)\]\s+([0-9]+) responses/g)].map((m) => [m[1], Number(m[2])] as const);
  const ok = statuses.find(([name]) => name === 'OK')?.[1] ?? 0;
  const count = Number(field('Count')?.[1] ?? NaN);
  const seconds = ms('Total') / 1000;
  // The calls in flight when a -z run ends are cut by ghz closing its connection: not the server's errors.
  const errorLines = [...text.matchAll(/^\s*\[([0-9]+)\]\s+(.+?)\s*$/gm)].map((m) => ({ count: Number(m[1]), message: m[2] }));
  const cutAtEnd = errorLines.filter((e) => /use of closed network connection|the client connection is closing/.test(e.message)).reduce((n, e) => n + e.count, 0);
  const firstError = errorLines.find((e) => !/use of closed network connection|the client connection is closing/.test(e.message))?.message;
  return {
    generator: 'ghz',
    requests: ok,
    errors: count - ok - cutAtEnd,
    firstError,
    seconds,
    rps: ok / seconds,
    clientCpuPct: undefined,
    p50Ms: percentile(50),
    p90Ms: percentile(90),
    p99Ms: percentile(99),
    meanMs: ms('Average'),
    maxMs: ms('Slowest'),
  };
}
