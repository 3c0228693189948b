/**
 * `node dist/scripts/gpu/cuda-smoke.js [MODELS_DIR] [PROVIDER]`: loads every `<model>/1/model.onnx`
 * under MODELS_DIR (default: models/) with PROVIDER alone (default cuda) and ONNX Runtime's
 * `session.disable_cpu_ep_fallback`, so a session exists only if every node runs on that provider,
 * runs it once on random data (symbolic dims as 1) and compares the outputs with the CPU provider's.
 * Prints one line per model; exits 1 if no model ran on PROVIDER. No server involved: the first
 * thing to run on a GPU machine (scripts/gpu/device-step.sh, docs/gpu.md), and here it shows the
 * error a CUDA request gets without CUDA.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from '../../src/runtime/onnxruntime';

type Feeds = Record<string, ort.Tensor>;

function randomFeeds(session: ort.InferenceSession): Feeds | string {
  const feeds: Feeds = {};
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) return `input ${meta.name} is not a tensor`;
    const dims = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    switch (meta.type) {
      case 'float32': feeds[meta.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, rand), dims); break;
      case 'float64': feeds[meta.name] = new ort.Tensor('float64', Float64Array.from({ length: n }, rand), dims); break;
      case 'int32': feeds[meta.name] = new ort.Tensor('int32', new Int32Array(n), dims); break;
      case 'int64': feeds[meta.name] = new ort.Tensor('int64', new BigInt64Array(n), dims); break;
      default: return `input ${meta.name} is ${meta.type}`;
    }
  }
  return feeds;
}

function maxAbsDiff(a: ort.Tensor, b: ort.Tensor): number {
  let max = 0;
  const x = a.data as ArrayLike<number>;
  const y = b.data as ArrayLike<number>;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(Number(x[i]) - Number(y[i])));
  return max;
}

async function main(): Promise<number> {
  const dir = path.resolve(process.argv[2] ?? 'models');
  const provider = process.argv[3] ?? 'cuda';
  let ran = 0;
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name, '1', 'model.onnx');
    if (!fs.existsSync(file)) continue;
    // Strict first (every node on the provider); ORT may still place shape arithmetic on the CPU on
    // purpose, so where only that refuses, the model is loaded again without the flag and said so.
    let session: ort.InferenceSession | undefined;
    let placement = 'every node';
    try {
      session = await ort.InferenceSession.create(file, {
        executionProviders: [provider],
        ...(provider === 'cpu' ? {} : { extra: { session: { disable_cpu_ep_fallback: '1' } } }),
      });
    } catch (err) {
      const message = (err as Error).message;
      if (!/fallback to CPU EP has been explicitly disabled/.test(message)) {
        process.stdout.write(`${name}: no ${provider} session: ${message}\n`);
        continue;
      }
      session = await ort.InferenceSession.create(file, { executionProviders: [provider] });
      placement = 'some nodes on the CPU';
    }
    const feeds = randomFeeds(session);
    if (typeof feeds === 'string') {
      process.stdout.write(`${name}: ${provider} session created (${placement}); not run (${feeds})\n`);
      ran++;
      continue;
    }
    const cpu = await ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
    const start = process.hrtime.bigint();
    const out = await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const ref = await cpu.run(feeds);
    const diffs = Object.keys(out).map((k) => `${k} max|${provider}-cpu| ${maxAbsDiff(out[k]!, ref[k]!).toExponential(2)}`);
    process.stdout.write(`${name}: ran on ${provider} (${placement}; first run ${ms.toFixed(1)} ms); ${diffs.join(', ')}\n`);
    ran++;
  }
  return ran > 0 ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => { process.stderr.write(`${String(err)}\n`); process.exitCode = 1; });
