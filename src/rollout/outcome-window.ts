/**
 * One version's recent requests over a sliding window: counts, failures and a log-scale latency
 * histogram, in ten buckets that each cover a tenth of the window. Recording costs a bucket check,
 * two increments and a log2; a read sums at most a few hundred numbers.
 */

/** Buckets per window: the window slides in steps of a tenth. */
const BUCKETS = 10;
/** Four bins per octave of microseconds (19% apart), from 1 µs to 2^24 µs (about 17 s). */
const BINS_PER_OCTAVE = 4;
const BINS = 24 * BINS_PER_OCTAVE;

export class OutcomeWindow {
  private readonly bucketMs: number;
  /** The bucket index (time / bucketMs) each slot holds now; -1: empty. */
  private readonly slots = new Float64Array(BUCKETS).fill(-1);
  private readonly requests = new Uint32Array(BUCKETS);
  private readonly failures = new Uint32Array(BUCKETS);
  private readonly latencies = new Uint32Array(BUCKETS * BINS);
  /** The sums over the live buckets, kept as buckets come and go. */
  private windowRequests = 0;
  private windowFailures = 0;
  private readonly windowLatencies = new Uint32Array(BINS);
  /** Since the window was made. */
  totalRequests = 0;
  totalFailures = 0;

  constructor(readonly windowSeconds: number) {
    this.bucketMs = (windowSeconds * 1000) / BUCKETS;
  }

  /** A request answered `latencyMs` after it was accepted; failures count, only successes are timed. */
  record(nowMs: number, latencyMs: number, ok: boolean): void {
    const slot = this.advance(nowMs);
    const i = slot % BUCKETS;
    this.requests[i]++;
    this.windowRequests++;
    this.totalRequests++;
    if (!ok) {
      this.failures[i]++;
      this.windowFailures++;
      this.totalFailures++;
      return;
    }
    const bin = binOf(latencyMs);
    this.latencies[i * BINS + bin]++;
    this.windowLatencies[bin]++;
  }

  /** Requests and failures within the window ending now. */
  counts(nowMs: number): { readonly requests: number; readonly failures: number } {
    this.advance(nowMs);
    return { requests: this.windowRequests, failures: this.windowFailures };
  }

  /** The timed requests' histogram within the window ending now (do not keep: it changes). */
  histogram(nowMs: number): Uint32Array {
    this.advance(nowMs);
    return this.windowLatencies;
  }

  /** Empties the window (not the totals): what follows is judged on its own. */
  restart(): void {
    for (let i = 0; i < BUCKETS; i++) this.clear(i);
  }

  /** Drops the buckets that left the window; returns the current bucket index, its slot made ready. */
  private advance(nowMs: number): number {
    const slot = Math.floor(nowMs / this.bucketMs);
    for (let i = 0; i < BUCKETS; i++) {
      const held = this.slots[i];
      if (held !== -1 && held <= slot - BUCKETS) this.clear(i);
    }
    const i = slot % BUCKETS;
    if (this.slots[i] !== slot) {
      if (this.slots[i] !== -1) this.clear(i);
      this.slots[i] = slot;
    }
    return slot;
  }

  private clear(i: number): void {
    this.windowRequests -= this.requests[i];
    this.windowFailures -= this.failures[i];
    this.requests[i] = 0;
    this.failures[i] = 0;
    for (let b = 0; b < BINS; b++) {
      this.windowLatencies[b] -= this.latencies[i * BINS + b];
      this.latencies[i * BINS + b] = 0;
    }
    this.slots[i] = -1;
  }
}

/**
 * The q-quantile (0 < q <= 1) in ms of the histograms together, as the upper edge of its bin (so
 * at most 19% high); 0 when they hold nothing.
 */
export function quantileMs(histograms: readonly Uint32Array[], q: number): number {
  let total = 0;
  for (const h of histograms) for (let b = 0; b < BINS; b++) total += h[b];
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let b = 0; b < BINS; b++) {
    for (const h of histograms) seen += h[b];
    if (seen >= rank) return 2 ** ((b + 1) / BINS_PER_OCTAVE) / 1000;
  }
  return 2 ** (BINS / BINS_PER_OCTAVE) / 1000;
}

function binOf(latencyMs: number): number {
  const micros = latencyMs * 1000;
  if (!(micros > 1)) return 0;
  return Math.min(BINS - 1, Math.floor(Math.log2(micros) * BINS_PER_OCTAVE));
}
