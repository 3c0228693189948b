/**
 * Where the nodes run: the profile's events counted per provider (a CUDA-like profile made up
 * here, since no GPU is at hand), and the real probe on CPU sessions of the bundled models.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { countNodesByProvider } from '../src/runtime/node-placement';
import { NoProviderError } from '../src/runtime/provider-fallback';
import { openSession } from '../src/runtime/session-core';
import type { SessionWorkerData } from '../src/runtime/worker-protocol';
import { MODELS_DIR } from './support/server';

const kernel = (node: string, provider: string) => ({ cat: 'Node', name: `${node}_kernel_time`, ph: 'X', args: { op_name: 'Op', provider } });

function sessionData(model: string, overrides: Partial<SessionWorkerData> = {}): SessionWorkerData {
  return { modelPath: path.join(MODELS_DIR, model, '1', 'model.onnx'), providers: ['cpu'], intraOpThreads: 1, graphOptimizationLevel: 'all', ...overrides };
}

const placementDirs = (): string[] => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('ort-placement-'));

describe('node placement from an ONNX Runtime profile', () => {
  it('counts distinct nodes per provider from the kernel events, and nothing else', () => {
    const profile = [
      { cat: 'Session', name: 'model_loading_uri', ph: 'X', args: {} },
      kernel('conv1', 'CUDAExecutionProvider'),
      kernel('relu1', 'CUDAExecutionProvider'),
      kernel('conv1', 'CUDAExecutionProvider'),
      { cat: 'Node', name: 'conv1_fence_before', ph: 'X', args: { op_name: 'Conv' } },
      kernel('Memcpy_token_1', 'CUDAExecutionProvider'),
      kernel('shape_of', 'CPUExecutionProvider'),
      { cat: 'Session', name: 'SequentialExecutor::Execute', ph: 'X', args: {} },
    ];
    expect(countNodesByProvider(profile)).to.deep.equal({ CPUExecutionProvider: 1, CUDAExecutionProvider: 3 });
  });

  it('refuses what is no profile', () => {
    expect(() => countNodesByProvider({ traceEvents: [] })).to.throw('JSON array');
  });

  describe('the probe on a real CPU session', function () {
    this.timeout(30000);

    for (const model of ['digit_cnn', 'stock_scorer', 'type_echo']) {
      it(`places every node of ${model} on the CPU provider, and leaves no profile behind`, async () => {
        const before = placementDirs();
        const opened = await openSession(sessionData(model, { probeNodePlacement: true }));
        try {
          expect(opened.provider).to.equal('cpu');
          expect(opened.placement?.error).to.equal(undefined);
          expect(Object.keys(opened.placement!.nodesByProvider)).to.deep.equal(['CPUExecutionProvider']);
          expect(opened.placement!.nodesByProvider.CPUExecutionProvider).to.be.greaterThan(0);
          expect(placementDirs()).to.deep.equal(before);
        } finally {
          await opened.session.release();
        }
      });
    }

    it('is not run for a CPU session unless asked', async () => {
      const opened = await openSession(sessionData('digit_cnn'));
      await opened.session.release();
      expect(opened.placement).to.equal(undefined);
      expect(opened.deviceId).to.equal(0);
    });

    it('leaves the session serving after its run (its profile folder already gone)', async () => {
      const opened = await openSession(sessionData('digit_cnn', { probeNodePlacement: true }));
      try {
        const { session } = opened;
        const input = session.inputMetadata[0];
        expect(input.isTensor).to.equal(true);
        const { Tensor } = await import('../src/runtime/onnxruntime');
        const out = await session.run({ [input.name]: new Tensor('float32', new Float32Array(64), [1, 1, 8, 8]) });
        expect(Object.keys(out)).to.deep.equal(['logits']);
      } finally {
        await opened.session.release();
      }
    });
  });

  it("fails a session that requires CUDA here, with the loader's reason", async function () {
    this.timeout(30000);
    const err = await openSession(sessionData('digit_cnn', { providers: ['cuda', 'cpu'], requiredBy: 'instance_group kind KIND_GPU', deviceId: 1 })).then(
      (opened) => opened.session.release().then(() => undefined),
      (e: unknown) => e,
    );
    if (err === undefined) this.skip(); // a machine where CUDA works
    expect(err).to.be.instanceOf(NoProviderError);
    expect((err as Error).message).to.match(/^execution provider cuda is required \(instance_group kind KIND_GPU\) and could not be had: cuda: .*Failed to load shared library: /);
  });
});
