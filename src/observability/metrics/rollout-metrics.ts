/** Each model's rollout weights in force and the guards' rollbacks, read from the repository at scrape time. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ModelRepository } from '../../repository/model-repository';

export function registerRolloutMetrics(registry: Registry, repository: ModelRepository): void {
  // The gauge registers itself with `registry`; nothing else holds it.
  new Gauge({
    name: 'inference_rollout_weight',
    help: 'The rollout weight in force (config.json, the admin service or a rollback) of each version a model rollout names; a model without a rollout has none',
    labelNames: ['model', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      for (const entry of repository.entries()) {
        for (const [version, weight] of entry.rollout?.weights ?? []) this.set({ model: entry.name, version: String(version) }, weight);
      }
    },
  });
  new Counter({
    name: 'inference_rollout_rollbacks_total',
    help: "Automatic rollbacks of a rollout's canary by its guard, by cause (error_rate, p99_latency)",
    labelNames: ['model', 'version', 'cause'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { model, version, cause, count } of repository.rollbacks.all()) this.inc({ model, version: String(version), cause }, count);
    },
  });
}
