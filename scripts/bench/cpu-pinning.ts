/**
 * Keeping the load generator off the server's cores. On a small machine ghz and the server
 * otherwise share cores, and what the server pays per request then moves with where the
 * scheduler put ghz. Pinning uses taskset (util-linux); a child's affinity is set at its exec.
 */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';

/** CPU lists in taskset's form ("1", "0-3", "0,2"). */
export interface CpuSplit {
  readonly server: string;
  readonly generator: string;
}

const LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/**
 * 'off'; 'auto': the first half of the CPUs (at least one) to the generators, the rest to the
 * server, none when there are fewer than two or no taskset; or 'SERVER/GENERATOR' lists.
 */
export function parseCpuSplit(text: string, cpuCount = os.cpus().length, hasTaskset = tasksetFound): CpuSplit | undefined {
  if (text === 'off') return undefined;
  if (text === 'auto') {
    if (cpuCount < 2 || !hasTaskset()) return undefined;
    const generators = Math.max(1, Math.floor(cpuCount / 2));
    return { server: range(generators, cpuCount - 1), generator: range(0, generators - 1) };
  }
  const [server, generator, ...rest] = text.split('/');
  if (rest.length > 0 || !server || !generator || !LIST.test(server) || !LIST.test(generator)) {
    throw new Error(`--pin must be auto, off or SERVER_CPUS/GENERATOR_CPUS (as "1/0"), got '${text}'`);
  }
  if (!hasTaskset()) throw new Error('--pin: taskset (util-linux) is not installed');
  return { server, generator };
}

const range = (first: number, last: number): string => (first === last ? String(first) : `${first}-${last}`);

function tasksetFound(): boolean {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The command that runs `bin args` on `cpus` (unchanged when there is no list). */
export function onCpus(cpus: string | undefined, bin: string, args: readonly string[]): [string, string[]] {
  return cpus === undefined ? [bin, [...args]] : ['taskset', ['-c', cpus, bin, ...args]];
}

/** Moves every thread of this process, and so what it starts later, onto `cpus`. */
export function pinThisProcess(cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}
