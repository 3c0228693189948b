/**
 * `node dist/scripts/gpu/shape-change-probe.js [MODEL] [PROVIDER]`: how long a run takes when its
 * batch size differs from the previous run's, against runs of one size, in one session of MODEL
 * (default models/digit_cnn/1/model.onnx; its first input batched, the rest of its shape fixed)
 * on PROVIDER (default cuda), for each session-option variant below. On an H200 a CUDA run after
 * a change of batch size took about 14 ms against 0.1 ms without one (docs/gpu.md), which is what
 * dynamic batching does to a convolutional model on CUDA; the variants look for a session option
 * that removes it. Prints one line per variant.
 */
import * as path from 'node:path';
import * as ort from '../../src/runtime/onnxruntime';

const VARIANTS: readonly { readonly label: string; readonly options: ort.InferenceSession.SessionOptions }[] = [
  { label: 'default', options: {} },
  { label: 'enableMemPattern false', options: { enableMemPattern: false } },
  { label: 'graphOptimizationLevel disabled', options: { graphOptimizationLevel: 'disabled' } },
  { label: 'both of the above', options: { enableMemPattern: false, graphOptimizationLevel: 'disabled' } },
];
const SIZES = [1, 2, 3, 4, 8, 16, 64];
const REPEATS = 21;

function feeds(session: ort.InferenceSession, rows: number): Record<string, ort.Tensor> {
  const meta = session.inputMetadata[0];
  if (!meta.isTensor || meta.type !== 'float32') throw new Error(`input ${meta.name} is not a float32 tensor`);
  const row = meta.shape.slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
  const count = rows * row.reduce((a, b) => a * b, 1);
  return { [meta.name]: new ort.Tensor('float32', new Float32Array(count).fill(0.5), [rows, ...row]) };
}

async function runMs(session: ort.InferenceSession, rows: number): Promise<number> {
  const input = feeds(session, rows);
  const started = process.hrtime.bigint();
  await session.run(input);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function probe(file: string, provider: string, variant: (typeof VARIANTS)[number]): Promise<string> {
  const executionProviders = [provider === 'cuda' ? { name: 'cuda', deviceId: 0 } : provider];
  const session = await ort.InferenceSession.create(file, { executionProviders, intraOpNumThreads: 1, ...variant.options });
  try {
    for (const rows of SIZES) await runMs(session, rows);
    const timed = async (sizeOf: (i: number) => number): Promise<number> => {
      const ms: number[] = [];
      for (let i = 0; i < REPEATS; i++) ms.push(await runMs(session, sizeOf(i)));
      return median(ms);
    };
    const same = await timed(() => 8);
    const alternating = await timed((i) => (i % 2 === 0 ? 3 : 4));
    const cycling = await timed((i) => SIZES[i % SIZES.length]);
    const ms = (value: number): string => `${value.toFixed(3)} ms`;
    return `${provider} ${variant.label.padEnd(32)} p50: one size ${ms(same)}, alternating 3/4 ${ms(alternating)}, cycling ${SIZES.join('/')} ${ms(cycling)}`;
  } finally {
    await session.release();
  }
}

async function main(): Promise<void> {
  const file = path.resolve(process.argv[2] ?? path.join('models', 'digit_cnn', '1', 'model.onnx'));
  const provider = process.argv[3] ?? 'cuda';
  for (const variant of VARIANTS) console.log(await probe(file, provider, variant));
}

main().catch((err: unknown) => {
  console.error(`shape-change-probe: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
