/**
 * Triton's ensembles end to end: a pipeline of generated affine models behind a real server, its
 * answers computed by hand, its steps batched by the composing models' own batchers, and each way
 * it can be unable to serve (a step's model missing, mismatched, or ensembles in a cycle) answered
 * with the reason, and reflected in ModelReady.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { infer, statistics, statsDelta } from './support/batching-client';
import { expectRpcError } from './support/e2e-helpers';
import { affineModel, serveRepository, valuesOf, type RepositoryServer } from './support/generated-models';
import { onnxVersion } from './support/onnx-version';
import { waitFor } from './support/wait-for';

const WIDTH = 4;
const tensor = (name: string, dims: number[] = [WIDTH]) => ({ name, data_type: 'TYPE_FP32', dims });
const step = (model: string, inputs: Record<string, string>, outputs: Record<string, string>, version = -1) => ({
  model_name: model,
  model_version: version,
  input_map: inputs,
  output_map: outputs,
});
const ensemble = (inputs: object[], outputs: object[], steps: object[], maxBatchSize = 8) => ({
  platform: 'ensemble',
  max_batch_size: maxBatchSize,
  input: inputs,
  output: outputs,
  ensemble_scheduling: { step: steps },
});

/** IN -> double -> mid -> triple -> OUT, and IN -> triple -> SIDE beside it. */
const PIPELINE = ensemble(
  [tensor('IN')],
  [tensor('OUT'), tensor('SIDE')],
  [step('double', { x: 'IN' }, { y: 'mid' }), step('triple', { x: 'mid' }, { y: 'OUT' }), step('triple', { x: 'IN' }, { y: 'SIDE' })],
);

