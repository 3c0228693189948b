/**
 * Shadow traffic over real gRPC: a rollout's `shadow` block runs a share of the unpinned requests
 * again on the shadow version after the caller was answered, and records how far its outputs are
 * from those served. Versions whose outputs differ by known amounts make the recorded differences
 * exact. Poll mode with an hour's timer: a test changes config.json, then calls repository.poll().
 */
import { expect } from 'chai';
import { freePort } from '../scripts/bench/free-port';
import { writeModelConfig } from './support/e2e-helpers';
import { infer, maxAbsDiff } from './support/batching-client';
import { affineModel, affineReference, serveRepository, type RepositoryServer } from './support/generated-models';
import { httpRequest } from './support/http-get';
import { parseExposition, type Exposition } from './support/prometheus-text';
import { expectComputedBy, inferVersioned, versionedModel, weightsOf, WIDTH, X, type InferResponse } from './support/repository-client';
import { SLOW_FEATURES, sizedSlowModel, slowModelBytes, slowReference } from './support/batching-slow-model';
import { waitFor } from './support/wait-for';
import { onnxVersion } from './support/onnx-version';

const ALL = { max_batch_size: 4, version_policy: { all: {} } };
const shadowed = (fraction: number): object => ({ ...ALL, rollout: { weights: { '1': 1 }, shadow: { version: 2, fraction } } });
/** Version 1 serves y = x, version 2 (the shadow) y = -x: rows whose largest value is unique disagree on argmax. */
const CLASSES_X = Float32Array.of(1, 2, 3, 4, 5, 5, 5, 5);

