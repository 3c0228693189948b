/**
 * A deliberately slow ONNX model for batching tests, sized on this machine, and a throw-away
 * model repository to serve it under several configurations.
 *
 * slow: x FLOAT [batch, 8] -> y FLOAT [batch, 4], y = x @ W1 exactly (row by row).
 * The slowness is a chain of [N,N] x [N,N] MatMuls (with Tanh between) seeded by
 * ReduceSum(x * 0), a zero that depends on the input so ONNX Runtime cannot fold it
 * away; its mean times zero is added to y. The chain's cost does not depend on the
 * batch size, and its result never changes y.
 */
import { performance } from 'node:perf_hooks';
import * as ort from '../../src/runtime/onnxruntime';
import { DataType, attr, floatTensor, node, serializeModel, valueInfo } from '../../scripts/onnx/builder';
import { gaussianArray } from '../../scripts/onnx/prng';
import { makeTempDir, writeModelConfig, writeModelFile } from './e2e-helpers';

export const SLOW_FEATURES = 8;
export const SLOW_OUTPUTS = 4;

/** W1 of the slow model, row-major [8, 4]. */
export const SLOW_W1 = gaussianArray(7001, SLOW_FEATURES * SLOW_OUTPUTS, 0.5);

/** The slow model's answer for row-major rows of 8 features. */
export function slowReference(x: Float32Array): Float32Array {
  const rows = x.length / SLOW_FEATURES;
  const y = new Float32Array(rows * SLOW_OUTPUTS);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < SLOW_OUTPUTS; k++) {
      let sum = 0;
      for (let i = 0; i < SLOW_FEATURES; i++) sum += x[r * SLOW_FEATURES + i] * SLOW_W1[i * SLOW_OUTPUTS + k];
      y[r * SLOW_OUTPUTS + k] = sum;
    }
  }
  return y;
}

/** Serialized slow model; `size` and `steps` set the cost of the MatMul chain. */
export function slowModelBytes(size: number, steps: number): Uint8Array {
  const nodes = [
    node('Mul', ['x', 'zero'], ['x_zero'], 'x_times_zero'),
    node('ReduceSum', ['x_zero'], ['s'], 'input_zero', [attr.int('keepdims', 0)]),
    node('Add', ['w', 's'], ['a0'], 'seed'),
  ];
  for (let i = 0; i < steps; i++) {
    nodes.push(node('MatMul', [`a${i}`, 'w'], [`m${i}`], `busy_matmul_${i}`));
    nodes.push(node('Tanh', [`m${i}`], [`a${i + 1}`], `busy_tanh_${i}`));
  }
  nodes.push(
    node('ReduceMean', [`a${steps}`], ['h'], 'busy_mean', [attr.int('keepdims', 0)]),
    node('Mul', ['h', 'zero'], ['h_zero'], 'busy_zero'),
    node('MatMul', ['x', 'w1'], ['y_mm'], 'dense'),
    node('Add', ['y_mm', 'h_zero'], ['y'], 'plus_zero'),
  );
  return serializeModel({
    graphName: 'slow',
    docString: 'y = x @ w1, after a batch-independent chain of MatMuls that only adds zero.',
    inputs: [valueInfo('x', DataType.FLOAT, ['batch', SLOW_FEATURES])],
    outputs: [valueInfo('y', DataType.FLOAT, ['batch', SLOW_OUTPUTS])],
    initializers: [
      floatTensor('zero', [], new Float32Array([0])),
      floatTensor('w', [size, size], gaussianArray(7002, size * size, 1 / Math.sqrt(size))),
      floatTensor('w1', [SLOW_FEATURES, SLOW_OUTPUTS], SLOW_W1),
    ],
    nodes,
  });
}

/** Side of the chain's square MatMuls: a few milliseconds a step on one core of today's CPUs. */
const SLOW_SIZE = 512;
/** The run time the slow model is sized for on the machine running the suite. */
export const SLOW_TARGET_MS = 120;

/**
 * TEST_SLOW_MODEL_COST multiplies the chain's length after it is sized (default 1): 0.25 and 4
 * stand in for a 4x faster and a 4x slower machine than the one that sized it. Tests read the run
 * time the server reports (statistics' compute_infer) rather than assume the target.
 */
export function slowModelCost(): number {
  const raw = process.env.TEST_SLOW_MODEL_COST ?? '1';
  const cost = Number(raw);
  if (!(cost > 0)) throw new Error(`TEST_SLOW_MODEL_COST must be a number above 0, not '${raw}'`);
  return cost;
}

let sized: Promise<Uint8Array> | undefined;

/**
 * The slow model sized so that one run takes about SLOW_TARGET_MS here (times the cost knob):
 * a short chain is timed in-process with the server's session settings (one intra-op thread),
 * and the chain lengthened to match. Sized once per test process.
 */
export function sizedSlowModel(): Promise<Uint8Array> {
  sized ??= (async () => {
    const probeSteps = 8;
    const session = await ort.InferenceSession.create(slowModelBytes(SLOW_SIZE, probeSteps), { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const feeds = { x: new ort.Tensor('float32', new Float32Array(SLOW_FEATURES), [1, SLOW_FEATURES]) };
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await session.run(feeds);
      times.push(performance.now() - started);
    }
    await session.release();
    const perStepMs = times.sort((a, b) => a - b)[2] / probeSteps;
    const steps = Math.max(1, Math.round((SLOW_TARGET_MS / perStepMs) * slowModelCost()));
    return slowModelBytes(SLOW_SIZE, steps);
  })();
  return sized;
}

export interface TempModel {
  readonly name: string;
  /** Contents of config.json; undefined writes none (auto-config). */
  readonly config: object | undefined;
  readonly onnx: Uint8Array;
}

/** Writes `<tmp>/<name>/config.json` and `<tmp>/<name>/1/model.onnx` for each model; returns the folder. */
export function writeTempRepository(models: readonly TempModel[]): string {
  const dir = makeTempDir('batching-repo');
  for (const m of models) {
    writeModelFile(dir, m.name, 1, m.onnx);
    if (m.config) writeModelConfig(dir, m.name, { name: m.name, ...m.config });
  }
  return dir;
}

/** A repository whose one model, slow_to_load, spends about `loadMs` in its model_warmup: a load that lasts. */
export async function writeSlowToLoadRepository(loadMs: number): Promise<string> {
  const runs = Math.ceil(loadMs / (SLOW_TARGET_MS * slowModelCost()));
  return writeTempRepository([
    {
      name: 'slow_to_load',
      onnx: await sizedSlowModel(),
      config: { max_batch_size: 1, model_warmup: [{ name: 'hold', count: runs, inputs: { x: { data_type: 'TYPE_FP32', dims: [SLOW_FEATURES], zero_data: true } } }] },
    },
  ]);
}
