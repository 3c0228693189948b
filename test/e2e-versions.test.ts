/**
 * Model versions whose files differ: each version is an affine model with its own weights, so an
 * answer tells which file computed it, not only which version label the server echoed.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { maxAbsDiff } from './support/batching-client';
import { expectRpcError } from './support/e2e-helpers';
import { affineModel, affineReference, affineRequest, serveRepository, valuesOf, type AffineOutput, type RepositoryServer } from './support/generated-models';
import { readFp32 } from './support/server';

const WIDTH = 4;
/** Version v computes y = x * WEIGHTS[v].scale + WEIGHTS[v].bias. */
const WEIGHTS = new Map<number, AffineOutput>([
  [1, { name: 'y', scale: 1.5, bias: -1 }],
  [2, { name: 'y', scale: -2, bias: 3 }],
  [3, { name: 'y', scale: 0.25, bias: 7 }],
]);
const modelOf = (version: number): Uint8Array => affineModel([WIDTH], [WEIGHTS.get(version)!]);
const ALL = { version_policy: { all: {} }, max_batch_size: 4 };

interface InferResponse {
  model_name: string;
  model_version: string;
  outputs: { name: string; shape: string[] }[];
  raw_output_contents: Buffer[];
}

describe('e2e model versions with different files', function () {
  this.timeout(30_000);
  let t: RepositoryServer;
  const x = valuesOf(5, 2 * WIDTH);

  before(async () => {
    t = await serveRepository([
      { name: 'weighted', config: ALL, versions: new Map([1, 2, 3].map((v) => [v, modelOf(v)])) },
      // Version 3, the newest, is not an ONNX model at all.
      { name: 'broken_newest', config: ALL, versions: new Map([[1, modelOf(1)], [2, modelOf(2)], [3, Buffer.from('this is not an ONNX model')]]) },
    ]);
  });

  after(async () => t?.stop());

  const infer = (model: string, version?: string): Promise<InferResponse> =>
    t.client.unary<InferResponse>('ModelInfer', affineRequest(model, [2, WIDTH], x, { version }));
  const ready = async (name: string, version: string): Promise<boolean> =>
    (await t.client.unary<{ ready?: boolean }>('ModelReady', { name, version })).ready ?? false;

  /** The response is version `version`'s: its label and the values only that version's weights give. */
  function expectComputedBy(res: InferResponse, version: number): void {
    expect(res.model_version, 'model_version').to.equal(String(version));
    expect(res.outputs.map((o) => [o.name, o.shape])).to.deep.equal([['y', ['2', String(WIDTH)]]]);
    const y = readFp32(res.raw_output_contents[0]);
    for (const [v, weights] of WEIGHTS) {
      const diff = maxAbsDiff(y, affineReference(x, weights));
      if (v === version) expect(diff, `y against version ${v}'s weights`).to.be.below(1e-5);
      else expect(diff, `y against version ${v}'s weights`).to.be.above(0.1);
    }
  }

  describe('versions 1, 2, 3 under {"all":{}}, each file with its own weights', () => {
    it("answers a request pinned to each version with that version's own outputs", async () => {
      for (const v of [1, 2, 3]) expectComputedBy(await infer('weighted', String(v)), v);
    });

    it("answers a request that names no version with version 3's outputs", async () => {
      expectComputedBy(await infer('weighted'), 3);
    });
  });

  describe('versions 1, 2, 3 under {"all":{}} where version 3 is not a valid model', () => {
    it("serves a request that names no version from version 2, the newest that loaded, with version 2's outputs", async () => {
      expectComputedBy(await infer('broken_newest'), 2);
    });

    it('still serves versions 1 and 2 when pinned', async () => {
      expectComputedBy(await infer('broken_newest', '1'), 1);
      expectComputedBy(await infer('broken_newest', '2'), 2);
    });

    it('answers a request pinned to version 3 with UNAVAILABLE naming that version and why it failed to load', async () => {
      await expectRpcError(infer('broken_newest', '3'), status.UNAVAILABLE, "model 'broken_newest' version 3 failed to load: ", 'Protobuf parsing failed');
    });

    it('reports version 3 not ready, versions 1 and 2 and the model itself ready', async () => {
      expect(await ready('broken_newest', '3'), 'version 3').to.equal(false);
      expect(await ready('broken_newest', '2'), 'version 2').to.equal(true);
      expect(await ready('broken_newest', '1'), 'version 1').to.equal(true);
      expect(await ready('broken_newest', ''), 'no version named').to.equal(true);
    });

    it("records why version 3 failed, and lists only versions 1 and 2 in ModelMetadata", async () => {
      expect(t.server.repository.get('broken_newest')?.failures.join('; ')).to.match(/^version 3: /);
      const metadata = await t.client.unary<{ versions: string[] }>('ModelMetadata', { name: 'broken_newest' });
      expect(metadata.versions).to.deep.equal(['1', '2']);
    });
  });
});
