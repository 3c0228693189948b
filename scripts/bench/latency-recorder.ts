/** Per-request latencies in a preallocated, doubling Float64Array; percentiles by nearest rank. */

export interface LatencySummary {
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly maxMs: number;
}

export class LatencyRecorder {
  private values: Float64Array;
  private size = 0;

  constructor(capacity = 1 << 20) {
    this.values = new Float64Array(capacity);
  }

  get count(): number {
    return this.size;
  }

  record(ms: number): void {
    if (this.size === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size++] = ms;
  }

  reset(): void {
    this.size = 0;
  }

  /** How many recorded values exceed `ms`. */
  countAbove(ms: number): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) if (this.values[i] > ms) n++;
    return n;
  }

  summary(): LatencySummary {
    return summarize(this.values.subarray(0, this.size));
  }
}

export function summarize(samples: Float64Array): LatencySummary {
  if (samples.length === 0) return { p50Ms: NaN, p90Ms: NaN, p99Ms: NaN, meanMs: NaN, maxMs: NaN };
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i];
  return {
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    meanMs: sum / sorted.length,
    maxMs: sorted[sorted.length - 1],
  };
}

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
