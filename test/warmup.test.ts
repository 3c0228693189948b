/**
 * model_warmup parsing, the tensors each sample becomes, and the order runs take on each
 * instance (instances faked: this is the warm-up module alone).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { parseModelConfig, type ModelConfig } from '../src/repository/model-config';
import { warmUp, type WarmupTarget } from '../src/repository/warmup';
import { automaticWarmupInputs, sampleInputs } from '../src/repository/warmup-inputs';
import type { WireTensor } from '../src/runtime/worker-protocol';
import { makeTempDir, removeDir } from './support/e2e-helpers';

const silent = pino({ level: 'silent' });
/** The server's defaults. */
const LIMITS = { maxElements: 64 * 1024 * 1024, maxBytesElements: 262_144 };
/** A server that is not stopping. */
const NEVER = new AbortController().signal;

/** A model config as the repository completes it: `x` FP32 [-1, 3] and `name` BYTES [1]. */
function config(modelWarmup: unknown, maxBatchSize = 8): ModelConfig {
  const partial = parseModelConfig('m', { model_warmup: modelWarmup }, 16);
  return {
    ...partial,
    maxBatchSize,
    inputs: [
      { name: 'x', datatype: 'FP32', dims: [-1, 3] },
      { name: 'name', datatype: 'BYTES', dims: [1] },
    ],
    outputs: [{ name: 'y', datatype: 'FP32', dims: [1] }],
  };
}

const zero = (dims: number[]) => ({ data_type: 'TYPE_FP32', dims, zero_data: true });
const names = { data_type: 'TYPE_STRING', dims: [1], zero_data: true };
const sample = (inputs: object, extra: object = {}) => ({ name: 's', inputs, ...extra });

