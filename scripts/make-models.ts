/**
 * Generates the bundled test models under models/ (or the directory given as the first argument):
 *
 *   stock_scorer  tabular scorer: standardise 8 features, MLP 8 -> 16 -> 1; with config.json
 *   digit_cnn     tiny CNN on 8x8 images -> 10 logits; no config.json (served by auto-config)
 *   type_echo     one Identity per KServe datatype; with config.json
 *
 * Made on demand, not bundled (too large to check in for what they are for):
 *
 *   feature_mlp   64 features -> 512 -> 512 -> 16 scores, real work per row for the benchmark
 *   image_cnn     64x64 RGB images -> 3 Conv 3x3 blocks -> 100 logits, work for a GPU (scripts/gpu-check.ts)
 *
 * All weights come from fixed-seed PRNGs and serialization is deterministic, so reruns give
 * byte-identical files. Run: node dist/scripts/make-models.js [outDir]; with `--with feature_mlp`
 * (or `--with image_cnn`) it writes that model alone.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataType, ElemType, attr, floatTensor, node, serializeModel, valueInfo } from './onnx/builder';
import { gaussianArray } from './onnx/prng';

/** Repository root, from dist/scripts at run time. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DEFAULT_MODELS_DIR = path.join(REPO_ROOT, 'models');

/** A generated file: path relative to the models directory, and its bytes. */
export interface GeneratedFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

function configJson(config: object): Uint8Array {
  return Buffer.from(`${JSON.stringify(config, null, 2)}\n`, 'utf8');
}

// ---------------------------------------------------------------- stock_scorer

/** What the eight features are, and plausible cross-sectional means and spreads for them. */
export const STOCK_FEATURES = [
  { name: 'return_1m', mean: 0.008, std: 0.072 },
  { name: 'return_12m', mean: 0.094, std: 0.31 },
  { name: 'volatility_60d', mean: 0.27, std: 0.12 },
  { name: 'pe_ratio', mean: 18.6, std: 9.4 },
  { name: 'pb_ratio', mean: 2.9, std: 1.8 },
  { name: 'log_market_cap', mean: 22.4, std: 1.7 },
  { name: 'dividend_yield', mean: 0.021, std: 0.016 },
  { name: 'volume_ratio', mean: 1.04, std: 0.46 },
] as const;

const HIDDEN = 16;

function stockScorer(): GeneratedFile[] {
  const n = STOCK_FEATURES.length;
  const featureMean = Float32Array.from(STOCK_FEATURES, (f) => f.mean);
  const featureStd = Float32Array.from(STOCK_FEATURES, (f) => f.std);
  const w1 = gaussianArray(1001, n * HIDDEN, Math.sqrt(2 / n));
  const b1 = gaussianArray(1002, HIDDEN, 0.05);
  const w2 = gaussianArray(1003, HIDDEN, Math.sqrt(1 / HIDDEN));
  const b2 = gaussianArray(1004, 1, 0.05);

  const model = serializeModel({
    graphName: 'stock_scorer',
    docString: 'Per-stock features -> score. standardized = (features - feature_mean) / feature_std; '
      + 'score = relu(standardized @ w1 + b1) @ w2 + b2.',
    inputs: [valueInfo('features', DataType.FLOAT, ['batch', n])],
    outputs: [
      valueInfo('score', DataType.FLOAT, ['batch', 1]),
      valueInfo('standardized', DataType.FLOAT, ['batch', n]),
    ],
    initializers: [
      floatTensor('feature_mean', [n], featureMean),
      floatTensor('feature_std', [n], featureStd),
      floatTensor('w1', [n, HIDDEN], w1),
      floatTensor('b1', [HIDDEN], b1),
      floatTensor('w2', [HIDDEN, 1], w2),
      floatTensor('b2', [1], b2),
    ],
    nodes: [
      node('Sub', ['features', 'feature_mean'], ['centered'], 'center'),
      node('Div', ['centered', 'feature_std'], ['standardized'], 'scale'),
      node('MatMul', ['standardized', 'w1'], ['hidden_mm'], 'dense1_matmul'),
      node('Add', ['hidden_mm', 'b1'], ['hidden_pre'], 'dense1_bias'),
      node('Relu', ['hidden_pre'], ['hidden'], 'dense1_relu'),
      node('MatMul', ['hidden', 'w2'], ['score_mm'], 'dense2_matmul'),
      node('Add', ['score_mm', 'b2'], ['score'], 'dense2_bias'),
    ],
    metadata: { feature_names: STOCK_FEATURES.map((f) => f.name).join(',') },
  });

  const config = {
    name: 'stock_scorer',
    platform: 'onnxruntime_onnx',
    max_batch_size: 64,
    input: [{ name: 'features', data_type: 'TYPE_FP32', dims: [n] }],
    output: [
      { name: 'score', data_type: 'TYPE_FP32', dims: [1] },
      { name: 'standardized', data_type: 'TYPE_FP32', dims: [n] },
    ],
    dynamic_batching: { max_queue_delay_microseconds: 200 },
    instance_group: [{ count: 1, kind: 'KIND_CPU' }],
  };

  return [
    { path: 'stock_scorer/1/model.onnx', bytes: model },
    { path: 'stock_scorer/config.json', bytes: configJson(config) },
  ];
}

