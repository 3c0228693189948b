/**
 * Shadow traffic's metrics. Unlike Triton's counters these are recorded as they happen: only a
 * shadowed request records them, after its caller was answered, and each costs a whole extra
 * inference, so prom-client's own observe() (under 1 µs) is nothing beside it. They are made
 * without a registry, so that the server's metrics registry (made only when the metrics port
 * is on) can take them.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Divergence } from '../../rollout/shadow-divergence';

export type ShadowOutcome = 'compared' | 'dropped' | 'failed';

/** Which output of which served and shadow version a comparison is about. */
export interface ComparedOutput {
  readonly model: string;
  readonly servedVersion: number;
  readonly shadowVersion: number;
  readonly output: string;
}

/** 1e-7 to 1e3, a decade each. */
const DIFFERENCE_BUCKETS = Array.from({ length: 11 }, (_, i) => Number(`1e${i - 7}`));
const OUTPUT_LABELS = ['model', 'served_version', 'shadow_version', 'output'];

export class ShadowMetrics {
  private readonly requests = new Counter({
    name: 'inference_shadow_requests_total',
    help: 'Requests offered to a shadow version (model, shadow version), by outcome: compared with the served outputs, dropped (shadow version busy, not ready, or the server draining), failed',
    labelNames: ['model', 'version', 'outcome'],
    registers: [],
  });

  private readonly maxAbs = new Histogram({
    name: 'inference_shadow_max_abs_difference',
    help: 'Largest absolute difference between a float output as served and as the shadow version computed it, per shadowed request',
    labelNames: OUTPUT_LABELS,
    buckets: DIFFERENCE_BUCKETS,
    registers: [],
  });

  private readonly argmaxRows = new Counter({
    name: 'inference_shadow_argmax_rows_total',
    help: 'Rows of 2-D float outputs [batch, classes] compared between served and shadow versions',
    labelNames: OUTPUT_LABELS,
    registers: [],
  });

  private readonly argmaxAgreeing = new Counter({
    name: 'inference_shadow_argmax_agreeing_rows_total',
    help: 'Rows of 2-D float outputs whose argmax is the same in the served and shadow outputs',
    labelNames: OUTPUT_LABELS,
    registers: [],
  });

  private readonly exact = new Counter({
    name: 'inference_shadow_exact_comparisons_total',
    help: 'Non-float outputs compared between served and shadow versions, by whether they were equal',
    labelNames: [...OUTPUT_LABELS, 'equal'],
    registers: [],
  });

  registerWith(registry: Registry): void {
    for (const metric of [this.requests, this.maxAbs, this.argmaxRows, this.argmaxAgreeing, this.exact]) registry.registerMetric(metric);
  }

  outcome(model: string, shadowVersion: number, outcome: ShadowOutcome): void {
    this.requests.inc({ model, version: String(shadowVersion), outcome });
  }

  /** One output's divergence; a mismatch of datatype or shape is the caller's to count as a failure. */
  divergence(at: ComparedOutput, d: Divergence): void {
    const labels = { model: at.model, served_version: String(at.servedVersion), shadow_version: String(at.shadowVersion), output: at.output };
    if (d.kind === 'exact') {
      this.exact.inc({ ...labels, equal: String(d.equal) });
    } else if (d.kind === 'float') {
      this.maxAbs.observe(labels, d.maxAbs);
      if (d.argmax) {
        this.argmaxRows.inc(labels, d.argmax.rows);
        this.argmaxAgreeing.inc(labels, d.argmax.agreeing);
      }
    }
  }
}
