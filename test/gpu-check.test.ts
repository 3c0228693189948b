/**
 * scripts/gpu-check.ts without a GPU: the on-demand image_cnn it measures, a short CPU-only run
 * of the compiled script (table and JSON), and the CUDA check failing here with the loader's reason.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from '../src/runtime/onnxruntime';
import { IMAGE_CNN, ON_DEMAND_MODELS, imageCnn } from '../scripts/make-models';
import type { CheckReport } from '../scripts/gpu-check';
import { CUDA_PROVIDER_LIBRARY } from '../src/runtime/cuda-load-reason';
import { makeTempDir, removeDir } from './support/e2e-helpers';

const SCRIPT = path.resolve(__dirname, '..', 'scripts', 'gpu-check.js');
/** Without the NVIDIA driver's device nodes, the CUDA provider cannot work here. */
const NO_GPU = !fs.existsSync('/dev/nvidiactl');

function runScript(args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', timeout: 110_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface ConfigTensor { name: string; data_type: string; dims: number[] }

describe('image_cnn (made on demand for scripts/gpu-check)', () => {
  const { channels, size, classes } = IMAGE_CNN;

  it('is registered on demand, deterministic, and its config.json declares its shapes', () => {
    expect(ON_DEMAND_MODELS.image_cnn).to.equal(imageCnn);
    const [model, config] = imageCnn();
    expect(model.path).to.equal('image_cnn/1/model.onnx');
    expect(config.path).to.equal('image_cnn/config.json');
    expect(Buffer.from(imageCnn()[0].bytes).equals(Buffer.from(model.bytes))).to.equal(true);
    expect(Buffer.from(imageCnn()[1].bytes).equals(Buffer.from(config.bytes))).to.equal(true);
    // A few MB at most.
    expect(model.bytes.length).to.be.within(500_000, 4_000_000);
    const cfg = JSON.parse(Buffer.from(config.bytes).toString('utf8')) as {
      max_batch_size: number; input: ConfigTensor[]; output: ConfigTensor[]; dynamic_batching?: object; instance_group: { kind: string }[];
    };
    expect(cfg.max_batch_size).to.equal(256);
    expect(cfg.input).to.deep.equal([{ name: 'image', data_type: 'TYPE_FP32', dims: [channels, size, size] }]);
    expect(cfg.output).to.deep.equal([{ name: 'logits', data_type: 'TYPE_FP32', dims: [classes] }]);
    expect(cfg.dynamic_batching).to.have.property('max_queue_delay_microseconds');
    expect(cfg.instance_group).to.deep.equal([{ count: 1, kind: 'KIND_AUTO' }]);
  });

  it('has the declared shapes in ONNX Runtime and gives each row the same logits whatever its batch', async () => {
    const [model] = imageCnn();
    const session = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: 1 });
    try {
      const meta = (m: ort.InferenceSession.ValueMetadata) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : undefined);
      expect(session.inputMetadata.map(meta)).to.deep.equal([{ name: 'image', type: 'float32', shape: ['batch', channels, size, size] }]);
      expect(session.outputMetadata.map(meta)).to.deep.equal([{ name: 'logits', type: 'float32', shape: ['batch', classes] }]);
      const row = channels * size * size;
      const x = Float32Array.from({ length: 3 * row }, (_, i) => ((i * 7919) % 97) / 97 - 0.5);
      const three = (await session.run({ image: new ort.Tensor('float32', x, [3, channels, size, size]) })).logits;
      expect(three.dims).to.deep.equal([3, classes]);
      const data = three.data as Float32Array;
      expect(data.every(Number.isFinite)).to.equal(true);
      expect(new Set(data).size).to.be.greaterThan(classes);
      const second = (await session.run({ image: new ort.Tensor('float32', x.slice(row, 2 * row), [1, channels, size, size]) })).logits.data as Float32Array;
      for (let j = 0; j < classes; j++) expect(second[j]).to.be.closeTo(data[classes + j], 1e-4);
    } finally {
      await session.release();
    }
  });
});