// ---------------------------------------------------------------- digit_cnn

function digitCnn(): GeneratedFile[] {
  const filters = 4;
  const classes = 10;
  const flat = filters * 4 * 4; // 8x8 -> conv (same) 8x8 -> maxpool 2x2/2 -> 4x4
  const model = serializeModel({
    graphName: 'digit_cnn',
    docString: 'image [batch,1,8,8] -> Conv 4x3x3 (pad 1) -> Relu -> MaxPool 2x2/2 -> Flatten -> Gemm -> logits [batch,10].',
    inputs: [valueInfo('image', DataType.FLOAT, ['batch', 1, 8, 8])],
    outputs: [valueInfo('logits', DataType.FLOAT, ['batch', classes])],
    initializers: [
      floatTensor('conv_w', [filters, 1, 3, 3], gaussianArray(2001, filters * 9, Math.sqrt(2 / 9))),
      floatTensor('conv_b', [filters], gaussianArray(2002, filters, 0.05)),
      floatTensor('fc_w', [classes, flat], gaussianArray(2003, classes * flat, Math.sqrt(1 / flat))),
      floatTensor('fc_b', [classes], gaussianArray(2004, classes, 0.05)),
    ],
    nodes: [
      node('Conv', ['image', 'conv_w', 'conv_b'], ['conv'], 'conv', [
        attr.ints('kernel_shape', [3, 3]),
        attr.ints('pads', [1, 1, 1, 1]),
        attr.ints('strides', [1, 1]),
      ]),
      node('Relu', ['conv'], ['conv_relu'], 'conv_relu'),
      node('MaxPool', ['conv_relu'], ['pooled'], 'pool', [
        attr.ints('kernel_shape', [2, 2]),
        attr.ints('strides', [2, 2]),
      ]),
      node('Flatten', ['pooled'], ['flat'], 'flatten', [attr.int('axis', 1)]),
      node('Gemm', ['flat', 'fc_w', 'fc_b'], ['logits'], 'fc', [attr.int('transB', 1)]),
    ],
  });
  return [{ path: 'digit_cnn/1/model.onnx', bytes: model }];
}

// ---------------------------------------------------------------- type_echo

/** Suffix of in_/out_ names, ONNX element type, Triton config type; one per KServe datatype. */
export const TYPE_ECHO_TYPES: ReadonlyArray<{ suffix: string; elemType: ElemType; configType: string }> = [
  { suffix: 'bool', elemType: DataType.BOOL, configType: 'TYPE_BOOL' },
  { suffix: 'uint8', elemType: DataType.UINT8, configType: 'TYPE_UINT8' },
  { suffix: 'int8', elemType: DataType.INT8, configType: 'TYPE_INT8' },
  { suffix: 'uint16', elemType: DataType.UINT16, configType: 'TYPE_UINT16' },
  { suffix: 'int16', elemType: DataType.INT16, configType: 'TYPE_INT16' },
  { suffix: 'uint32', elemType: DataType.UINT32, configType: 'TYPE_UINT32' },
  { suffix: 'int32', elemType: DataType.INT32, configType: 'TYPE_INT32' },
  { suffix: 'uint64', elemType: DataType.UINT64, configType: 'TYPE_UINT64' },
  { suffix: 'int64', elemType: DataType.INT64, configType: 'TYPE_INT64' },
  { suffix: 'fp16', elemType: DataType.FLOAT16, configType: 'TYPE_FP16' },
  { suffix: 'fp32', elemType: DataType.FLOAT, configType: 'TYPE_FP32' },
  { suffix: 'fp64', elemType: DataType.DOUBLE, configType: 'TYPE_FP64' },
  { suffix: 'bytes', elemType: DataType.STRING, configType: 'TYPE_STRING' },
];

