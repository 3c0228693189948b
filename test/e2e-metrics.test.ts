/**
 * The metrics HTTP port over real HTTP and real gRPC: Triton's per-model metrics moving as
 * requests succeed and fail, the histograms, the version info metric, process metrics, KServe v2
 * HTTP health (while models load, ready, and with a broken model), and METRICS_PORT=0 binding nothing.
 * No test waits on a guess: a request is held in the queue by a ten-minute queue delay until the
 * test fills its batch, and every wait is for a fact.
 */
import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { freePort } from '../scripts/bench/free-port';
import { inferRequest, rowsOf, startInfer, type Outcome } from './support/batching-client';
import { writeSlowToLoadRepository } from './support/batching-slow-model';
import { broadcastAddModel, removeDir } from './support/e2e-helpers';
import { affineModel, serveRepository, type RepositoryServer } from './support/generated-models';
import { httpRequest } from './support/http-get';
import { listeningPorts } from './support/listening-ports';
import { parseExposition, type Exposition } from './support/prometheus-text';
import { loadModel, unloadModel } from './support/repository-client';
import { fp32Bytes, startTestServer, type TestServer } from './support/server';
import { waitFor } from './support/wait-for';

const WIDTH = 4;
/** A queue delay no test outlives: a request waits until its batch of max_batch_size rows is full. */
const HOLD_US = 600_000_000;
const PLAIN_ONNX = affineModel([WIDTH], [{ name: 'y', scale: 2, bias: 1 }]);
const HELD_ONNX = affineModel([WIDTH], [{ name: 'y', scale: 3, bias: 0 }]);
const BROADCAST_ONNX = broadcastAddModel();

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const v1 = (model: string): Record<string, string> => ({ model, version: '1' });

async function scrape(port: number): Promise<Exposition> {
  const res = await httpRequest(port, '/metrics');
  expect(res.status, res.body).to.equal(200);
  return parseExposition(res.body);
}

/** How much one sample moved between two scrapes. */
function moved(before: Exposition, after: Exposition, name: string, labels: Record<string, string>): number {
  return after.value(name, labels) - before.value(name, labels);
}

const statusOf = async (port: number, path: string, method = 'GET'): Promise<number> => (await httpRequest(port, path, method)).status;

