/**
 * Measures one scenario against a running child server: warm up, then a window bracketed
 * by readings of the child's /proc CPU time and (for the real server) ModelStatistics.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { runGhz } from './ghz';
import { NodeLoadGenerator } from './load-generator';
import type { LoadWindow } from './load-result';
import { batchTimes, meanBatchSize, type BatchCounters, type ModelStatsClient } from './model-stats-client';
import { scenarioLabel, type ScenarioResult, type ScenarioSpec } from './scenario';
import type { ChildServer } from './server-process';
import { readMachineCpu, type MachineCpu } from './proc-stats';

export interface RunSettings {
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly channels: number;
  readonly request: Buffer;
  /** Per unary call, for both generators; 0: none. */
  readonly deadlineMs: number;
  /** Set when unary scenarios go through ghz. */
  readonly ghz: { readonly bin: string; readonly requestFile: string; readonly cpus: string | undefined } | undefined;
  /** Measure a scenario again (up to this many times) when other processes used more than otherCpuLimitPct. */
  readonly retries: number;
  readonly otherCpuLimitPct: number;
}

/** Called about once a second while the window runs. */
export type OnTick = (elapsedSeconds: number, liveRps: number | undefined) => void;

/**
 * Measures the scenario, again while a neighbour on the machine took more than the limit,
 * and keeps the least disturbed window.
 */
export async function runScenario(
  server: ChildServer,
  stats: ModelStatsClient | undefined,
  spec: ScenarioSpec,
  settings: RunSettings,
  onTick: OnTick,
  onRetry: (disturbed: ScenarioResult) => void,
): Promise<ScenarioResult> {
  let best: ScenarioResult | undefined;
  let served = 0;
  for (let attempt = 1; ; attempt++) {
    const result = await measureOnce(server, stats, spec, settings, onTick);
    served += result.servedTotal;
    if (!best || (result.otherCpuPct ?? 0) < (best.otherCpuPct ?? 0)) best = result;
    if ((result.otherCpuPct ?? 0) <= settings.otherCpuLimitPct || attempt > settings.retries) return { ...best, attempts: attempt, servedTotal: served };
    onRetry(result);
    await waitForQuiet(settings.otherCpuLimitPct, 15);
  }
}

/** Waits (at most maxSeconds) for a second in which the machine, our idle server aside, is below limitPct busy. */
async function waitForQuiet(limitPct: number, maxSeconds: number): Promise<void> {
  for (let i = 0; i < maxSeconds; i++) {
    const before = readMachineCpu();
    const started = performance.now();
    await sleep(1000);
    const after = readMachineCpu();
    if (((after.busySeconds - before.busySeconds) * 1e5) / (performance.now() - started) <= limitPct) return;
  }
}

async function measureOnce(
  server: ChildServer,
  stats: ModelStatsClient | undefined,
  spec: ScenarioSpec,
  settings: RunSettings,
  onTick: OnTick,
): Promise<ScenarioResult> {
  let before: BatchCounters | undefined;
  let cpuBefore = 0;
  let mainBefore = 0;
  let machineBefore: MachineCpu = readMachineCpu();
  const openWindow = async (): Promise<void> => {
    before = await stats?.read();
    cpuBefore = server.cpuSeconds();
    mainBefore = server.mainThreadCpuSeconds();
    machineBefore = readMachineCpu();
  };
  let load: LoadWindow;
  let servedTotal: number;
  let cpuAfter: number;
  let mainAfter: number;
  let machineAfter: MachineCpu;

  if (settings.ghz && spec.mode === 'unary') {
    const run = { bin: settings.ghz.bin, address: server.address, concurrency: spec.concurrency, requestFile: settings.ghz.requestFile, deadlineMs: settings.deadlineMs, cpus: settings.ghz.cpus };
    const warmup = settings.warmupSeconds > 0 ? await runGhz({ ...run, seconds: settings.warmupSeconds }) : undefined;
    await openWindow();
    const ticking = tickUntil(settings.durationSeconds, () => undefined, onTick);
    load = await runGhz({ ...run, seconds: settings.durationSeconds });
    cpuAfter = server.cpuSeconds();
    mainAfter = server.mainThreadCpuSeconds();
    machineAfter = readMachineCpu();
    ticking.cancel();
    servedTotal = load.requests + (warmup?.requests ?? 0);
  } else {
    const generator = new NodeLoadGenerator({ address: server.address, mode: spec.mode, concurrency: spec.concurrency, channels: settings.channels, request: settings.request, deadlineMs: settings.deadlineMs });
    generator.start();
    try {
      await sleep(settings.warmupSeconds * 1000);
      await openWindow();
      generator.beginWindow();
      await tickUntil(settings.durationSeconds, () => generator.completed, onTick).done;
      load = generator.endWindow();
      cpuAfter = server.cpuSeconds();
      mainAfter = server.mainThreadCpuSeconds();
      machineAfter = readMachineCpu();
    } finally {
      await generator.stop();
    }
    servedTotal = generator.completed;
  }

  const after = await stats?.read();
  const cpuSeconds = cpuAfter - cpuBefore;
  const serverCpuPct = (cpuSeconds / load.seconds) * 100;
  const machineBusyPct = ((machineAfter.busySeconds - machineBefore.busySeconds) / load.seconds) * 100;
  // With ghz the generator's CPU is not known apart from the neighbours'.
  const otherCpuPct = load.clientCpuPct === undefined ? undefined : Math.max(0, machineBusyPct - serverCpuPct - load.clientCpuPct);
  return {
    spec,
    label: scenarioLabel(spec),
    load,
    meanBatch: before && after ? meanBatchSize(before, after) : undefined,
    batchTimes: before && after ? batchTimes(before, after) : undefined,
    serverCpuUsPerReq: load.requests > 0 ? (cpuSeconds * 1e6) / load.requests : NaN,
    serverMainThreadUsPerReq: load.requests > 0 ? ((mainAfter - mainBefore) * 1e6) / load.requests : NaN,
    serverCpuPct,
    serverRssMiB: server.rssBytes() / 2 ** 20,
    otherCpuPct,
    servedTotal,
    attempts: 1,
  };
}

/** Calls onTick every second for `seconds`, with the request rate over that second when countNow can say. */
function tickUntil(seconds: number, countNow: () => number | undefined, onTick: OnTick): { done: Promise<void>; cancel(): void } {
  const started = performance.now();
  const end = started + seconds * 1000;
  let cancelled = false;
  const done = (async () => {
    let lastCount = countNow();
    let lastAt = started;
    while (!cancelled) {
      const now = performance.now();
      if (now >= end) return;
      await sleep(Math.min(1000, end - now));
      const at = performance.now();
      const count = countNow();
      const rps = count !== undefined && lastCount !== undefined ? ((count - lastCount) * 1000) / (at - lastAt) : undefined;
      lastCount = count;
      lastAt = at;
      if (!cancelled) onTick((at - started) / 1000, rps);
    }
  })();
  return { done, cancel: () => (cancelled = true) };
}