describe('e2e shadow traffic', function () {
  this.timeout(180_000);
  let t: RepositoryServer;
  let metricsPort: number;

  before(async () => {
    metricsPort = await freePort();
    const v = (...versions: number[]) => new Map(versions.map((n) => [n, versionedModel(n)]));
    const slow = await sizedSlowModel();
    // Computes exactly what the slow model computes, without its busy chain.
    const fast = slowModelBytes(8, 1);
    const slowPair = new Map([[1, fast], [2, slow]]);
    t = await serveRepository(
      [
        { name: 'mirror', config: shadowed(1), versions: v(1, 2) },
        { name: 'quarter', config: shadowed(0.25), versions: v(1, 2) },
        {
          name: 'classes',
          config: shadowed(1),
          versions: new Map([
            [1, affineModel([WIDTH], [{ name: 'y', scale: 1, bias: 0 }])],
            [2, affineModel([WIDTH], [{ name: 'y', scale: -1, bias: 0 }])],
          ]),
        },
        { name: 'loaded', config: shadowed(1), versions: slowPair },
        { name: 'lat_shadowed', config: shadowed(1), versions: slowPair },
        { name: 'lat_plain', config: shadowed(0), versions: slowPair },
      ],
      { MODEL_CONTROL_MODE: 'poll', REPOSITORY_POLL_SECONDS: '3600', METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1' },
    );
  });

  after(async () => t?.stop());

  const scrape = async (): Promise<Exposition> => parseExposition((await httpRequest(metricsPort, '/metrics')).body);
  const sum = (samples: { value: number }[]): number => samples.reduce((a, s) => a + s.value, 0);
  const shadows = async (model: string, outcome?: string): Promise<number> =>
    sum((await scrape()).matching('inference_shadow_requests_total', { model, ...(outcome && { outcome }) }));
  const waitForShadows = (model: string, n: number): Promise<number> => waitFor(`${n} shadows of ${model} settled`, () => shadows(model), (c) => c >= n);
  const unpinned = (model: string): Promise<InferResponse> => inferVersioned(t.client, model);

  it('shadows every unpinned request at fraction 1: callers get the served version, the difference recorded is the known one', async () => {
    const n = 40;
    for (let i = 0; i < n; i++) expectComputedBy(await unpinned('mirror'), 1);
    expect(await waitForShadows('mirror', n)).to.equal(n);
    const m = await scrape();
    const compared = m.value('inference_shadow_requests_total', { model: 'mirror', version: '2', outcome: 'compared' });
    expect(compared, 'a shadow is dropped only while the previous one runs').to.be.greaterThan(0);
    const labels = { model: 'mirror', served_version: '1', shadow_version: '2', output: 'y' };
    const expected = maxAbsDiff(affineReference(X, weightsOf(1)), affineReference(X, weightsOf(2)));
    expect(expected).to.be.closeTo(7.25, 1e-5);
    expect(m.value('inference_shadow_max_abs_difference_count', labels)).to.equal(compared);
    expect(m.value('inference_shadow_max_abs_difference_sum', labels)).to.be.closeTo(compared * expected, 1e-6 * compared);
    expect(m.value('inference_shadow_max_abs_difference_bucket', { ...labels, le: '1' })).to.equal(0);
    expect(m.value('inference_shadow_max_abs_difference_bucket', { ...labels, le: '10' })).to.equal(compared);
    // Both lines rise with x, so every row's largest element is the same one.
    expect(m.value('inference_shadow_argmax_rows_total', labels)).to.equal(2 * compared);
    expect(m.value('inference_shadow_argmax_agreeing_rows_total', labels)).to.equal(2 * compared);
    const stats = t.server.repository.get('mirror')!.versions.get(2)!.stats;
    expect(stats.success.count, "shadows count in the shadow version's own statistics").to.equal(compared);
  });

  it('leaves pinned requests alone, and those answered by the shadow version itself', async () => {
    const before = await shadows('mirror');
    for (let i = 0; i < 10; i++) expectComputedBy(await inferVersioned(t.client, 'mirror', '1'), 1);
    for (let i = 0; i < 10; i++) expectComputedBy(await inferVersioned(t.client, 'mirror', '2'), 2);
    // A request answered later that is shadowed marks the point where the pinned ones would have settled.
    expectComputedBy(await unpinned('mirror'), 1);
    expect(await waitForShadows('mirror', before + 1)).to.equal(before + 1);
  });

  it('counts argmax agreement of a 2-D output row by row', async () => {
    const n = 20;
    for (let i = 0; i < n; i++) {
      const res = await infer(t.client, 'classes', CLASSES_X, WIDTH);
      expect(maxAbsDiff(res.outputs.get('y')!.data, CLASSES_X), 'the served y = x').to.equal(0);
    }
    await waitForShadows('classes', n);
    const m = await scrape();
    const compared = m.value('inference_shadow_requests_total', { model: 'classes', version: '2', outcome: 'compared' });
    expect(compared).to.be.greaterThan(0);
    const labels = { model: 'classes', served_version: '1', shadow_version: '2', output: 'y' };
    expect(m.value('inference_shadow_argmax_rows_total', labels)).to.equal(2 * compared);
    expect(m.value('inference_shadow_argmax_agreeing_rows_total', labels), 'only the row of equal values').to.equal(compared);
    expect(m.value('inference_shadow_max_abs_difference_sum', labels)).to.equal(10 * compared);
  });

  it('shadows about a quarter of the requests at fraction 0.25 (within 5 points over 1,000)', async () => {
    const n = 1000;
    for (let i = 0; i < n; i += 20) {
      for (const res of await Promise.all(Array.from({ length: 20 }, () => unpinned('quarter')))) expectComputedBy(res, 1);
    }
    // Each drawn shadow is submitted or dropped on the turn after its reply, before the client hears it; then it settles.
    await waitFor('quarter shadows settled', () => onnxVersion(t.server.repository.get('quarter')!.versions.get(2)).scheduler.pending, (p) => p === 0);
    expect((await shadows('quarter')) / n).to.be.closeTo(0.25, 0.05);
  });

  it('drops most shadows when the shadow version is slow under load; the callers are unaffected', async () => {
    const n = 64;
    const x = (i: number): Float32Array => Float32Array.from({ length: SLOW_FEATURES }, (_, k) => Math.sin(i + k));
    const results = await Promise.all(Array.from({ length: n }, (_, i) => infer(t.client, 'loaded', x(i), SLOW_FEATURES)));
    results.forEach((res, i) => {
      expect(res.code, res.details).to.equal(0);
      expect(maxAbsDiff(res.outputs.get('y')!.data, slowReference(x(i)))).to.be.lessThan(1e-5);
    });
    await waitForShadows('loaded', n);
    const dropped = await shadows('loaded', 'dropped');
    const compared = await shadows('loaded', 'compared');
    expect(compared + dropped).to.equal(n);
    expect(compared).to.be.greaterThan(0);
    expect(dropped, `dropped ${dropped}, compared ${compared}`).to.be.greaterThan(n / 2);
    expect(t.server.repository.get('loaded')!.versions.get(1)!.stats.success.count).to.equal(n);
  });

  it("leaves the caller's latency unchanged within noise when the shadow version is slow", async () => {
    const x = Float32Array.from({ length: SLOW_FEATURES }, (_, k) => k / 8);
    const latency = { lat_shadowed: [] as number[], lat_plain: [] as number[] };
    for (let round = 0; round < 60; round++) {
      // Interleaved, so both see the same background load (a shadow's run on another thread included).
      for (const model of round % 2 === 0 ? (['lat_shadowed', 'lat_plain'] as const) : (['lat_plain', 'lat_shadowed'] as const)) {
        const res = await infer(t.client, model, x, SLOW_FEATURES);
        expect(res.code, res.details).to.equal(0);
        latency[model].push(res.doneAt - res.startedAt);
      }
    }
    await waitForShadows('lat_shadowed', 60);
    expect(await shadows('lat_shadowed', 'compared'), 'the slow shadow did run').to.be.greaterThan(0);
    expect(await shadows('lat_plain')).to.equal(0);
    const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const shadowStats = t.server.repository.get('lat_shadowed')!.versions.get(2)!.stats;
    const slowRunMs = shadowStats.computeInfer.ns / 1e6 / shadowStats.executionCount;
    const [withShadow, without] = [p50(latency.lat_shadowed), p50(latency.lat_plain)];
    const detail = `p50 ${withShadow.toFixed(2)} ms shadowed, ${without.toFixed(2)} ms not; a shadow run takes ${slowRunMs.toFixed(0)} ms`;
    expect(withShadow, detail).to.be.lessThan(slowRunMs / 2);
    expect(withShadow, detail).to.be.at.most(1.5 * without + 2);
  });

  it('shadows nothing more once config.json names no shadow', async () => {
    writeModelConfig(t.repo, 'mirror', { name: 'mirror', ...ALL, rollout: { weights: { '1': 1 } } });
    await t.server.repository.poll();
    const before = await shadows('mirror');
    for (let i = 0; i < 10; i++) expectComputedBy(await unpinned('mirror'), 1);
    expect(await shadows('mirror')).to.equal(before);
  });
});
