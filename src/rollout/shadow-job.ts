/**
 * A copy of an answered request, run on the shadow version as a background job: its outputs are
 * compared with those the caller was served, recorded, and dropped. It has no reply; nothing of
 * it reaches the caller.
 */
import { performance } from 'node:perf_hooks';
import { asInferenceError } from '../errors';
import type { InferenceJob } from '../batching/inference-job';
import type { ShadowMetrics } from '../observability/metrics/shadow-metrics';
import type { ModelVersion } from '../repository/model-version';
import type { Tensor } from '../tensor/tensor';
import { divergence, type Divergence } from './shadow-divergence';

export class ShadowJob implements InferenceJob {
  readonly acceptedAt = performance.now();
  readonly deadlineAt = undefined;
  readonly timeoutMicros = undefined;
  readonly cancellation = undefined;

  constructor(
    private readonly shadow: ModelVersion,
    private readonly servedVersion: number,
    readonly inputs: readonly Tensor[],
    readonly rows: number,
    readonly shapeKey: string,
    readonly outputs: readonly string[],
    /** The caller's outputs: read only, never written (the encoder copies from them). */
    private readonly served: readonly Tensor[],
    /** The shadow version's lowest level, so that its real requests leave first. */
    readonly priority: number,
    private readonly metrics: ShadowMetrics,
  ) {}

  resolve(outputs: Tensor[]): void {
    const { shadow, metrics } = this;
    const compared: { output: string; d: Divergence }[] = [];
    for (const out of outputs) {
      const served = this.served.find((t) => t.name === out.name);
      const d = served ? divergence(served, out) : undefined;
      if (!d || d.kind === 'mismatch') {
        metrics.outcome(shadow.name, shadow.version, 'failed');
        return;
      }
      compared.push({ output: out.name, d });
    }
    const at = { model: shadow.name, servedVersion: this.servedVersion, shadowVersion: shadow.version };
    for (const { output, d } of compared) metrics.divergence({ ...at, output }, d);
    metrics.outcome(shadow.name, shadow.version, 'compared');
  }

  /** Counted in the shadow version's statistics like its successes (the scheduler's), and as a failed shadow. */
  reject(err: unknown): void {
    const { shadow } = this;
    shadow.stats.recordFailure((performance.now() - this.acceptedAt) * 1e6, asInferenceError(err).code);
    this.metrics.outcome(shadow.name, shadow.version, 'failed');
  }
}