function typeEcho(): GeneratedFile[] {
  const model = serializeModel({
    graphName: 'type_echo',
    docString: 'out_<type> = Identity(in_<type>) for every KServe datatype; shapes [batch, n].',
    inputs: TYPE_ECHO_TYPES.map((t) => valueInfo(`in_${t.suffix}`, t.elemType, ['batch', 'n'])),
    outputs: TYPE_ECHO_TYPES.map((t) => valueInfo(`out_${t.suffix}`, t.elemType, ['batch', 'n'])),
    nodes: TYPE_ECHO_TYPES.map((t) => node('Identity', [`in_${t.suffix}`], [`out_${t.suffix}`], `echo_${t.suffix}`)),
  });
  const config = {
    name: 'type_echo',
    platform: 'onnxruntime_onnx',
    max_batch_size: 8,
    input: TYPE_ECHO_TYPES.map((t) => ({ name: `in_${t.suffix}`, data_type: t.configType, dims: [-1] })),
    output: TYPE_ECHO_TYPES.map((t) => ({ name: `out_${t.suffix}`, data_type: t.configType, dims: [-1] })),
  };
  return [
    { path: 'type_echo/1/model.onnx', bytes: model },
    { path: 'type_echo/config.json', bytes: configJson(config) },
  ];
}

// ---------------------------------------------------------------- feature_mlp (on demand)

export const FEATURE_MLP = { name: 'feature_mlp', features: 64, hidden: 512, outputs: 16 } as const;

/**
 * A tabular MLP with real work per row (about 0.3 M multiply-adds), for the benchmark:
 * scores = relu(relu(features @ w1 + b1) @ w2 + b2) @ w3 + b3. 1.2 MB of weights, so it is
 * written where it is needed instead of being bundled.
 */
export function featureMlp(): GeneratedFile[] {
  const { name, features, hidden, outputs } = FEATURE_MLP;
  const dense = (i: number, fanIn: number, fanOut: number, seed: number): ReturnType<typeof floatTensor>[] => [
    floatTensor(`w${i}`, [fanIn, fanOut], gaussianArray(seed, fanIn * fanOut, Math.sqrt(2 / fanIn))),
    floatTensor(`b${i}`, [fanOut], gaussianArray(seed + 1, fanOut, 0.05)),
  ];
  const model = serializeModel({
    graphName: name,
    docString: `features [batch,${features}] -> Gemm ${hidden} -> Relu -> Gemm ${hidden} -> Relu -> Gemm ${outputs} -> scores [batch,${outputs}].`,
    inputs: [valueInfo('features', DataType.FLOAT, ['batch', features])],
    outputs: [valueInfo('scores', DataType.FLOAT, ['batch', outputs])],
    initializers: [...dense(1, features, hidden, 4001), ...dense(2, hidden, hidden, 4003), ...dense(3, hidden, outputs, 4005)],
    nodes: [
      node('Gemm', ['features', 'w1', 'b1'], ['h1_pre'], 'dense1'),
      node('Relu', ['h1_pre'], ['h1'], 'relu1'),
      node('Gemm', ['h1', 'w2', 'b2'], ['h2_pre'], 'dense2'),
      node('Relu', ['h2_pre'], ['h2'], 'relu2'),
      node('Gemm', ['h2', 'w3', 'b3'], ['scores'], 'dense3'),
    ],
  });
  const config = {
    name,
    platform: 'onnxruntime_onnx',
    max_batch_size: 64,
    input: [{ name: 'features', data_type: 'TYPE_FP32', dims: [features] }],
    output: [{ name: 'scores', data_type: 'TYPE_FP32', dims: [outputs] }],
    dynamic_batching: { max_queue_delay_microseconds: 200 },
    instance_group: [{ count: 1, kind: 'KIND_CPU' }],
  };
  return [
    { path: `${name}/1/model.onnx`, bytes: model },
    { path: `${name}/config.json`, bytes: configJson(config) },
  ];
}

// ---------------------------------------------------------------- image_cnn (on demand)

/** Conv blocks (3x3, pad 1, Relu, MaxPool 2x2/2) with their output channels and strides, then one Gemm. */
export const IMAGE_CNN = {
  name: 'image_cnn',
  channels: 3,
  size: 64,
  blocks: [
    { out: 32, stride: 2 },
    { out: 64, stride: 1 },
    { out: 128, stride: 1 },
  ],
  classes: 100,
} as const;

/**
 * A small image classifier that gives a GPU work to do when batched (scripts/gpu-check.ts):
 * image [batch,3,64,64] -> Conv 32 /2 -> Relu -> MaxPool -> Conv 64 -> Relu -> MaxPool
 * -> Conv 128 -> Relu -> MaxPool -> Flatten (128x4x4) -> Gemm -> logits [batch,100].
 * About 10.5 M multiply-adds per image and 1.2 MB of weights; written where it is needed.
 * Sized so that one batch of 256 takes tens of ms on one CPU core (on one AMD EPYC core: 60 ms
 * with ONNX Runtime 1.29, 83 ms with 1.30; 0.2 to 0.35 ms for one image). The first block's
 * stride 2 keeps a full batch's activations small: with stride 1 there, a batch took 340 ms.
 */
