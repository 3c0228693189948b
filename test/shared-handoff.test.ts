import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DataType, node, serializeModel, valueInfo } from '../scripts/onnx/builder';
import { ModelInstance } from '../src/runtime/model-instance';
import { createChannel, grownArena, INITIAL_ARENA_BYTES, layOut, MAX_ARENA_BYTES, readArena, writeArena } from '../src/runtime/shared-handoff';
import type { WireTensor } from '../src/runtime/worker-protocol';

/** y = Identity(x): any size. */
function echoModel(): Uint8Array {
  return serializeModel({
    graphName: 'echo',
    docString: 'y = x',
    inputs: [valueInfo('x', DataType.FLOAT, ['batch', 'n'])],
    outputs: [valueInfo('y', DataType.FLOAT, ['batch', 'n'])],
    nodes: [node('Identity', ['x'], ['y'], 'echo')],
  });
}

describe('shared-memory hand-off', () => {
  it('carries numeric tensors of every width and the meta through an arena, as copies the next batch cannot touch', () => {
    const arena = createChannel().input;
    const tensors: Record<string, WireTensor> = {
      f32: { type: 'float32', dims: [2, 3], data: Float32Array.from([1.5, -2, 3, 4, 5, 6]) },
      i64: { type: 'int64', dims: [3], data: BigInt64Array.from([-1n, 2n ** 62n, 3n]) },
      f16: { type: 'float16', dims: [1], data: Uint16Array.from([0x3c00]) },
      b: { type: 'bool', dims: [3], data: Uint8Array.from([1, 0, 1]) },
      empty: { type: 'float64', dims: [0, 4], data: new Float64Array(0) },
    };
    const layout = layOut({ id: 7, fetches: ['y'] }, tensors)!;
    writeArena(arena, layout, tensors);
    const { meta, tensors: read } = readArena<{ id: number; fetches: string[] }>(arena);
    expect(meta).to.deep.equal({ id: 7, fetches: ['y'] });
    for (const name of Object.keys(tensors)) {
      expect(read[name].type, name).to.equal(tensors[name].type);
      expect(read[name].dims, name).to.deep.equal(tensors[name].dims);
      expect(read[name].data.constructor, name).to.equal(tensors[name].data.constructor);
      expect(Array.from(read[name].data as ArrayLike<unknown>), name).to.deep.equal(Array.from(tensors[name].data as ArrayLike<unknown>));
      // ONNX Runtime refuses views of shared memory, and the arena is rewritten by the next batch.
      expect((read[name].data as Float32Array).buffer, name).to.be.an.instanceOf(ArrayBuffer);
    }
    new Uint8Array(arena).fill(0);
    expect(Array.from(read.f32.data as Float32Array)).to.deep.equal([1.5, -2, 3, 4, 5, 6]);
  });

  it('leaves string tensors to messages, and sizes a grown arena in powers of two up to a bound', () => {
    expect(layOut({}, { s: { type: 'string', dims: [1], data: ['a'] } })).to.equal(undefined);
    expect(grownArena(INITIAL_ARENA_BYTES + 1)!.byteLength).to.equal(2 * INITIAL_ARENA_BYTES);
    expect(grownArena(MAX_ARENA_BYTES)!.byteLength).to.equal(MAX_ARENA_BYTES);
    expect(grownArena(MAX_ARENA_BYTES + 1)).to.equal(undefined);
  });

  describe('through a real session worker', function () {
    this.timeout(60_000);
    let instance: ModelInstance;
    let dir: string;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-'));
      fs.writeFileSync(path.join(dir, 'echo.onnx'), echoModel());
      instance = new ModelInstance({ modelPath: path.join(dir, 'echo.onnx'), providers: ['cpu'], intraOpThreads: 1, graphOptimizationLevel: 'all' });
      await instance.loaded;
    });
    after(async () => {
      await instance.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const echo = async (n: number, seed: number): Promise<void> => {
      const data = Float32Array.from({ length: n }, (_, i) => seed + i);
      const result = await instance.run({ x: { type: 'float32', dims: [1, n], data } }, ['y'], []);
      const out = result.outputs.y;
      expect(out.dims, `n=${n}`).to.deep.equal([1, n]);
      expect((out.data as Float32Array)[n - 1], `n=${n}`).to.equal(seed + n - 1);
      expect(Array.from(out.data as Float32Array).every((x, i) => x === seed + i), `n=${n}`).to.equal(true);
    };

    it('answers small batches and batches that outgrow both arenas (by message, then shared in the grown ones), in any order', async () => {
      const big = INITIAL_ARENA_BYTES; // 4 bytes an element: four times the first arena
      await echo(8, 1);
      await echo(big, 2);
      await echo(big, 3);
      await echo(8, 4);
      // Queued back to back: the channel takes one at a time and answers each in order.
      await Promise.all([echo(8, 5), echo(big, 6), echo(16, 7), echo(2 * big, 8)]);
    });
  });
});
