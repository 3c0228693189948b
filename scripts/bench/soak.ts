/**
 * --soak MINUTES: c=64 unary against a batching server for that long, sampling the child's
 * RSS every 10 s after a warm-up of at least 30 s. Drift = mean RSS of the last window relative to the first,
 * where a window is one minute (or a third of the soak when it is shorter than 3 minutes).
 * With ghz (the generator users load-test with), ghz runs the warm-up and the soak in one go and
 * its totals cover both; the per-sample request rate is then the Node generator's only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { startGhzSummary } from './ghz';
import { NodeLoadGenerator } from './load-generator';
import type { LoadWindow } from './load-result';
import type { LatencySummary } from './latency-recorder';
import type { ChildServer } from './server-process';
import type { RunSettings } from './scenario-runner';

export const SOAK_SAMPLE_SECONDS = 10;
/**
 * At least this much load before the first sample: the heap grows to its working size in the
 * first seconds (under ghz, 127 MiB after 2 s, then 170 to 200 MiB for good), and a first window
 * that holds that ramp reads as drift.
 */
const SOAK_MIN_WARMUP_SECONDS = 30;
const MIB = 2 ** 20;

export interface SoakSample {
  readonly seconds: number;
  readonly rssMiB: number;
  /** Request rate since the previous sample. */
  readonly rps: number;
}

export interface SoakResult {
  readonly minutes: number;
  readonly concurrency: number;
  readonly samples: readonly SoakSample[];
  readonly firstMiB: number;
  readonly lastMiB: number;
  readonly minMiB: number;
  readonly maxMiB: number;
  readonly windowSeconds: number;
  readonly firstWindowMeanMiB: number;
  readonly lastWindowMeanMiB: number;
  readonly driftPct: number;
  readonly pass: boolean;
  readonly requests: number;
  readonly errors: number;
  readonly latency: LatencySummary;
  readonly serverCpuUsPerReq: number;
}

export async function runSoak(
  server: ChildServer,
  settings: RunSettings,
  minutes: number,
  concurrency: number,
  onSample: (sample: SoakSample, totalSeconds: number) => void,
): Promise<SoakResult> {
  const totalSeconds = minutes * 60;
  const warmupSeconds = Math.max(settings.warmupSeconds, SOAK_MIN_WARMUP_SECONDS);
  const cpuAtStart = server.cpuSeconds();
  const ghz = settings.ghz
    ? startGhzSummary({ bin: settings.ghz.bin, address: server.address, concurrency, seconds: warmupSeconds + totalSeconds, deadlineMs: settings.deadlineMs, requestFile: settings.ghz.requestFile, cpus: settings.ghz.cpus })
    : undefined;
  // Awaited once the samples are taken; a ghz that fails sooner must not count as unhandled meanwhile.
  ghz?.catch(() => undefined);
  const generator = ghz ? undefined : new NodeLoadGenerator({ address: server.address, mode: 'unary', concurrency, channels: settings.channels, request: settings.request, deadlineMs: settings.deadlineMs });
  generator?.start();
  // The first sample's rate covers the warm-up.
  let lastCount = 0;
  let lastAt = performance.now();
  const samples: SoakSample[] = [];
  try {
    await sleep(warmupSeconds * 1000);
    const cpuBefore = server.cpuSeconds();
    generator?.beginWindow();
    const started = performance.now();
    const take = (): void => {
      const at = performance.now();
      const completed = generator?.completed ?? Number.NaN;
      const sample = { seconds: Math.round((at - started) / 1000), rssMiB: server.rssBytes() / MIB, rps: ((completed - lastCount) * 1000) / Math.max(1, at - lastAt) };
      lastCount = completed;
      lastAt = at;
      samples.push(sample);
      onSample(sample, totalSeconds);
    };
    take();
    for (let next = SOAK_SAMPLE_SECONDS; next <= totalSeconds; next += SOAK_SAMPLE_SECONDS) {
      await sleep(Math.max(0, started + next * 1000 - performance.now()));
      take();
    }
    const window: LoadWindow = ghz ? await ghz : generator!.endWindow();
    const cpuSeconds = server.cpuSeconds() - (ghz ? cpuAtStart : cpuBefore);

    const windowSeconds = Math.min(60, Math.floor(totalSeconds / 3));
    const mean = (list: readonly SoakSample[]): number => list.reduce((s, x) => s + x.rssMiB, 0) / list.length;
    const first = samples.filter((s) => s.seconds <= windowSeconds);
    const last = samples.filter((s) => s.seconds >= totalSeconds - windowSeconds);
    const firstWindowMeanMiB = mean(first);
    const lastWindowMeanMiB = mean(last);
    const driftPct = ((lastWindowMeanMiB - firstWindowMeanMiB) / firstWindowMeanMiB) * 100;
    const rss = samples.map((s) => s.rssMiB);
    return {
      minutes,
      concurrency,
      samples,
      firstMiB: rss[0],
      lastMiB: rss[rss.length - 1],
      minMiB: Math.min(...rss),
      maxMiB: Math.max(...rss),
      windowSeconds,
      firstWindowMeanMiB,
      lastWindowMeanMiB,
      driftPct,
      pass: Math.abs(driftPct) <= 5,
      requests: window.requests,
      errors: window.errors,
      latency: { p50Ms: window.p50Ms, p90Ms: window.p90Ms, p99Ms: window.p99Ms, meanMs: window.meanMs, maxMs: window.maxMs },
      serverCpuUsPerReq: (cpuSeconds * 1e6) / window.requests,
    };
  } finally {
    await generator?.stop();
  }
}
