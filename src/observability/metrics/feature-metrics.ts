/**
 * Per-column statistics of 2-D float inputs (feature-statistics.ts), read from each loaded version
 * when Prometheus scrapes, as the per-model metrics are. Since the version loaded; the mean over a
 * window is delta(inference_input_feature_sum[w]) / increase(inference_input_feature_count[w]).
 * A column shows once it has seen a value, its min and max once it has seen a finite one.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ModelRepository } from '../../repository/model-repository';
import type { InputFeatureStatistics } from '../feature-statistics';
import { loadedVersions, versionLabels } from './loaded-versions';

interface ColumnMetric {
  readonly name: string;
  readonly help: string;
  /** The sum can fall, and min and max move both ways: those are gauges. */
  readonly kind: typeof Counter | typeof Gauge;
  read(input: InputFeatureStatistics, column: number): number | undefined;
}

const finite = (s: InputFeatureStatistics, c: number, value: number): number | undefined => (s.count[c] > 0 ? value : undefined);

const METRICS: readonly ColumnMetric[] = [
  { name: 'inference_input_feature_count', help: 'Finite values seen in one column of a 2-D float input', kind: Counter, read: (s, c) => s.count[c] },
  { name: 'inference_input_feature_sum', help: 'Sum of the finite values seen in one column of a 2-D float input', kind: Gauge, read: (s, c) => s.sum[c] },
  { name: 'inference_input_feature_min', help: 'Smallest finite value seen in one column of a 2-D float input since the version loaded', kind: Gauge, read: (s, c) => finite(s, c, s.min[c]) },
  { name: 'inference_input_feature_max', help: 'Largest finite value seen in one column of a 2-D float input since the version loaded', kind: Gauge, read: (s, c) => finite(s, c, s.max[c]) },
  { name: 'inference_input_feature_nonfinite_total', help: 'NaN and infinite values seen in one column of a 2-D float input', kind: Counter, read: (s, c) => s.nonFinite[c] },
];

export function registerFeatureMetrics(registry: Registry, repository: ModelRepository): void {
  for (const metric of METRICS) {
    // Each registers itself with `registry`; nothing else holds it.
    new metric.kind({
      name: metric.name,
      help: metric.help,
      labelNames: ['model', 'version', 'input', 'column'],
      registers: [registry],
      collect(this: Counter | Gauge) {
        this.reset();
        for (const v of loadedVersions(repository)) {
          for (const input of v.features.inputs) {
            for (let c = 0; c < input.columns; c++) {
              if (input.count[c] + input.nonFinite[c] === 0) continue;
              const value = metric.read(input, c);
              if (value === undefined) continue;
              const labels = { ...versionLabels(v), input: input.input, column: String(c) };
              if (this instanceof Gauge) this.set(labels, value);
              else this.inc(labels, value);
            }
          }
        }
      },
    });
  }
}
