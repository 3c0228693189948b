/** A child process's own accounting from /proc: CPU time (all threads) and resident memory. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

let ticksPerSecond: number | undefined;

/** USER_HZ, the unit of utime and stime in /proc/<pid>/stat (almost always 100). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      ticksPerSecond = NaN;
    }
    if (!Number.isFinite(ticksPerSecond) || ticksPerSecond <= 0) ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/** utime + stime of every thread of the process, in seconds. */
export function readCpuSeconds(pid: number): number {
  return parseCpuSeconds(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** utime + stime of the process's main thread alone (the event loop), in seconds. */
export function readMainThreadCpuSeconds(pid: number): number {
  return parseCpuSeconds(fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
}

function parseCpuSeconds(stat: string): number {
  // comm (field 2) is in parentheses and may hold spaces; fields from 3 on follow the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  return (utime + stime) / clockTicksPerSecond();
}

/**
 * Run time of each of this process's threads by thread id, in nanoseconds: schedstat's first
 * field, for intervals too short for stat's 10 ms ticks.
 */
export function readOwnThreadRunNanos(): Map<string, number> {
  const run = new Map<string, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      run.set(tid, Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return run;
}

/** VmRSS in bytes. */
export function readRssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export interface MachineCpu {
  /**
   * Seconds of CPU time spent busy, all CPUs together: user, nice, system and steal. irq and
   * softirq are left out: loopback traffic between our own processes is accounted there.
   */
  readonly busySeconds: number;
  readonly totalSeconds: number;
}

/** The machine-wide "cpu" line of /proc/stat: what everything, not only our processes, used. */
export function readMachineCpu(): MachineCpu {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const busy = user + nice + system + steal;
  const hz = clockTicksPerSecond();
  return { busySeconds: busy / hz, totalSeconds: (busy + idle + iowait + irq + softirq) / hz };
}
