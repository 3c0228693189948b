/**
 * Triton's per-model metrics, and the version info metric, read from each loaded version when
 * Prometheus scrapes: nothing is recorded for them on the request path. Every collect() starts
 * from an empty family, so the series of a version that is gone go with it.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ModelRepository } from '../../repository/model-repository';
import type { ModelStatistics } from '../model-statistics';
import { FAILURE_REASON, FAILURE_REASONS } from './failure-reason';
import { loadedModelVersions, loadedVersions, versionLabels } from './loaded-versions';
import type { ModelFileDigests } from './model-file-digests';

interface DerivedCounter {
  readonly name: string;
  readonly help: string;
  read(stats: ModelStatistics): number;
}

/** Triton counts microseconds in whole numbers. */
const micros = (ns: number): number => Math.floor(ns / 1000);

/** Triton's counters, with its names and units, from ModelStatistics. */
const COUNTERS: readonly DerivedCounter[] = [
  { name: 'nv_inference_request_success', help: 'Number of successful inference requests, all batch sizes', read: (s) => s.success.count },
  { name: 'nv_inference_count', help: 'Number of inferences performed: a request of n rows counts n', read: (s) => s.inferenceCount },
  { name: 'nv_inference_exec_count', help: 'Number of model executions (batches) performed', read: (s) => s.executionCount },
  {
    name: 'nv_inference_request_duration_us',
    help: 'Cumulative end-to-end duration of successful inference requests in microseconds',
    read: (s) => micros(s.success.ns),
  },
  {
    name: 'nv_inference_queue_duration_us',
    help: 'Cumulative time requests waited in the scheduling queue in microseconds',
    read: (s) => micros(s.queue.ns),
  },
  {
    name: 'nv_inference_compute_input_duration_us',
    help: 'Cumulative compute input duration in microseconds, each request charged its whole batch',
    read: (s) => micros(s.computeInput.ns),
  },
  {
    name: 'nv_inference_compute_infer_duration_us',
    help: 'Cumulative compute inference duration in microseconds, each request charged its whole batch',
    read: (s) => micros(s.computeInfer.ns),
  },
  {
    name: 'nv_inference_compute_output_duration_us',
    help: 'Cumulative compute output duration in microseconds, each request charged its whole batch',
    read: (s) => micros(s.computeOutput.ns),
  },
];

export function registerModelMetrics(registry: Registry, repository: ModelRepository, digests: ModelFileDigests): void {
  // The metrics register themselves with `registry`; nothing else holds them.
  for (const counter of COUNTERS) {
    new Counter({
      name: counter.name,
      help: counter.help,
      labelNames: ['model', 'version'],
      registers: [registry],
      collect() {
        this.reset();
        for (const v of loadedVersions(repository)) this.inc(versionLabels(v), counter.read(v.stats));
      },
    });
  }

  new Counter({
    name: 'nv_inference_request_failure',
    help: 'Number of failed inference requests, all batch sizes, by Triton failure reason',
    labelNames: ['model', 'version', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of loadedVersions(repository)) {
        for (const reason of FAILURE_REASONS) {
          let count = 0;
          for (const [code, n] of v.stats.failures) if (FAILURE_REASON[code] === reason) count += n;
          this.inc({ ...versionLabels(v), reason }, count);
        }
      }
    },
  });

  new Gauge({
    name: 'nv_inference_pending_request_count',
    help: 'Instantaneous number of requests admitted to the queue and not yet executing',
    labelNames: ['model', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of loadedModelVersions(repository)) this.set(versionLabels(v), v.scheduler.queued);
    },
  });

  new Gauge({
    name: 'inference_model_version_info',
    help: 'Always 1 for each loaded model version: its execution provider and the sha256 of its model file',
    labelNames: ['model', 'version', 'provider', 'sha256'],
    registers: [registry],
    async collect() {
      const versions = [...loadedModelVersions(repository)];
      const sha256s = await Promise.all(versions.map((v) => digests.of(v)));
      // Reset only after the await, so that two overlapping scrapes cannot interleave their writes.
      this.reset();
      versions.forEach((v, i) => {
        const sha256 = sha256s[i];
        if (sha256 !== undefined) this.set({ ...versionLabels(v), provider: v.provider, sha256 }, 1);
      });
    },
  });
}