describe('e2e: Prometheus metrics and HTTP health', function () {
  this.timeout(60_000);

  describe('a server with metrics on', () => {
    let t: RepositoryServer;
    let port: number;
    const infer = (request: object): Promise<Outcome> => startInfer(t.client, request).outcome;
    const pending = async (model: string): Promise<number> => (await scrape(port)).value('nv_inference_pending_request_count', v1(model));

    before(async () => {
      port = await freePort();
      t = await serveRepository(
        [
          { name: 'plain', config: { max_batch_size: 4 }, versions: new Map([[1, PLAIN_ONNX]]) },
          { name: 'held', config: { max_batch_size: 4, dynamic_batching: { max_queue_delay_microseconds: HOLD_US } }, versions: new Map([[1, HELD_ONNX]]) },
          { name: 'broadcast_add', config: undefined, versions: new Map([[1, BROADCAST_ONNX]]) },
        ],
        // Explicit mode, every model at start: a test unloads one to see its series go.
        { METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1', MODEL_CONTROL_MODE: 'explicit', LOAD_MODELS: '*' },
      );
    });
    after(async () => {
      await t?.stop();
    });

    it('answers GET /metrics with the text exposition format, every family typed, grouped and well formed', async () => {
      const res = await httpRequest(port, '/metrics?name[]=ignored');
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.equal('text/plain; version=0.0.4; charset=utf-8');
      const text = parseExposition(res.body);
      expect(Object.fromEntries([...text.types].filter(([name]) => /^(nv_|inference_)/.test(name)))).to.deep.equal({
        nv_inference_request_success: 'counter',
        nv_inference_request_failure: 'counter',
        nv_inference_count: 'counter',
        nv_inference_exec_count: 'counter',
        nv_inference_pending_request_count: 'gauge',
        nv_inference_request_duration_us: 'counter',
        nv_inference_queue_duration_us: 'counter',
        nv_inference_compute_input_duration_us: 'counter',
        nv_inference_compute_infer_duration_us: 'counter',
        nv_inference_compute_output_duration_us: 'counter',
        inference_model_version_info: 'gauge',
        inference_model_execution_provider_info: 'gauge',
        inference_model_graph_nodes: 'gauge',
        inference_rollout_rollbacks_total: 'counter',
        inference_rollout_weight: 'gauge',
        inference_shadow_requests_total: 'counter',
        inference_shadow_max_abs_difference: 'histogram',
        inference_shadow_argmax_rows_total: 'counter',
        inference_shadow_argmax_agreeing_rows_total: 'counter',
        inference_shadow_exact_comparisons_total: 'counter',
        inference_input_feature_count: 'counter',
        inference_input_feature_sum: 'gauge',
        inference_input_feature_min: 'gauge',
        inference_input_feature_max: 'gauge',
        inference_input_feature_nonfinite_total: 'counter',
        inference_request_duration_seconds: 'histogram',
        inference_queue_duration_seconds: 'histogram',
        inference_batch_size: 'histogram',
      });
      expect(text.matching('nv_inference_request_failure', v1('plain')).map((s) => s.labels.reason).sort()).to.deep.equal(['BACKEND', 'CANCELED', 'OTHER', 'REJECTED']);
    });

    it('counts a successful request of 3 rows: one success, 3 inferences, one execution, and its durations', async () => {
      const before = await scrape(port);
      expect((await infer(inferRequest('plain', rowsOf(1, 3, WIDTH), WIDTH))).code).to.equal(status.OK);
      const after = await scrape(port);
      const plain = v1('plain');
      expect(moved(before, after, 'nv_inference_request_success', plain)).to.equal(1);
      expect(moved(before, after, 'nv_inference_count', plain)).to.equal(3);
      expect(moved(before, after, 'nv_inference_exec_count', plain)).to.equal(1);
      expect(moved(before, after, 'nv_inference_request_duration_us', plain), 'request µs').to.be.above(0);
      expect(moved(before, after, 'nv_inference_compute_infer_duration_us', plain), 'infer µs').to.be.above(0);
      expect(moved(before, after, 'inference_request_duration_seconds_count', plain)).to.equal(1);
      expect(moved(before, after, 'inference_queue_duration_seconds_count', plain)).to.equal(1);
      expect(moved(before, after, 'inference_batch_size_bucket', { ...plain, le: '2' })).to.equal(0);
      expect(moved(before, after, 'inference_batch_size_bucket', { ...plain, le: '4' })).to.equal(1);
      expect(moved(before, after, 'inference_batch_size_sum', plain)).to.equal(3);
    });

    it('gives each histogram the totals of the Triton counter it details', async () => {
      const text = await scrape(port);
      const plain = v1('plain');
      expect(text.value('inference_request_duration_seconds_count', plain)).to.equal(text.value('nv_inference_request_success', plain));
      // The counter is whole microseconds of the same nanoseconds the histogram sums in seconds.
      expect(text.value('inference_request_duration_seconds_sum', plain) * 1e6).to.be.closeTo(text.value('nv_inference_request_duration_us', plain), 1);
      expect(text.value('inference_queue_duration_seconds_sum', plain) * 1e6).to.be.closeTo(text.value('nv_inference_queue_duration_us', plain), 1);
      expect(text.value('inference_batch_size_count', plain)).to.equal(text.value('nv_inference_exec_count', plain));
      expect(text.value('inference_batch_size_sum', plain)).to.equal(text.value('nv_inference_count', plain));
    });

    it('shows a request waiting for its batch as pending, then counts the batch it joined as one execution', async () => {
      const before = await scrape(port);
      const first = infer(inferRequest('held', rowsOf(2, 1, WIDTH), WIDTH));
      await waitFor('the first request pending', () => pending('held'), (n) => n === 1);
      const second = infer(inferRequest('held', rowsOf(3, 3, WIDTH), WIDTH));
      expect((await first).code).to.equal(status.OK);
      expect((await second).code).to.equal(status.OK);
      const after = await scrape(port);
      const held = v1('held');
      expect(after.value('nv_inference_pending_request_count', held)).to.equal(0);
      expect(moved(before, after, 'nv_inference_request_success', held)).to.equal(2);
      expect(moved(before, after, 'nv_inference_count', held)).to.equal(4);
      expect(moved(before, after, 'nv_inference_exec_count', held)).to.equal(1);
      expect(moved(before, after, 'inference_batch_size_bucket', { ...held, le: '2' })).to.equal(0);
      expect(moved(before, after, 'inference_batch_size_bucket', { ...held, le: '4' })).to.equal(1);
      expect(moved(before, after, 'inference_queue_duration_seconds_count', held)).to.equal(2);
      expect(moved(before, after, 'nv_inference_queue_duration_us', held), 'the first waited at least a scrape').to.be.above(0);
    });

    it('counts a request cancelled while it waits as a failure with reason CANCELED', async () => {
      const before = await scrape(port);
      const call = startInfer(t.client, inferRequest('held', rowsOf(4, 1, WIDTH), WIDTH));
      await waitFor('the request pending', () => pending('held'), (n) => n === 1);
      call.call.cancel();
      expect((await call.outcome).code).to.equal(status.CANCELLED);
      const failed = (text: Exposition): number => text.value('nv_inference_request_failure', { ...v1('held'), reason: 'CANCELED' });
      const after = await waitFor('the cancel counted', () => scrape(port), (text) => failed(text) > failed(before));
      expect(failed(after) - failed(before)).to.equal(1);
      expect(after.value('nv_inference_pending_request_count', v1('held'))).to.equal(0);
      expect(moved(before, after, 'nv_inference_request_success', v1('held'))).to.equal(0);
    });

    it('counts a request whose queue timeout ran out as a failure with reason REJECTED', async () => {
      const before = await scrape(port);
      const request = inferRequest('held', rowsOf(5, 1, WIDTH), WIDTH, { parameters: { timeout: { int64_param: '1000' } } });
      expect((await infer(request)).code).to.equal(status.DEADLINE_EXCEEDED);
      const after = await scrape(port);
      expect(moved(before, after, 'nv_inference_request_failure', { ...v1('held'), reason: 'REJECTED' })).to.equal(1);
      expect(moved(before, after, 'nv_inference_request_failure', { ...v1('held'), reason: 'CANCELED' })).to.equal(0);
    });

    it('counts a run that fails inside ONNX Runtime as a failure with reason BACKEND', async () => {
      const before = await scrape(port);
      // Y = X + [0,1,2,3] broadcasts for a width of 4 and fails inside ONNX Runtime for 3.
      const request = { model_name: 'broadcast_add', inputs: [{ name: 'X', datatype: 'FP32', shape: [1, 3] }], raw_input_contents: [fp32Bytes([1, 2, 3])] };
      expect((await infer(request)).code).to.equal(status.INTERNAL);
      const after = await scrape(port);
      expect(moved(before, after, 'nv_inference_request_failure', { ...v1('broadcast_add'), reason: 'BACKEND' })).to.equal(1);
      expect(moved(before, after, 'nv_inference_exec_count', v1('broadcast_add')), 'a failed run is no execution, as in Triton').to.equal(0);
    });

    it('counts an invalid request as a failure with reason OTHER, and a request for an unknown model on no series', async () => {
      const before = await scrape(port);
      const wrongType = { model_name: 'plain', inputs: [{ name: 'x', datatype: 'INT32', shape: [1, WIDTH] }], raw_input_contents: [Buffer.alloc(4 * WIDTH)] };
      expect((await infer(wrongType)).code).to.equal(status.INVALID_ARGUMENT);
      expect((await infer(inferRequest('no_such_model', rowsOf(6, 1, WIDTH), WIDTH))).code).to.equal(status.NOT_FOUND);
      const after = await scrape(port);
      expect(moved(before, after, 'nv_inference_request_failure', { ...v1('plain'), reason: 'OTHER' })).to.equal(1);
      expect(moved(before, after, 'nv_inference_request_success', v1('plain'))).to.equal(0);
      expect(after.samples.filter((s) => s.labels.model === 'no_such_model')).to.deep.equal([]);
    });

    it('reports each version\'s execution provider and the sha256 of its model file as an info metric', async () => {
      const info = (await scrape(port)).matching('inference_model_version_info');
      expect(info.map((s) => ({ ...s.labels })).sort((a, b) => a.model.localeCompare(b.model))).to.deep.equal([
        { model: 'broadcast_add', version: '1', provider: 'cpu', sha256: sha256(BROADCAST_ONNX) },
        { model: 'held', version: '1', provider: 'cpu', sha256: sha256(HELD_ONNX) },
        { model: 'plain', version: '1', provider: 'cpu', sha256: sha256(PLAIN_ONNX) },
      ]);
      expect(info.map((s) => s.value)).to.deep.equal([1, 1, 1]);
    });

    it('reports the process\'s own metrics', async () => {
      const text = await scrape(port);
      for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
        expect(text.types.has(name), name).to.equal(true);
      }
      expect(text.value('process_resident_memory_bytes')).to.be.above(0);
    });

    it('answers GET and HEAD /v2/health/live and /v2/health/ready with 200 and an empty body', async () => {
      for (const path of ['/v2/health/live', '/v2/health/ready']) {
        for (const method of ['GET', 'HEAD']) {
          const res = await httpRequest(port, path, method);
          expect({ path, method, status: res.status, body: res.body }).to.deep.equal({ path, method, status: 200, body: '' });
        }
      }
    });

    it('answers 404 to any other path or method', async () => {
      for (const [path, method] of [['/', 'GET'], ['/metrics/', 'GET'], ['/v2/health', 'GET'], ['/v2/health/live/x', 'GET'], ['/v2', 'GET'], ['/metrics', 'POST'], ['/v2/health/ready', 'PUT']]) {
        expect(await statusOf(port, path, method), `${method} ${path}`).to.equal(404);
      }
    });

    it('drops every series of a version that is unloaded, and has them again once it is loaded', async () => {
      await unloadModel(t.client, 'broadcast_add');
      const text = await scrape(port);
      expect(text.samples.filter((s) => s.labels.model === 'broadcast_add')).to.deep.equal([]);
      expect(text.matching('nv_inference_request_success', v1('plain'))).to.have.length(1);
      await loadModel(t.client, 'broadcast_add');
      expect((await scrape(port)).matching('nv_inference_request_success', v1('broadcast_add'))).to.have.length(1);
    });
  });

  describe('while the models load', () => {
    /** How long the warm-up should hold the load: far longer than the checks made during it. */
    const LOAD_MS = 2000;
    let repo: string;
    let port: number;
    let starting: Promise<TestServer>;
    let loaded = false;

    before(async () => {
      repo = await writeSlowToLoadRepository(LOAD_MS);
      port = await freePort();
      starting = startTestServer({ MODEL_REPOSITORY: repo, METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' });
      // A failed start is reported where `starting` is awaited.
      void starting.then(() => (loaded = true), () => undefined);
      await waitFor('the metrics port answers', () => httpRequest(port, '/v2/health/live').catch(() => undefined), (res) => res !== undefined);
    });
    after(async () => {
      await (await starting)?.stop();
      removeDir(repo);
    });

    it('answers live 200 and ready 503 before the warm-up ends', async () => {
      expect(await statusOf(port, '/v2/health/live')).to.equal(200);
      expect(await statusOf(port, '/v2/health/ready')).to.equal(503);
      expect(loaded, 'still loading when checked').to.equal(false);
    });

    it('answers ready 200 once every model is ready', async () => {
      await starting;
      expect(await statusOf(port, '/v2/health/ready')).to.equal(200);
    });
  });

  describe('with a model that failed to load', () => {
    let t: RepositoryServer;
    let port: number;

    before(async () => {
      port = await freePort();
      t = await serveRepository(
        [
          { name: 'plain', config: { max_batch_size: 4 }, versions: new Map([[1, PLAIN_ONNX]]) },
          { name: 'broken', config: undefined, versions: new Map([[1, Buffer.from('not an ONNX model')]]) },
        ],
        { METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' },
      );
    });
    after(async () => {
      await t?.stop();
    });

    it('answers ready 503 and live 200', async () => {
      expect(await statusOf(port, '/v2/health/ready')).to.equal(503);
      expect(await statusOf(port, '/v2/health/live')).to.equal(200);
    });

    it('reports the versions that did load, and none of the broken model', async () => {
      const text = await scrape(port);
      expect(text.matching('nv_inference_request_success').map((s) => s.labels.model)).to.deep.equal(['plain']);
    });
  });

  describe('with METRICS_PORT=0', () => {
    it('binds no port beside gRPC\'s', async () => {
      const before = listeningPorts();
      const t = await serveRepository([{ name: 'plain', config: { max_batch_size: 4 }, versions: new Map([[1, PLAIN_ONNX]]) }], { METRICS_PORT: '0' });
      try {
        const opened = [...listeningPorts()].filter((p) => !before.has(p));
        expect(opened).to.deep.equal([t.port]);
      } finally {
        await t.stop();
      }
    });
  });
});
