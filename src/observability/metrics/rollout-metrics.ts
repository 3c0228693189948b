/** Each model's rollout weights as config.json gives them, read from the repository's entries at scrape time. */
import { Gauge, type Registry } from 'prom-client';
import type { ModelRepository } from '../../repository/model-repository';

export function registerRolloutMetrics(registry: Registry, repository: ModelRepository): void {
  // The gauge registers itself with `registry`; nothing else holds it.
  new Gauge({
    name: 'inference_rollout_weight',
    help: 'The rollout weight of each version a model rollout names; a model without a rollout has none',
    labelNames: ['model', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      for (const entry of repository.entries()) {
        for (const [version, weight] of entry.rollout?.config.weights ?? []) this.set({ model: entry.name, version: String(version) }, weight);
      }
    },
  });
}
