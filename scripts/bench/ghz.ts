/**
 * The unary scenarios through ghz (https://ghz.sh) when it is found: same proto, the same
 * pre-serialized request as a binary file, one connection, JSON report parsed into a LoadWindow.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadWindow } from './load-result';
import { PROTO_DIR } from '../../src/transport/protos';
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

export async function runGhz(run: GhzRun): Promise<LoadWindow> {
  const args = [
    '--insecure',
    '--proto', path.join(PROTO_DIR, 'grpc_service.proto'),
    '--import-paths', PROTO_DIR,
    '--call', `${SERVICE_NAME}.ModelInfer`,
    '-c', String(run.concurrency),
    '--connections', '1',
    '--timeout', run.deadlineMs > 0 ? `${run.deadlineMs}ms` : '0',
    '-z', `${run.seconds}s`,
    '-B', run.requestFile,
    '--format', 'json',
    run.address,
  ];
  // The JSON report lists every request under "details": allow for a large one.
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(run.bin, args, { maxBuffer: 1 << 30 }, (err, out, errOut) => (err ? reject(new Error(`ghz failed: ${err.message}\n${errOut}`)) : resolve(out))),
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
