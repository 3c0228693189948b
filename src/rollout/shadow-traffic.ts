/**
 * Shadow traffic: a share of the requests that pinned no version (the traffic the rollout routes),
 * once answered by a version other than the shadow, is run again on the rollout's shadow version
 * in the background, and the two outputs compared (shadow-job.ts).
 *
 * The caller pays nothing: the offer comes after its reply was handed to the transport, and the
 * shadow is submitted on a later turn of the event loop (setImmediate), so the other jobs of the
 * same batch are answered first too. A shadow is dropped first under load: it is submitted only
 * while the shadow version has nothing queued and an idle instance, at its lowest priority level,
 * so it never waits ahead of, or displaces, that version's own requests. The shadow version is read
 * from the model's current entry at submission, so a reload or an unload in between drops it.
 */
import type { Admission } from '../dataplane/admission';
import { validateRequest } from '../dataplane/validate-request';
import type { ShadowMetrics } from '../observability/metrics/shadow-metrics';
import type { ModelRepository } from '../repository/model-repository';
import type { ModelVersion, ServedVersion } from '../repository/model-version';
import type { Tensor } from '../tensor/tensor';
import { ShadowJob } from './shadow-job';

export class ShadowTraffic {
  /** Bound once: setImmediate takes it with arguments, so an offer makes no closure. */
  private readonly submitBound = this.submit.bind(this);

  constructor(
    private readonly repository: ModelRepository,
    private readonly admission: Admission,
    private readonly metrics: ShadowMetrics,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * After `served` answered an unpinned request with `servedOutputs`: draws whether to shadow it.
   * The inputs and outputs are the caller's, referenced, not copied: nothing writes them after
   * decoding, and the scheduler's merge copies inputs into fresh buffers before it transfers any.
   */
  offer(served: ServedVersion, inputs: readonly Tensor[], outputs: readonly string[], servedOutputs: readonly Tensor[]): void {
    const shadow = this.repository.get(served.name)?.rollout?.config.shadow;
    if (!shadow || shadow.version === served.version || !(this.random() < shadow.fraction)) return;
    setImmediate(this.submitBound, served, inputs, outputs, servedOutputs);
  }

  private submit(served: ServedVersion, inputs: readonly Tensor[], outputs: readonly string[], servedOutputs: readonly Tensor[]): void {
    const entry = this.repository.get(served.name);
    const shadow = entry?.rollout?.config.shadow;
    // The rollout lost its shadow meanwhile: nothing is asked of any version any more.
    if (!shadow) return;
    const version = entry!.versions.get(shadow.version);
    if (!version || version.kind !== 'onnx' || !version.ready || !this.admission.open || version.scheduler.pending >= version.pool.size) {
      this.metrics.outcome(served.name, shadow.version, 'dropped');
      return;
    }
    let job: ShadowJob;
    try {
      const shape = validateRequest(version.config, inputs, outputs);
      job = new ShadowJob(version, served.version, inputs, shape.rows, shape.shapeKey, shape.outputs, servedOutputs, lowestLevel(version), this.metrics);
    } catch {
      // The shadow version takes other inputs or lacks an output: nothing to compare.
      this.metrics.outcome(served.name, shadow.version, 'failed');
      return;
    }
    try {
      version.scheduler.submit(job);
    } catch {
      // Refused by the queue (full at that level): dropped like any shadow that would wait.
      this.metrics.outcome(served.name, shadow.version, 'dropped');
    }
  }
}

function lowestLevel(version: ModelVersion): number {
  const levels = version.config.dynamicBatching?.priorityLevels ?? 0;
  return Math.max(1, levels);
}
