/**
 * scripts/gpu/shape-change-probe.ts, the device probe for CUDA's cost of a change of batch size
 * (docs/gpu.md), run here on the CPU provider: every variant measured, and a provider that
 * cannot be had ends it with exit 1 and the reason.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './support/server';

const SCRIPT = path.join(REPO_ROOT, 'dist', 'scripts', 'gpu', 'shape-change-probe.js');
const MODEL = path.join(REPO_ROOT, 'models', 'digit_cnn', '1', 'model.onnx');
/** Without the NVIDIA driver's device nodes, the CUDA provider cannot work here. */
const NO_GPU = !fs.existsSync('/dev/nvidiactl');

function runProbe(provider: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [SCRIPT, MODEL, provider], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('scripts/gpu/shape-change-probe', function () {
  this.timeout(90_000);

  it('measures one size, alternating sizes and cycling sizes for each session-option variant', () => {
    const { status, output } = runProbe('cpu');
    expect(status, output).to.equal(0);
    const lines = output.trim().split('\n');
    expect(lines.map((l) => l.replace(/\s+p50:.*/, ''))).to.deep.equal(['cpu default', 'cpu enableMemPattern false', 'cpu graphOptimizationLevel disabled', 'cpu both of the above']);
    for (const line of lines) expect(line).to.match(/p50: one size \d+\.\d{3} ms, alternating 3\/4 \d+\.\d{3} ms, cycling 1\/2\/3\/4\/8\/16\/64 \d+\.\d{3} ms$/);
  });

  it('exits 1 with the reason when the provider cannot be had (CUDA, without a GPU)', function () {
    if (!NO_GPU) this.skip();
    const { status, output } = runProbe('cuda');
    expect(status).to.equal(1);
    expect(output).to.match(/^shape-change-probe: .*cuda/im);
  });
});