describe('e2e ensembles', function () {
  this.timeout(60_000);
  let t: RepositoryServer;

  before(async () => {
    const batching = (delayUs: number) => ({ max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: delayUs } });
    t = await serveRepository([
      // A full batch leaves at once; a lone request waits 0.5 s for company.
      { name: 'double', config: batching(500_000), versions: new Map([[1, affineModel([WIDTH], [{ name: 'y', scale: 2, bias: 1 }])]]) },
      { name: 'triple', config: batching(0), versions: new Map([[1, affineModel([WIDTH], [{ name: 'y', scale: 3, bias: 0 }])]]) },
      { name: 'pipeline', config: PIPELINE, versions: new Map(), emptyVersions: [1] },
      // Variable width here, fixed in 'triple': a request of the wrong width fails in the step.
      {
        name: 'any_width',
        config: ensemble([tensor('IN', [-1])], [tensor('OUT', [-1])], [step('triple', { x: 'IN' }, { y: 'OUT' })]),
        versions: new Map(),
        emptyVersions: [1],
      },
      { name: 'wrong_input', config: ensemble([tensor('IN')], [tensor('OUT')], [step('triple', { nope: 'IN' }, { y: 'OUT' })]), versions: new Map(), emptyVersions: [1] },
      { name: 'wrong_type', config: ensemble([tensor('IN')], [{ ...tensor('OUT'), data_type: 'TYPE_FP64' }], [step('triple', { x: 'IN' }, { y: 'OUT' })]), versions: new Map(), emptyVersions: [1] },
      { name: 'missing_step', config: ensemble([tensor('IN')], [tensor('OUT')], [step('absent', { x: 'IN' }, { y: 'OUT' })]), versions: new Map(), emptyVersions: [1] },
      { name: 'loop_a', config: ensemble([tensor('x')], [tensor('y')], [step('loop_b', { x: 'x' }, { y: 'y' })]), versions: new Map(), emptyVersions: [1] },
      { name: 'loop_b', config: ensemble([tensor('x')], [tensor('y')], [step('loop_a', { x: 'x' }, { y: 'y' })]), versions: new Map(), emptyVersions: [1] },
      { name: 'unwritten_output', config: ensemble([tensor('IN')], [tensor('OUT'), tensor('LOST')], [step('triple', { x: 'IN' }, { y: 'OUT' })]), versions: new Map(), emptyVersions: [1] },
    ]);
  });

  after(async () => t?.stop());

  const ready = async (name: string): Promise<boolean> => (await t.client.unary<{ ready: boolean }>('ModelReady', { name, version: '' })).ready;

  it('runs every step and answers the ensemble outputs, computed through each', async () => {
    const x = valuesOf(1, 2 * WIDTH);
    const res = await infer(t.client, 'pipeline', x, WIDTH, { input: 'IN' });
    expect(res.code, res.details).to.equal(status.OK);
    expect([...res.outputs.keys()].sort()).to.deep.equal(['OUT', 'SIDE']);
    const mid = x.map((v) => Math.fround(Math.fround(v * 2) + 1));
    expect(res.outputs.get('OUT')!.shape).to.deep.equal([2, WIDTH]);
    expect([...res.outputs.get('OUT')!.data]).to.deep.equal([...mid.map((v) => Math.fround(v * 3))]);
    expect([...res.outputs.get('SIDE')!.data]).to.deep.equal([...x.map((v) => Math.fround(v * 3))]);
  });

  it("batches the steps of concurrent ensemble requests in the composing model's batcher", async () => {
    const before = await statistics(t.client, 'double');
    const beforeEnsemble = await statistics(t.client, 'pipeline');
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => infer(t.client, 'pipeline', valuesOf(10 + i, WIDTH), WIDTH, { input: 'IN' })));
    for (const o of outcomes) expect(o.code, o.details).to.equal(status.OK);
    const d = statsDelta(await statistics(t.client, 'double'), before);
    expect(d.inferenceCount, 'rows run by double').to.equal(8);
    // Eight requests of one row each, and 'double' holds a lone request 0.5 s: they shared runs.
    expect(d.executionCount, 'runs of double').to.be.below(8);
    const e = statsDelta(await statistics(t.client, 'pipeline'), beforeEnsemble);
    expect(e.inferenceCount, 'ensemble rows').to.equal(8);
    expect(e.success.count, 'ensemble successes').to.equal(8);
  });

  it('describes itself as an ensemble in ModelMetadata and ModelConfig', async () => {
    const meta = await t.client.unary<{ platform: string; inputs: { name: string; shape: string[] }[] }>('ModelMetadata', { name: 'pipeline' });
    expect(meta.platform).to.equal('ensemble');
    expect(meta.inputs.map((i) => [i.name, i.shape.map(Number)])).to.deep.equal([['IN', [-1, WIDTH]]]);
    const { config } = await t.client.unary<{ config: Record<string, unknown> }>('ModelConfig', { name: 'pipeline' });
    expect(config.platform).to.equal('ensemble');
    // As Triton reports an ensemble: no backend and no instances of its own.
    expect(config.instance_group ?? []).to.deep.equal([]);
    expect(config.backend ?? '').to.equal('');
    const steps = (config.ensemble_scheduling as { step: { model_name: string; model_version: string; input_map: object; output_map: object }[] }).step;
    expect(steps.map((s) => [s.model_name, Number(s.model_version), s.input_map, s.output_map])).to.deep.equal([
      ['double', -1, { x: 'IN' }, { y: 'mid' }],
      ['triple', -1, { x: 'mid' }, { y: 'OUT' }],
      ['triple', -1, { x: 'IN' }, { y: 'SIDE' }],
    ]);
  });

  it("checks a request against the ensemble's own inputs", async () => {
    const res = await infer(t.client, 'pipeline', valuesOf(2, WIDTH), WIDTH, { input: 'x' });
    expect(res.code).to.equal(status.INVALID_ARGUMENT);
    expect(res.details).to.match(/'x'/);
  });

  it('fails a request whose step fails, naming the step and keeping its status', async () => {
    expect(await ready('any_width')).to.equal(true);
    const res = await infer(t.client, 'any_width', valuesOf(3, 3), 3, { input: 'IN' });
    expect(res.code).to.equal(status.INVALID_ARGUMENT);
    expect(res.details).to.match(/^ensemble 'any_width' step\[0\] model 'triple': /);
    const ok = await infer(t.client, 'any_width', valuesOf(3, WIDTH), WIDTH, { input: 'IN' });
    expect(ok.code, ok.details).to.equal(status.OK);
  });

  for (const [name, reason] of [
    ['wrong_input', /step\[0\] model 'triple' has no input 'nope'/],
    ['wrong_type', /ensemble output 'OUT' is FP64, but step\[0\] output 'y' is FP32/],
    ['missing_step', /step\[0\] model 'absent': not loaded/],
    ['loop_a', /the ensembles form a cycle: loop_a -> loop_b -> loop_a/],
  ] as const) {
    it(`is not ready, and answers UNAVAILABLE with why, when it cannot serve: ${name}`, async () => {
      expect(await ready(name)).to.equal(false);
      await expectRpcError(
        t.client.unary('ModelInfer', { model_name: name, inputs: [{ name: name.startsWith('loop') ? 'x' : 'IN', datatype: 'FP32', shape: [1, WIDTH] }], raw_input_contents: [Buffer.alloc(4 * WIDTH)] }),
        status.UNAVAILABLE,
        `ensemble '${name}' cannot serve now`,
        reason,
      );
    });
  }

  it('keeps the server not ready while an ensemble it loaded cannot serve, as Triton fails its load', async () => {
    expect((await t.client.unary<{ ready: boolean }>('ServerReady', {})).ready).to.equal(false);
  });

  it('fails the load of an ensemble whose graph is wrong, with the reason', async () => {
    const failures = t.server.repository.get('unwritten_output')?.failures.join('; ') ?? '';
    expect(failures).to.match(/ensemble output 'LOST' is not written by any step/);
  });
});