describe('model_warmup', () => {
  describe('parsing', () => {
    it('reads name, batch_size, count and each input\'s datatype, dims and data source', () => {
      const [s] = config([{ name: 'two_rows', batch_size: 2, count: 3, inputs: { x: { data_type: 'TYPE_FP32', dims: ['2', 3], random_data: true }, name: names } }]).warmup;
      expect(s).to.deep.equal({
        name: 'two_rows',
        batchSize: 2,
        runs: 3,
        inputs: [
          { name: 'x', datatype: 'FP32', dims: [2, 3], data: { kind: 'random' } },
          { name: 'name', datatype: 'BYTES', dims: [1], data: { kind: 'zero' } },
        ],
      });
    });

    it('runs a sample once when count is 0 or absent, and takes batch_size 1 when absent', () => {
      const [a, b] = config([sample({ x: zero([1, 3]) }, { name: 'a', count: 0 }), sample({ x: zero([1, 3]) }, { name: 'b' })]).warmup;
      expect([a.runs, a.batchSize, b.runs, b.batchSize]).to.deep.equal([1, 1, 1, 1]);
    });

    const refusals: [string, unknown, RegExp][] = [
      ['a model_warmup that is not a list', { name: 's' }, /model_warmup must be a list/],
      ['a sample without a name', [{ inputs: { x: zero([1]) } }], /model_warmup\[0\]\.name must be a non-empty string/],
      ['two samples with one name', [sample({ x: zero([1]) }), sample({ x: zero([1]) })], /model_warmup\[1\]\.name 's' is used by an earlier sample/],
      ['batch_size 0', [sample({ x: zero([1]) }, { batch_size: 0 })], /sample 's' batch_size must be an integer >= 1/],
      ['a sample without inputs', [sample({})], /sample 's' inputs must be an object keyed by input name/],
      ['an unknown data_type', [sample({ x: { data_type: 'TYPE_FP33', dims: [1], zero_data: true } })], /input 'x' data_type 'TYPE_FP33' is not a known TYPE_\*/],
      ['a variable dim', [sample({ x: zero([-1]) })], /input 'x' dims must be an integer >= 0/],
      ['no data source', [sample({ x: { data_type: 'TYPE_FP32', dims: [1] } })], /input 'x' needs exactly one of zero_data, random_data, input_data_file/],
      ['two data sources', [sample({ x: { ...zero([1]), random_data: true } })], /needs exactly one of/],
      ['a file outside the warmup folder', [sample({ x: { data_type: 'TYPE_FP32', dims: [1], input_data_file: '../config.json' } })], /input_data_file '\.\.\/config\.json' must be a path inside the model's warmup\/ folder/],
      ['an absolute file path', [sample({ x: { data_type: 'TYPE_FP32', dims: [1], input_data_file: '/etc/passwd' } })], /must be a path inside the model's warmup\/ folder/],
    ];
    for (const [what, value, message] of refusals) {
      it(`refuses ${what}, naming the model and the key`, () => {
        expect(() => config(value)).to.throw(/^model 'm' config\.json: /);
        expect(() => config(value)).to.throw(message);
      });
    }
  });

  describe('sample inputs', () => {
    let dir: string;
    before(() => {
      dir = makeTempDir('warmup-inputs');
      fs.mkdirSync(path.join(dir, 'warmup'));
      fs.writeFileSync(path.join(dir, 'warmup', 'x.bin'), Buffer.from(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer));
      fs.writeFileSync(path.join(dir, 'warmup', 'short.bin'), Buffer.alloc(5));
      fs.writeFileSync(path.join(dir, 'warmup', 'names.bin'), Buffer.from([2, 0, 0, 0, 0x68, 0x69]));
      fs.writeFileSync(path.join(dir, 'warmup', 'cut.bin'), Buffer.from([9, 0, 0, 0, 0x68]));
    });
    after(() => removeDir(dir));

    const build = (inputs: object, extra: object = {}, maxBatchSize = 8, limits = LIMITS) => {
      const c = config([sample(inputs, extra)], maxBatchSize);
      return sampleInputs(c, dir, c.warmup[0], limits);
    };
    const file = (dataType: string, dims: number[], name: string) => ({ data_type: dataType, dims, input_data_file: name });

    it('repeats a file\'s row batch_size times, in the model\'s input order, with BYTES from their length-prefixed form', async () => {
      const [x, n] = await build({ name: file('TYPE_STRING', [1], 'names.bin'), x: file('TYPE_FP32', [2, 3], 'x.bin') }, { batch_size: 2 });
      expect(x.name).to.equal('x');
      expect(x.shape).to.deep.equal([2, 2, 3]);
      expect(Array.from(x.data as Float32Array)).to.deep.equal([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
      expect(n.shape).to.deep.equal([2, 1]);
      expect((n.data as Uint8Array[]).map((b) => Buffer.from(b).toString())).to.deep.equal(['hi', 'hi']);
    });

    it('fills random_data from a fixed seed: floats in [0, 1), the same on every load', async () => {
      const first = (await build({ x: { data_type: 'TYPE_FP32', dims: [4, 3], random_data: true }, name: names }))[0].data as Float32Array;
      const again = (await build({ x: { data_type: 'TYPE_FP32', dims: [4, 3], random_data: true }, name: names }))[0].data as Float32Array;
      expect(Array.from(first)).to.deep.equal(Array.from(again));
      expect(Array.from(first).every((v) => v >= 0 && v < 1)).to.equal(true);
      expect(new Set(first).size, 'not all equal').to.be.above(1);
    });

    const mismatches: [string, object, object, RegExp][] = [
      ['an input the model lacks', { x: zero([1, 3]), name: names, extra: zero([1]) }, {}, /input 'extra' is not a model input \(it has x, name\)/],
      ['a missing input', { x: zero([1, 3]) }, {}, /input 'name' is missing; every model input needs one/],
      ['a datatype other than the model\'s', { x: { data_type: 'TYPE_INT32', dims: [1, 3], zero_data: true }, name: names }, {}, /input 'x' is INT32 here but FP32 in the model/],
      ['dims that contradict a fixed model dim', { x: zero([1, 4]), name: names }, {}, /input 'x' dims \[1,4\] do not fit the model's \[-1,3\]/],
      ['batch_size above max_batch_size', { x: zero([1, 3]), name: names }, { batch_size: 9 }, /batch_size 9 exceeds max_batch_size 8/],
      ['a file of the wrong size', { x: file('TYPE_FP32', [1, 3], 'short.bin'), name: names }, {}, /short\.bin holds 5 bytes; FP32 \[1,3\] needs 12/],
      ['a BYTES file cut short', { x: zero([1, 3]), name: file('TYPE_STRING', [1], 'cut.bin') }, {}, /input 'name' input_data_file .*cut\.bin: raw BYTES element 0 is truncated: expected 9 bytes, got 1/],
    ];
    for (const [what, inputs, extra, message] of mismatches) {
      it(`refuses ${what}, naming the sample`, async () => {
        let caught: unknown;
        await build(inputs, extra).catch((err: unknown) => (caught = err));
        expect(String(caught)).to.match(/model 'm' config\.json: model_warmup sample 's': /).and.to.match(message);
      });
    }

    it('holds a sample to the request limits before allocating it, naming the settings', async () => {
      const small = { maxElements: 20, maxBytesElements: 2 };
      await build({ x: zero([4, 3]), name: names }, { batch_size: 1 }, 8, small);
      let caught: unknown;
      await build({ x: zero([300_000_000, 3]), name: names }, {}, 8, small).catch((err: unknown) => (caught = err));
      expect(String(caught)).to.match(/model_warmup sample 's': 900000001 elements, over the server's limit of 20 a request \(MAX_REQUEST_ELEMENTS\)/);
      caught = undefined;
      await build({ x: zero([1, 3]), name: names }, { batch_size: 3 }, 8, small).catch((err: unknown) => (caught = err));
      expect(String(caught)).to.match(/3 BYTES elements, over the server's limit of 2 a request \(MAX_BYTES_ELEMENTS\)/);
    });

    it('holds the automatic warm-up to the request limits before allocating it', () => {
      // config.json may fix the model's variable dimension at any size: 900,000,000 FP32 zeros here.
      const wide = { ...config(undefined), inputs: [{ name: 'x', datatype: 'FP32' as const, dims: [300_000_000, 3] }] };
      expect(() => automaticWarmupInputs(wide, LIMITS)).to.throw(/^one row of every input is 900000000 elements, over the server's limit of 67108864 a request \(MAX_REQUEST_ELEMENTS\)$/);
      const bytes = { ...config(undefined), inputs: [{ name: 'n', datatype: 'BYTES' as const, dims: [262_145] }] };
      expect(() => automaticWarmupInputs(bytes, LIMITS)).to.throw(/262145 BYTES elements, over the server's limit of 262144 a request \(MAX_BYTES_ELEMENTS\)/);
    });

    it('refuses batch_size 2 for a model without batching', async () => {
      let caught: unknown;
      await build({ x: zero([1, 3]), name: names }, { batch_size: 2 }, 0).catch((err: unknown) => (caught = err));
      expect(String(caught)).to.match(/batch_size must be 1 for a model without batching/);
    });

    it('gives the automatic warm-up one row of zeros, variable dims as 1', () => {
      const [x, n] = automaticWarmupInputs(config(undefined), LIMITS);
      expect(x.shape).to.deep.equal([1, 1, 3]);
      expect(Array.from(x.data as Float32Array)).to.deep.equal([0, 0, 0]);
      expect(n.shape).to.deep.equal([1, 1]);
      expect((n.data as Uint8Array[])[0].length).to.equal(0);
    });
  });

  describe('runs', () => {
    /** An instance that records what it ran and fails runs whose x starts with `failOn`. */
    class FakeInstance implements WarmupTarget {
      readonly ran: string[] = [];
      constructor(private readonly failOn?: number) {}
      async run(feeds: Record<string, WireTensor>): Promise<never> {
        const first = (feeds.x.data as Float32Array)[0];
        this.ran.push(`${feeds.x.dims.join('x')}:${first}`);
        if (first === this.failOn) throw new Error('onnxruntime: refused');
        return undefined as never;
      }
    }
    const samples = [
      { name: 'one', count: 2, inputs: { x: { data_type: 'TYPE_FP32', dims: [1, 3], zero_data: true }, name: names } },
      { name: 'two', batch_size: 2, inputs: { x: { data_type: 'TYPE_FP32', dims: [2, 3], input_data_file: 'x.bin' }, name: names } },
    ];
    let dir: string;
    before(() => {
      dir = makeTempDir('warmup-runs');
      fs.mkdirSync(path.join(dir, 'warmup'));
      fs.writeFileSync(path.join(dir, 'warmup', 'x.bin'), Buffer.from(Float32Array.from([7, 2, 3, 4, 5, 6]).buffer));
    });
    after(() => removeDir(dir));

    it('runs every sample in order, count times, on every instance', async () => {
      const instances = [new FakeInstance(), new FakeInstance()];
      await warmUp(config(samples), dir, instances, silent, 1, LIMITS, NEVER);
      for (const instance of instances) expect(instance.ran).to.deep.equal(['1x1x3:0', '1x1x3:0', '2x2x3:7']);
    });

    it('stops at the first failing sample and names it', async () => {
      let caught: unknown;
      await warmUp(config(samples), dir, [new FakeInstance(7)], silent, 1, LIMITS, NEVER).catch((err: unknown) => (caught = err));
      expect(String(caught)).to.equal("Error: warm-up sample 'two' failed: onnxruntime: refused");
    });

    it('gives up between runs once the server stops, with the reason it was given, however many runs are left', async () => {
      const stopping = new AbortController();
      const stopped = new Error('the server is stopping');
      // The third run stops the server: a count of 10^12 would otherwise hold the load for good.
      const instance = new (class extends FakeInstance {
        override async run(feeds: Record<string, WireTensor>): Promise<never> {
          if (this.ran.length === 2) stopping.abort(stopped);
          return super.run(feeds);
        }
      })();
      const endless = [{ name: 'endless', count: 1e12, inputs: { x: { data_type: 'TYPE_FP32', dims: [1, 3], zero_data: true }, name: names } }];
      let caught: unknown;
      await warmUp(config(endless), dir, [instance], silent, 1, LIMITS, stopping.signal).catch((err: unknown) => (caught = err));
      expect(caught).to.equal(stopped);
      expect(instance.ran).to.have.length(3);
    });

    it('does not forgive a stop during the automatic warm-up as a failed run', async () => {
      const stopping = new AbortController();
      const stopped = new Error('the server is stopping');
      const instance = new (class extends FakeInstance {
        override async run(feeds: Record<string, WireTensor>): Promise<never> {
          stopping.abort(stopped);
          return super.run(feeds);
        }
      })(0);
      let caught: unknown;
      await warmUp(config(undefined), dir, [instance], silent, 1, LIMITS, stopping.signal).catch((err: unknown) => (caught = err));
      expect(caught).to.equal(stopped);
    });

    it('lets a failing automatic warm-up pass with a warning that gives the reason', async () => {
      const lines: { msg: string; reason: string }[] = [];
      const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; reason: string }) });
      const instance = new FakeInstance(0);
      await warmUp(config(undefined), dir, [instance], log, 1, LIMITS, NEVER);
      expect(instance.ran).to.deep.equal(['1x1x3:0']);
      expect(lines).to.have.length(1);
      expect(lines[0].msg).to.match(/^automatic warm-up failed; serving without it/);
      expect(lines[0].reason).to.equal("warm-up sample 'automatic' failed: onnxruntime: refused");
    });
  });
});
