/**
 * Reads float weights out of an ONNX file, and a plain-TypeScript forward pass of stock_scorer
 * built on them, so tests can check served outputs against an independent computation.
 */
import * as fs from 'fs';
import { onnx } from 'onnx-proto';

export interface FloatInitializer {
  readonly dims: number[];
  readonly data: Float32Array;
}

export type Weights = ReadonlyMap<string, FloatInitializer>;

/** Every FLOAT initializer of the model's main graph, by name; raw_data and float_data both handled. */
export function readInitializers(model: string | Uint8Array): Map<string, FloatInitializer> {
  const proto = onnx.ModelProto.decode(typeof model === 'string' ? fs.readFileSync(model) : model);
  const result = new Map<string, FloatInitializer>();
  for (const tensor of proto.graph?.initializer ?? []) {
    if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    const name = tensor.name ?? '';
    const dims = (tensor.dims ?? []).map((d) => (typeof d === 'number' ? d : d.toNumber()));
    const count = dims.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (tensor.rawData && tensor.rawData.length > 0) {
      if (tensor.rawData.length !== count * 4) {
        throw new Error(`initializer ${name}: ${tensor.rawData.length} raw bytes for ${count} floats`);
      }
      // raw_data is little-endian and may sit at an unaligned offset inside the decoded buffer.
      const view = new DataView(tensor.rawData.buffer, tensor.rawData.byteOffset, tensor.rawData.byteLength);
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
    } else {
      data = Float32Array.from(tensor.floatData ?? []);
      if (data.length !== count) {
        throw new Error(`initializer ${name}: ${data.length} float_data values for ${count} elements`);
      }
    }
    result.set(name, { dims, data });
  }
  return result;
}

function weight(weights: Weights, name: string, rank: number): FloatInitializer {
  const w = weights.get(name);
  if (!w) throw new Error(`stock_scorer weight ${name} missing`);
  if (w.dims.length !== rank) throw new Error(`stock_scorer weight ${name} has rank ${w.dims.length}, expected ${rank}`);
  return w;
}

/**
 * stock_scorer's forward pass: standardized = (x - feature_mean) / feature_std (float32 at each step,
 * as ONNX Runtime does), score = relu(standardized @ w1 + b1) @ w2 + b2 (sums in double, rounded to float32).
 * `features` is row-major [rows, nFeatures].
 */
export function stockScorerReference(
  features: Float32Array,
  rows: number,
  weights: Weights,
): { score: Float32Array; standardized: Float32Array } {
  const mean = weight(weights, 'feature_mean', 1);
  const std = weight(weights, 'feature_std', 1);
  const w1 = weight(weights, 'w1', 2);
  const b1 = weight(weights, 'b1', 1);
  const w2 = weight(weights, 'w2', 2);
  const b2 = weight(weights, 'b2', 1);
  const [nIn, hidden] = w1.dims;
  const nOut = w2.dims[1];
  if (features.length !== rows * nIn) {
    throw new Error(`features has ${features.length} values, expected ${rows} x ${nIn}`);
  }

  const standardized = new Float32Array(rows * nIn);
  const score = new Float32Array(rows * nOut);
  const h = new Float32Array(hidden);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < nIn; i++) {
      const centered = Math.fround(features[r * nIn + i] - mean.data[i]);
      standardized[r * nIn + i] = centered / std.data[i];
    }
    for (let j = 0; j < hidden; j++) {
      let sum = 0;
      for (let i = 0; i < nIn; i++) sum += standardized[r * nIn + i] * w1.data[i * hidden + j];
      h[j] = Math.max(0, Math.fround(Math.fround(sum) + b1.data[j]));
    }
    for (let k = 0; k < nOut; k++) {
      let sum = 0;
      for (let j = 0; j < hidden; j++) sum += h[j] * w2.data[j * nOut + k];
      score[r * nOut + k] = Math.fround(sum) + b2.data[k];
    }
  }
  return { score, standardized };
}