describe('e2e ensembles in explicit model control mode', function () {
  this.timeout(60_000);

  it("loads the ensemble's composing models with it, as Triton does", async () => {
    const t = await serveRepository(
      [
        { name: 'triple', config: { max_batch_size: 8 }, versions: new Map([[1, affineModel([WIDTH], [{ name: 'y', scale: 3, bias: 0 }])]]) },
        { name: 'solo', config: ensemble([tensor('IN')], [tensor('OUT')], [step('triple', { x: 'IN' }, { y: 'OUT' })]), versions: new Map(), emptyVersions: [1] },
      ],
      { MODEL_CONTROL_MODE: 'explicit', LOAD_MODELS: 'solo' },
    );
    try {
      expect(t.server.repository.get('triple')?.versions.size, 'triple loaded').to.equal(1);
      expect((await t.client.unary<{ ready: boolean }>('ServerReady', {})).ready).to.equal(true);
      const res = await infer(t.client, 'solo', valuesOf(4, WIDTH), WIDTH, { input: 'IN' });
      expect(res.code, res.details).to.equal(status.OK);
      await t.client.unary('RepositoryModelUnload', { model_name: 'triple' });
      expect((await t.client.unary<{ ready: boolean }>('ModelReady', { name: 'solo', version: '' })).ready).to.equal(false);
      await t.client.unary('RepositoryModelLoad', { model_name: 'solo' });
      expect((await t.client.unary<{ ready: boolean }>('ModelReady', { name: 'solo', version: '' })).ready).to.equal(true);
    } finally {
      await t.stop();
    }
  });
});

describe('e2e ensembles in a drain', function () {
  this.timeout(60_000);

  it('lets a request admitted before the drain run its later steps, and refuses new ones', async () => {
    const t = await serveRepository(
      [
        // A lone request waits 0.5 s here, so the drain starts while the first step is queued.
        { name: 'double', config: { max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: 500_000 } }, versions: new Map([[1, affineModel([WIDTH], [{ name: 'y', scale: 2, bias: 1 }])]]) },
        { name: 'triple', config: { max_batch_size: 8 }, versions: new Map([[1, affineModel([WIDTH], [{ name: 'y', scale: 3, bias: 0 }])]]) },
        { name: 'chain', config: ensemble([tensor('IN')], [tensor('OUT')], [step('double', { x: 'IN' }, { y: 'mid' }), step('triple', { x: 'mid' }, { y: 'OUT' })]), versions: new Map(), emptyVersions: [1] },
      ],
      { SHUTDOWN_DELAY_SECONDS: '0', SHUTDOWN_GRACE_SECONDS: '30' },
    );
    try {
      const x = valuesOf(5, WIDTH);
      const admitted = infer(t.client, 'chain', x, WIDTH, { input: 'IN' });
      const double = onnxVersion(t.server.repository.get('double')!.versions.get(1));
      await waitFor('the first step queued in double', () => double.scheduler.pending, (n) => n === 1);
      const drained = t.server.drain();
      await waitFor('new requests refused', async () => (await infer(t.client, 'chain', x, WIDTH, { input: 'IN' })).code, (c) => c === status.UNAVAILABLE);
      const res = await admitted;
      expect(res.code, res.details).to.equal(status.OK);
      expect([...res.outputs.get('OUT')!.data]).to.deep.equal([...x.map((v) => Math.fround(Math.fround(Math.fround(v * 2) + 1) * 3))]);
      expect((await drained).cut, 'requests cut by the grace period').to.equal(0);
    } finally {
      await t.stop();
    }
  });
});
