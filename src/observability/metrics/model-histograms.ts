/**
 * The per-version histograms beyond Triton's metrics, written in Prometheus' text format at
 * scrape time from counts that ModelStatistics keeps. prom-client's Histogram can only be fed
 * through observe() on the request path (see duration-buckets.ts) and has no way to publish counts
 * kept elsewhere, so these families are written here and appended to the registry's text.
 */
import type { ModelStatistics } from '../model-statistics';
import type { ServedVersion } from '../../repository/model-version';
import { bucketIndex, DURATION_BUCKETS_SECONDS } from './duration-buckets';
import { versionLabels } from './loaded-versions';

/** Rows per execution: powers of two up to 1024, the sizes batches are usually configured in. */
const BATCH_SIZE_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

interface BucketedValues {
  /** Per bucket, not cumulative; one more than the bounds, for values above the last. */
  readonly counts: ArrayLike<number>;
  readonly sum: number;
}

interface HistogramFamily {
  readonly name: string;
  readonly help: string;
  readonly bounds: readonly number[];
  read(stats: ModelStatistics): BucketedValues;
}

const HISTOGRAMS: readonly HistogramFamily[] = [
  {
    name: 'inference_request_duration_seconds',
    help: 'End-to-end duration of successful inference requests in seconds, from acceptance to outputs (the span of nv_inference_request_duration_us)',
    bounds: DURATION_BUCKETS_SECONDS,
    read: (s) => ({ counts: s.successBuckets.counts, sum: s.success.ns / 1e9 }),
  },
  {
    name: 'inference_queue_duration_seconds',
    help: 'Time each executed request waited in the scheduling queue in seconds (the span of nv_inference_queue_duration_us)',
    bounds: DURATION_BUCKETS_SECONDS,
    read: (s) => ({ counts: s.queueBuckets.counts, sum: s.queue.ns / 1e9 }),
  },
  {
    name: 'inference_batch_size',
    help: 'Rows per model execution (sum: nv_inference_count, count: nv_inference_exec_count)',
    bounds: BATCH_SIZE_BUCKETS,
    read: batchSizes,
  },
];

/** Every histogram family, each with one series per version, as exposition text ending in a newline. */
export function histogramText(versions: readonly ServedVersion[]): string {
  const lines: string[] = [];
  for (const family of HISTOGRAMS) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} histogram`);
    for (const v of versions) {
      const { model, version } = versionLabels(v);
      const labels = `model="${escapeLabelValue(model)}",version="${version}"`;
      const { counts, sum } = family.read(v.stats);
      let cumulative = 0;
      family.bounds.forEach((bound, i) => {
        cumulative += counts[i];
        lines.push(`${family.name}_bucket{${labels},le="${bound}"} ${cumulative}`);
      });
      cumulative += counts[family.bounds.length];
      lines.push(`${family.name}_bucket{${labels},le="+Inf"} ${cumulative}`, `${family.name}_sum{${labels}} ${sum}`, `${family.name}_count{${labels}} ${cumulative}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** From Triton's batch statistics, which already count executions per batch size. */
function batchSizes(stats: ModelStatistics): BucketedValues {
  const counts = new Array<number>(BATCH_SIZE_BUCKETS.length + 1).fill(0);
  let sum = 0;
  for (const [size, perSize] of stats.batchStats) {
    counts[bucketIndex(BATCH_SIZE_BUCKETS, size)] += perSize.computeInfer.count;
    sum += size * perSize.computeInfer.count;
  }
  return { counts, sum };
}

/** The text format's escapes for a label value: backslash, double quote and newline. */
function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}