export function imageCnn(): GeneratedFile[] {
  const { name, channels, size, blocks, classes } = IMAGE_CNN;
  const initializers: ReturnType<typeof floatTensor>[] = [];
  const nodes: ReturnType<typeof node>[] = [];
  let input = 'image';
  let inChannels: number = channels;
  let side: number = size;
  blocks.forEach(({ out, stride }, i) => {
    const b = i + 1;
    const fanIn = inChannels * 9;
    initializers.push(
      floatTensor(`conv${b}_w`, [out, inChannels, 3, 3], gaussianArray(5001 + 10 * i, out * fanIn, Math.sqrt(2 / fanIn))),
      floatTensor(`conv${b}_b`, [out], gaussianArray(5002 + 10 * i, out, 0.05)),
    );
    nodes.push(
      node('Conv', [input, `conv${b}_w`, `conv${b}_b`], [`conv${b}`], `conv${b}`, [
        attr.ints('kernel_shape', [3, 3]),
        attr.ints('pads', [1, 1, 1, 1]),
        attr.ints('strides', [stride, stride]),
      ]),
      node('Relu', [`conv${b}`], [`relu${b}`], `relu${b}`),
      node('MaxPool', [`relu${b}`], [`pool${b}`], `pool${b}`, [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])]),
    );
    input = `pool${b}`;
    inChannels = out;
    side = side / stride / 2;
  });
  const flat = inChannels * side * side;
  initializers.push(
    floatTensor('fc_w', [classes, flat], gaussianArray(5101, classes * flat, Math.sqrt(1 / flat))),
    floatTensor('fc_b', [classes], gaussianArray(5102, classes, 0.05)),
  );
  nodes.push(
    node('Flatten', [input], ['flat'], 'flatten', [attr.int('axis', 1)]),
    node('Gemm', ['flat', 'fc_w', 'fc_b'], ['logits'], 'fc', [attr.int('transB', 1)]),
  );
  const model = serializeModel({
    graphName: name,
    docString: `image [batch,${channels},${size},${size}] -> ${blocks.map((b) => `Conv ${b.out}x3x3${b.stride > 1 ? ` /${b.stride}` : ''} (pad 1) -> Relu -> MaxPool 2x2/2`).join(' -> ')} -> Flatten -> Gemm -> logits [batch,${classes}].`,
    inputs: [valueInfo('image', DataType.FLOAT, ['batch', channels, size, size])],
    outputs: [valueInfo('logits', DataType.FLOAT, ['batch', classes])],
    initializers,
    nodes,
  });
  const config = {
    name,
    platform: 'onnxruntime_onnx',
    max_batch_size: 256,
    input: [{ name: 'image', data_type: 'TYPE_FP32', dims: [channels, size, size] }],
    output: [{ name: 'logits', data_type: 'TYPE_FP32', dims: [classes] }],
    dynamic_batching: { max_queue_delay_microseconds: 500 },
    instance_group: [{ count: 1, kind: 'KIND_AUTO' }],
  };
  return [
    { path: `${name}/1/model.onnx`, bytes: model },
    { path: `${name}/config.json`, bytes: configJson(config) },
  ];
}

/** Models the script makes only when asked (--with NAME), alone. */
export const ON_DEMAND_MODELS: Readonly<Record<string, () => GeneratedFile[]>> = { feature_mlp: featureMlp, image_cnn: imageCnn };

// ---------------------------------------------------------------- entry point

/** All bundled model files, in memory. */
export function buildModels(): GeneratedFile[] {
  return [...stockScorer(), ...digitCnn(), ...typeEcho()];
}

/** Writes every bundled model file under `outDir`; returns what was written. */
export function generateModels(outDir: string): GeneratedFile[] {
  return writeFiles(outDir, buildModels());
}

export function writeFiles(outDir: string, files: readonly GeneratedFile[]): GeneratedFile[] {
  for (const file of files) {
    const target = path.join(outDir, ...file.path.split('/'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, file.bytes);
  }
  return [...files];
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const withAt = args.indexOf('--with');
  const extra = withAt >= 0 ? args.splice(withAt, 2)[1] : undefined;
  if (withAt >= 0 && (extra === undefined || !ON_DEMAND_MODELS[extra])) {
    console.error(`--with takes one of: ${Object.keys(ON_DEMAND_MODELS).join(', ')}`);
    process.exit(2);
  }
  const outDir = path.resolve(args[0] ?? DEFAULT_MODELS_DIR);
  const files = extra ? writeFiles(outDir, ON_DEMAND_MODELS[extra]()) : generateModels(outDir);
  for (const file of files) {
    console.log(`${path.join(outDir, file.path)}  ${file.bytes.length} bytes`);
  }
}
