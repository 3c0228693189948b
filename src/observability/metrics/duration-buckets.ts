/**
 * Durations counted into fixed buckets on the request path, published as Prometheus histograms at
 * scrape time. A prom-client Histogram hashes its labels and allocates on every observe, through a
 * labels() child too: 350 to 480 ns each on the 2-vCPU EPYC of docs/benchmarks.md. This is a few
 * comparisons and one increment, about 10 ns.
 */

/** Upper bounds in seconds: 100 µs to 10 s, a 1-2.5-5 series, so a tiny model and a slow one both land inside. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const BOUNDS_NS = Float64Array.from(DURATION_BUCKETS_SECONDS, (seconds) => seconds * 1e9);

export class DurationBuckets {
  /** counts[i]: durations above bound i-1 and at most bound i; the last slot counts those above every bound. */
  readonly counts = new Float64Array(BOUNDS_NS.length + 1);

  observe(ns: number): void {
    this.counts[bucketIndex(BOUNDS_NS, ns)]++;
  }
}

/** The first bucket whose upper bound holds `value`; bounds.length when none does. */
export function bucketIndex(bounds: ArrayLike<number>, value: number): number {
  let i = 0;
  while (i < bounds.length && value > bounds[i]) i++;
  return i;
}
