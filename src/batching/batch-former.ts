/**
 * Where a batch is formed: which queued jobs leave together, and whether they should
 * leave now or wait for more (Triton's dynamic batcher rules).
 */
import type { QueuedJob } from './policy-queue';

export interface BatchLimits {
  /** Rows per run (max_batch_size). */
  readonly maxRows: number;
  /** Jobs per run: 1 when the model runs one request at a time. */
  readonly maxJobs: number;
  /** Preferred batch sizes, possibly none. */
  readonly preferredSizes: ReadonlySet<number>;
}

export interface BatchChoice {
  readonly entries: QueuedJob[];
  readonly rows: number;
}

export interface Candidate extends BatchChoice {
  /** No later arrival could join it. */
  readonly closed: boolean;
  /** Enqueue time of its longest-waiting job: the queue delay runs from here (Infinity when empty). */
  readonly oldestEnqueuedAt: number;
}

/**
 * The longest run of jobs from the head of the queue (in service order) that fit together:
 * same non-batch shapes, within maxRows and maxJobs.
 */
export function candidateBatch(waiting: Iterable<QueuedJob>, limits: BatchLimits): Candidate {
  const entries: QueuedJob[] = [];
  let rows = 0;
  let key: string | undefined;
  let oldestEnqueuedAt = Number.POSITIVE_INFINITY;
  let closed = false;
  for (const entry of waiting) {
    const { job } = entry;
    key ??= job.shapeKey;
    if (job.shapeKey !== key || rows + job.rows > limits.maxRows || entries.length >= limits.maxJobs) {
      closed = true;
      break;
    }
    entries.push(entry);
    rows += job.rows;
    if (entry.enqueuedAt < oldestEnqueuedAt) oldestEnqueuedAt = entry.enqueuedAt;
  }
  closed ||= rows >= limits.maxRows || entries.length >= limits.maxJobs;
  return { entries, rows, closed, oldestEnqueuedAt };
}

/**
 * Decides what leaves now; undefined means wait for more requests (until the delay runs out).
 * A full or closed batch leaves at once; otherwise the largest prefix of a preferred size;
 * otherwise everything once the oldest job has waited the maximum queue delay.
 */
export function chooseBatch(candidate: Candidate, limits: BatchLimits, delayExpired: boolean): BatchChoice | undefined {
  if (candidate.entries.length === 0) return undefined;
  if (candidate.closed || delayExpired) return candidate;
  if (limits.preferredSizes.size > 0) {
    let rows = 0;
    let best = 0;
    let bestRows = 0;
    candidate.entries.forEach((entry, i) => {
      rows += entry.job.rows;
      if (limits.preferredSizes.has(rows)) {
        best = i + 1;
        bestRows = rows;
      }
    });
    if (best > 0) return { entries: candidate.entries.slice(0, best), rows: bestRows };
  }
  return undefined;
}