describe('scripts/gpu-check (compiled, as a child process)', () => {
  let dir = '';
  before(() => {
    dir = makeTempDir('gpu-check-test');
  });
  after(() => removeDir(dir));

  it('--providers cpu: measures both models in-process and served, prints the table and writes the JSON', () => {
    const out = path.join(dir, 'cpu.json');
    const { status, output } = runScript(['--providers', 'cpu', '--seconds', '0.2', '--batches', '1,8', '--concurrency', '1,4', '--cpu-threads', '1', '--out', out]);
    expect(status, output).to.equal(0);
    expect(output).to.match(/^### gpu-check on (no GPU|.+);/m);
    expect(output).to.contain('| model | provider | path | threads | batch / concurrency |');
    expect(output).to.match(/^\| image_cnn \| cpu \| served KIND_CPU \| 1 \| c=4 \|/m);

    const report = JSON.parse(fs.readFileSync(out, 'utf8')) as CheckReport;
    expect(report.status).to.equal('ok');
    expect(report.cudaCheck.status).to.equal('skipped');
    expect(report.machine.cpuCores).to.be.greaterThan(0);
    expect(report.machine.onnxruntimeNode).to.match(/^\d+\.\d+\.\d+/);
    expect(report.machine.gpus.length > 0 || /^none/.test(report.machine.gpuNote ?? '')).to.equal(true);
    expect(report.models.map((m) => m.name)).to.deep.equal(['digit_cnn', 'image_cnn']);
    expect(report.wallSeconds).to.be.greaterThan(0);

    for (const model of ['digit_cnn', 'image_cnn']) {
      const inProcess = report.inProcess.filter((r) => r.model === model);
      expect(inProcess.map((r) => [r.provider, r.threads, r.batchSize]), model).to.deep.equal([['cpu', 1, 1], ['cpu', 1, 8]]);
      for (const r of inProcess) {
        expect(r.runs).to.be.at.least(3);
        expect(r.runsPerSec).to.be.greaterThan(0);
        expect(r.rowsPerSec).to.be.closeTo(r.runsPerSec * r.batchSize, r.rowsPerSec * 1e-9);
        expect(r.p99Ms).to.be.at.least(r.p50Ms);
      }
      const served = report.served.filter((r) => r.model === model);
      expect(served.map((r) => [r.provider, r.concurrency]), model).to.deep.equal([['cpu', 1], ['cpu', 4]]);
      for (const r of served) {
        expect(r.errors, r.firstError).to.equal(0);
        expect(r.requests).to.be.greaterThan(0);
        expect(r.reqPerSec).to.be.greaterThan(0);
        expect(r.p99Ms).to.be.at.least(r.p50Ms);
        expect(r.meanBatchSize).to.be.within(1, 4);
      }
      const server = report.servers.find((s) => s.model === model);
      expect(server?.provider).to.equal('cpu');
      expect(server?.ready.provider).to.equal('cpu');
      expect(server?.ready.nodes_by_provider?.CPUExecutionProvider).to.be.greaterThan(0);
    }
  });

  it('--providers cuda without a GPU: exits 1 before measuring, with the CUDA provider library in the reason', function () {
    if (!NO_GPU) this.skip();
    const out = path.join(dir, 'cuda.json');
    const { status, output } = runScript(['--providers', 'cuda', '--seconds', '0.2', '--out', out]);
    expect(status, output).to.equal(1);
    expect(output).to.match(/gpu-check FAILED: the CUDA execution provider could not be had for digit_cnn: execution provider cuda is required \(scripts\/gpu-check\)/);
    // The loader's reason: the provider library missing here, or the CUDA library it cannot find where it is installed.
    expect(output).to.match(new RegExp(`${CUDA_PROVIDER_LIBRARY.replace(/\./g, '\\.')}|lib(cudart|cublas|cublasLt|curand|cudnn)\\S*\\.so`));
    const report = JSON.parse(fs.readFileSync(out, 'utf8')) as CheckReport;
    expect(report.status).to.equal('failed');
    expect(report.cudaCheck.status).to.equal('failed');
    expect(report.cudaCheck.reason).to.contain('cuda');
    expect(report.inProcess).to.deep.equal([]);
    expect(report.served).to.deep.equal([]);
  });

  it('refuses a bad argument with exit code 2', () => {
    const { status, output } = runScript(['--providers', 'tpu']);
    expect(status).to.equal(2);
    expect(output).to.contain('--providers takes cuda, cpu or both');
  });
});
