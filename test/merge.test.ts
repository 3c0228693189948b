import { expect } from 'chai';
import { InferenceError } from '../src/errors';
import { mergeInputs, reshapesOf, splitOutputs } from '../src/batching/merge';
import type { WireTensor } from '../src/runtime/worker-protocol';
import type { Tensor } from '../src/tensor/tensor';
import { fakeJob } from './support/batching-fakes';

const fp32 = (name: string, shape: number[], values: number[]): Tensor => ({ name, datatype: 'FP32', shape, data: Float32Array.from(values) });
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('merge', () => {
  describe('mergeInputs', () => {
    it('concatenates FP32 inputs of several jobs along the batch dimension', () => {
      const a = fakeJob({ rows: 1, inputs: [fp32('x', [1, 3], [1, 2, 3])] });
      const b = fakeJob({ rows: 2, inputs: [fp32('x', [2, 3], [4, 5, 6, 7, 8, 9])] });
      const { feeds, transfer } = mergeInputs([a, b], 3, true);
      expect(feeds.x.type).to.equal('float32');
      expect(feeds.x.dims).to.deep.equal([3, 3]);
      expect(feeds.x.data).to.be.instanceOf(Float32Array);
      expect(Array.from(feeds.x.data as Float32Array)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // A fresh buffer, free to move to the worker: never one of the requests' own.
      expect(transfer).to.deep.equal([(feeds.x.data as Float32Array).buffer]);
      expect((feeds.x.data as Float32Array).buffer).to.not.equal((a.inputs[0].data as Float32Array).buffer);
    });

    it('copies from views at an offset into a larger buffer', () => {
      const backing = new Float32Array([99, 99, 1, 2, 3, 4, 99]);
      const view: Tensor = { name: 'x', datatype: 'FP32', shape: [2, 2], data: backing.subarray(2, 6) };
      const a = fakeJob({ rows: 2, inputs: [view] });
      const b = fakeJob({ rows: 1, inputs: [fp32('x', [1, 2], [5, 6])] });
      const { feeds } = mergeInputs([a, b], 3, true);
      expect(Array.from(feeds.x.data as Float32Array)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    });

    it('merges every input by name even when jobs list them in another order', () => {
      const ids = (values: bigint[], rows: number): Tensor => ({ name: 'ids', datatype: 'INT64', shape: [rows, 2], data: BigInt64Array.from(values) });
      const a = fakeJob({ rows: 1, inputs: [fp32('x', [1, 1], [0.5]), ids([1n, 2n], 1)] });
      const b = fakeJob({ rows: 1, inputs: [ids([3n, -4n], 1), fp32('x', [1, 1], [1.5])] });
      const { feeds, transfer } = mergeInputs([a, b], 2, true);
      expect(Object.keys(feeds).sort()).to.deep.equal(['ids', 'x']);
      expect(feeds.ids.type).to.equal('int64');
      expect(feeds.ids.dims).to.deep.equal([2, 2]);
      expect(Array.from(feeds.ids.data as BigInt64Array)).to.deep.equal([1n, 2n, 3n, -4n]);
      expect(Array.from(feeds.x.data as Float32Array)).to.deep.equal([0.5, 1.5]);
      expect(transfer).to.have.length(2);
    });

    it('keeps FP16 as raw 16-bit patterns and BOOL as bytes', () => {
      const h = (bits: number[], rows: number): Tensor => ({ name: 'h', datatype: 'FP16', shape: [rows], data: Uint16Array.from(bits) });
      const f = (bytes: number[], rows: number): Tensor => ({ name: 'f', datatype: 'BOOL', shape: [rows], data: Uint8Array.from(bytes) });
      const a = fakeJob({ rows: 1, inputs: [h([0x3c00], 1), f([1], 1)] });
      const b = fakeJob({ rows: 2, inputs: [h([0xc000, 0x7bff], 2), f([0, 1], 2)] });
      const { feeds } = mergeInputs([a, b], 3, true);
      expect(feeds.h.type).to.equal('float16');
      expect(Array.from(feeds.h.data as Uint16Array)).to.deep.equal([0x3c00, 0xc000, 0x7bff]);
      expect(feeds.f.type).to.equal('bool');
      expect(Array.from(feeds.f.data as Uint8Array)).to.deep.equal([1, 0, 1]);
    });

    it('merges BYTES inputs into one string list in row order', () => {
      const s = (values: string[], shape: number[]): Tensor => ({ name: 's', datatype: 'BYTES', shape, data: values.map(text) });
      const a = fakeJob({ rows: 2, inputs: [s(['a', 'bé'], [2, 1])] });
      const b = fakeJob({ rows: 1, inputs: [s([''], [1, 1])] });
      const c = fakeJob({ rows: 1, inputs: [s(['日本'], [1, 1])] });
      const { feeds, transfer } = mergeInputs([a, b, c], 4, true);
      expect(feeds.s.type).to.equal('string');
      expect(feeds.s.dims).to.deep.equal([4, 1]);
      expect(feeds.s.data).to.deep.equal(['a', 'bé', '', '日本']);
      expect(transfer).to.have.length(0);
    });

    it('passes a single unbatched job through with its own shape', () => {
      const a = fakeJob({ rows: 1, inputs: [fp32('x', [2, 3], [1, 2, 3, 4, 5, 6])] });
      const { feeds } = mergeInputs([a], 1, false);
      expect(feeds.x.dims).to.deep.equal([2, 3]);
      expect(Array.from(feeds.x.data as Float32Array)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    });
  });

  describe('splitOutputs', () => {
    const out = (dims: number[], values: number[]): WireTensor => ({ type: 'float32', dims, data: Float32Array.from(values) });

    it('gives each job its own rows as views over the batch output, not copies', () => {
      const jobs = [fakeJob({ rows: 1 }), fakeJob({ rows: 3 }), fakeJob({ rows: 2 })];
      const y = out([6, 2], [0, 1, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23]);
      const perJob = splitOutputs(jobs, { y }, 6, true);
      expect(perJob).to.have.length(3);
      const [a, b, c] = perJob.map((outs) => outs[0]);
      expect(a.shape).to.deep.equal([1, 2]);
      expect(b.shape).to.deep.equal([3, 2]);
      expect(c.shape).to.deep.equal([2, 2]);
      expect(a.datatype).to.equal('FP32');
      expect(Array.from(a.data as Float32Array)).to.deep.equal([0, 1]);
      expect(Array.from(b.data as Float32Array)).to.deep.equal([10, 11, 12, 13, 14, 15]);
      expect(Array.from(c.data as Float32Array)).to.deep.equal([20, 21, 22, 23]);
      const backing = (y.data as Float32Array).buffer;
      for (const t of [a, b, c]) expect((t.data as Float32Array).buffer).to.equal(backing);
      expect((b.data as Float32Array).byteOffset).to.equal(2 * 4);
      expect((c.data as Float32Array).byteOffset).to.equal(8 * 4);
    });

    it('splits outputs with more dims by whole rows', () => {
      const jobs = [fakeJob({ rows: 1 }), fakeJob({ rows: 1 })];
      const perJob = splitOutputs(jobs, { y: out([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]) }, 2, true);
      expect(perJob[0][0].shape).to.deep.equal([1, 2, 2]);
      expect(Array.from(perJob[1][0].data as Float32Array)).to.deep.equal([5, 6, 7, 8]);
    });

    it('gives each job only the outputs it asked for', () => {
      const jobs = [fakeJob({ rows: 1, outputs: ['score'] }), fakeJob({ rows: 1, outputs: ['score', 'extra'] }), fakeJob({ rows: 1, outputs: ['extra'] })];
      const perJob = splitOutputs(jobs, { score: out([3, 1], [1, 2, 3]), extra: out([3, 1], [4, 5, 6]) }, 3, true);
      expect(perJob[0].map((t) => t.name)).to.deep.equal(['score']);
      expect(perJob[1].map((t) => t.name).sort()).to.deep.equal(['extra', 'score']);
      expect(perJob[2].map((t) => t.name)).to.deep.equal(['extra']);
      expect(Array.from(perJob[2][0].data as Float32Array)).to.deep.equal([6]);
      expect(Array.from(perJob[1].find((t) => t.name === 'score')!.data as Float32Array)).to.deep.equal([2]);
    });

    it('splits INT64 outputs as views too', () => {
      const jobs = [fakeJob({ rows: 2 }), fakeJob({ rows: 1 })];
      const data = BigInt64Array.from([1n, 2n, 3n]);
      const perJob = splitOutputs(jobs, { y: { type: 'int64', dims: [3], data } }, 3, true);
      expect(perJob[0][0].datatype).to.equal('INT64');
      expect(perJob[0][0].shape).to.deep.equal([2]);
      expect(Array.from(perJob[1][0].data as BigInt64Array)).to.deep.equal([3n]);
      expect((perJob[1][0].data as BigInt64Array).buffer).to.equal(data.buffer);
    });

    it('splits string outputs into BYTES elements per job', () => {
      const jobs = [fakeJob({ rows: 1 }), fakeJob({ rows: 2 })];
      const perJob = splitOutputs(jobs, { y: { type: 'string', dims: [3], data: ['x', 'ÿz', ''] } }, 3, true);
      expect(perJob[0][0].datatype).to.equal('BYTES');
      expect(perJob[0][0].shape).to.deep.equal([1]);
      expect((perJob[0][0].data as Uint8Array[]).map((b) => Buffer.from(b).toString('utf8'))).to.deep.equal(['x']);
      expect((perJob[1][0].data as Uint8Array[]).map((b) => Buffer.from(b).toString('utf8'))).to.deep.equal(['ÿz', '']);
    });

    it('gives an unbatched job the whole output with the model\'s dims', () => {
      const jobs = [fakeJob({ rows: 1 })];
      const y = out([2, 2], [1, 2, 3, 4]);
      const perJob = splitOutputs(jobs, { y }, 1, false);
      expect(perJob[0][0].shape).to.deep.equal([2, 2]);
      expect(perJob[0][0].data).to.equal(y.data);
    });

    it('fails with INTERNAL when the output rows do not match the batch', () => {
      const jobs = [fakeJob({ rows: 1 }), fakeJob({ rows: 1 })];
      expect(() => splitOutputs(jobs, { y: out([3, 1], [1, 2, 3]) }, 2, true)).to.throw(InferenceError).with.property('code', 'INTERNAL');
    });

    it('fails with INTERNAL for an output type the protocol cannot carry', () => {
      const jobs = [fakeJob({ rows: 1 })];
      const odd = { type: 'bfloat16', dims: [1], data: new Uint16Array(1) } as unknown as WireTensor;
      expect(() => splitOutputs(jobs, { y: odd }, 1, true)).to.throw(InferenceError).with.property('code', 'INTERNAL');
    });

    it('round-trips: merged inputs split back to exactly each job\'s rows', () => {
      const rows = [2, 1, 3];
      const jobs = rows.map((r, j) => fakeJob({ rows: r, inputs: [fp32('x', [r, 2], Array.from({ length: r * 2 }, (_, i) => j * 100 + i))] }));
      const total = rows.reduce((a, b) => a + b, 0);
      const { feeds } = mergeInputs(jobs, total, true);
      // An "identity model": the output is the merged input.
      const perJob = splitOutputs(jobs, { y: { type: 'float32', dims: feeds.x.dims, data: feeds.x.data } }, total, true);
      jobs.forEach((job, j) => {
        expect(perJob[j][0].shape).to.deep.equal(job.inputs[0].shape);
        expect(Array.from(perJob[j][0].data as Float32Array)).to.deep.equal(Array.from(job.inputs[0].data as Float32Array));
      });
    });
  });
  describe("Triton's reshape", () => {
    const out = (dims: number[], values: number[]): WireTensor => ({ type: 'float32', dims, data: Float32Array.from(values) });
    const reshapes = reshapesOf({
      inputs: [{ name: 'x', datatype: 'FP32', dims: [4], reshape: [1, 2, 2] }, { name: 'plain', datatype: 'FP32', dims: [2] }],
      outputs: [{ name: 'y', datatype: 'FP32', dims: [4], reshape: [2, 2] }, { name: 'plain', datatype: 'FP32', dims: [2] }],
    });

    it('gives the model its own dims for a reshaped input, and the same bytes', () => {
      const a = fakeJob({ rows: 1, inputs: [fp32('x', [1, 4], [1, 2, 3, 4]), fp32('plain', [1, 2], [9, 9])] });
      const b = fakeJob({ rows: 2, inputs: [fp32('x', [2, 4], [5, 6, 7, 8, 9, 10, 11, 12]), fp32('plain', [2, 2], [8, 8, 7, 7])] });
      const { feeds } = mergeInputs([a, b], 3, true, reshapes);
      expect(feeds.x.dims).to.deep.equal([3, 1, 2, 2]);
      expect(Array.from(feeds.x.data as Float32Array)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(feeds.plain.dims).to.deep.equal([3, 2]);
      const unbatched = reshapesOf({ inputs: [{ name: 'x', datatype: 'FP32', dims: [4], reshape: [2, 2] }], outputs: [] });
      expect(mergeInputs([fakeJob({ rows: 1, inputs: [fp32('x', [4], [1, 2, 3, 4])] })], 1, false, unbatched).feeds.x.dims).to.deep.equal([2, 2]);
    });

    it("gives clients the configured dims of a reshaped output, and refuses an output the reshape cannot hold", () => {
      const jobs = [fakeJob({ rows: 1, outputs: ['y', 'plain'] }), fakeJob({ rows: 1, outputs: ['y', 'plain'] })];
      const perJob = splitOutputs(jobs, { y: out([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]), plain: out([2, 2], [1, 2, 3, 4]) }, 2, true, reshapes);
      expect(perJob[1].map((t) => [t.name, t.shape])).to.deep.equal([['y', [1, 4]], ['plain', [1, 2]]]);
      expect(Array.from(perJob[1][0].data as Float32Array)).to.deep.equal([5, 6, 7, 8]);
      expect(() => splitOutputs(jobs, { y: out([2, 3], [1, 2, 3, 4, 5, 6]) }, 2, true, reshapes))
        .to.throw(InferenceError, "output 'y' has dims [2,3], which its reshape to [4] cannot take");
    });
  });
});
