/**
 * Per-column statistics of a model version's 2-D float inputs (config.json `statistics`), so that
 * drift shows on a dashboard without the data being logged: per column, the count, sum, min and
 * max of its finite values, and how many were NaN or infinite (which would poison the others).
 * Accumulated since the version loaded, from every request accepted for it; read when Prometheus
 * scrapes (metrics/feature-metrics.ts).
 */
import type { ModelConfig } from '../repository/model-config';
import { fp16IsNonFinite, fp16ToNumber } from '../tensor/float16';
import type { Tensor } from '../tensor/tensor';

/**
 * Columns one input may follow. Each column is five arrays' slot here, a loop step on every
 * scrape and five Prometheus series per loaded version; a mistyped count must fail the load,
 * not allocate gigabytes or make every scrape hold the event loop.
 */
export const MAX_STATISTICS_COLUMNS = 1024;

export class InputFeatureStatistics {
  readonly count: Float64Array;
  readonly sum: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly nonFinite: Float64Array;

  constructor(
    readonly input: string,
    /** The first `columns` columns are followed; an input narrower than that fills fewer. */
    readonly columns: number,
  ) {
    this.count = new Float64Array(columns);
    this.sum = new Float64Array(columns);
    this.min = new Float64Array(columns).fill(Infinity);
    this.max = new Float64Array(columns).fill(-Infinity);
    this.nonFinite = new Float64Array(columns);
  }

  /** A [rows, width] tensor of FP16, FP32 or FP64 (the config admits no other). */
  record(tensor: Tensor): void {
    const width = tensor.shape[1];
    const followed = Math.min(this.columns, width);
    if (tensor.datatype === 'FP16') {
      for (let c = 0; c < followed; c++) this.recordFp16Column(tensor.data as Uint16Array, c, width);
    } else {
      for (let c = 0; c < followed; c++) this.recordColumn(tensor.data as Float32Array | Float64Array, c, width);
    }
  }

  /** One column at a time, its running values in locals: a tight loop over the view of the raw contents. */
  private recordColumn(data: Float32Array | Float64Array, column: number, width: number): void {
    let count = 0;
    let sum = 0;
    let min = this.min[column];
    let max = this.max[column];
    let nonFinite = 0;
    for (let i = column; i < data.length; i += width) {
      const v = data[i];
      // v - v is NaN exactly for NaN and the infinities.
      if (v - v !== 0) {
        nonFinite++;
        continue;
      }
      count++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    this.store(column, count, sum, min, max, nonFinite);
  }

  private recordFp16Column(bits: Uint16Array, column: number, width: number): void {
    let count = 0;
    let sum = 0;
    let min = this.min[column];
    let max = this.max[column];
    let nonFinite = 0;
    for (let i = column; i < bits.length; i += width) {
      if (fp16IsNonFinite(bits[i])) {
        nonFinite++;
        continue;
      }
      const v = fp16ToNumber(bits[i]);
      count++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    this.store(column, count, sum, min, max, nonFinite);
  }

  private store(column: number, count: number, sum: number, min: number, max: number, nonFinite: number): void {
    this.count[column] += count;
    this.sum[column] += sum;
    this.min[column] = min;
    this.max[column] = max;
    this.nonFinite[column] += nonFinite;
  }
}

/** The followed inputs of one model version; none unless its configuration asks. */
export class FeatureStatistics {
  readonly inputs: readonly InputFeatureStatistics[];

  constructor(config: ModelConfig) {
    this.inputs = config.inputs.flatMap((spec) => (spec.statistics ? [new InputFeatureStatistics(spec.name, spec.statistics.columns)] : []));
  }

  record(tensors: readonly Tensor[]): void {
    for (const followed of this.inputs) {
      // The request was validated: each input is present once, of its declared type and rank.
      for (const tensor of tensors) if (tensor.name === followed.input) followed.record(tensor);
    }
  }
}
