/**
 * The GPU settings against the real server on a machine without CUDA (asking for 'cuda' fails
 * here): KIND_AUTO falls back and says why, REQUIRE_GPU and KIND_GPU make that a load failure
 * with the reason, KIND_CPU never tries CUDA, bad gpus and CUDA parameters are refused, and the
 * provider and node placement reach the log, ModelConfig and /metrics.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import { freePort } from '../scripts/bench/free-port';
import { createLogger } from '../src/observability/logger';
import { bundledConfig, bundledModelBytes, makeTempDir, removeDir, writeModelConfig, writeModelFile } from './support/e2e-helpers';
import { httpRequest } from './support/http-get';
import { parseExposition, type Exposition } from './support/prometheus-text';
import { repositoryIndex } from './support/repository-client';
import { startTestServer, type TestServer } from './support/server';

/** Without the NVIDIA driver's device nodes, the CUDA provider cannot work here. */
const NO_GPU = !fs.existsSync('/dev/nvidiactl');
const LOADER_REASON = /Failed to load shared library: (onnxruntime-node has no CUDA provider library at \S+; see docs\/gpu\.md|\S+: cannot open shared object file)/;

interface LogLine {
  msg: string;
  [field: string]: unknown;
}

/** stock_scorer's config.json under another name, with `changes` on top. */
function scorer(name: string, changes: object): object {
  const { name: _bundled, ...rest } = bundledConfig('stock_scorer');
  return { ...rest, name, ...changes };
}

const cudaParameters = (parameters: Record<string, string>) => ({ optimization: { execution_accelerators: { gpu_execution_accelerator: [{ name: 'cuda', parameters }] } } });

/** A repository: 'auto' (digit_cnn, no config.json: KIND_AUTO) and stock_scorer copies with the instance groups and options under test. */
function writeRepository(): string {
  const repo = makeTempDir('e2e-gpu');
  writeModelFile(repo, 'auto', 1, bundledModelBytes('digit_cnn'));
  const configs: Record<string, object> = {
    cpu_only: scorer('cpu_only', { instance_group: [{ kind: 'KIND_CPU', count: 1 }] }),
    gpu_only: scorer('gpu_only', { instance_group: [{ kind: 'KIND_GPU', count: 2, gpus: [0, 1] }] }),
    gpus_on_cpu: scorer('gpus_on_cpu', { instance_group: [{ kind: 'KIND_CPU', gpus: [0] }] }),
    cuda_options: scorer('cuda_options', { instance_group: [{ kind: 'KIND_AUTO' }], ...cudaParameters({ cudnn_conv_algo_search: '1', use_tf32: '0' }) }),
    bad_option: scorer('bad_option', cudaParameters({ cudnn_conv_algo_search: '7' })),
  };
  for (const [name, config] of Object.entries(configs)) {
    writeModelFile(repo, name, 1, bundledModelBytes('stock_scorer'));
    writeModelConfig(repo, name, config);
  }
  return repo;
}

async function serve(repo: string, env: NodeJS.ProcessEnv): Promise<{ t: TestServer; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  const t = await startTestServer({ MODEL_REPOSITORY: repo, EXECUTION_PROVIDERS: 'cuda,cpu', ...env }, log);
  return { t, lines };
}

/** Every reason RepositoryIndex gives for `model`, its versions' and its own. */
async function reasonsOf(t: TestServer, model: string): Promise<string> {
  return (await repositoryIndex(t.client)).filter((r) => r.name === model).map((r) => `${r.version} ${r.state}: ${r.reason}`).join(' | ');
}

async function scrape(port: number): Promise<Exposition> {
  const res = await httpRequest(port, '/metrics');
  expect(res.status, res.body).to.equal(200);
  return parseExposition(res.body);
}

describe('e2e: GPU settings on a machine without CUDA', function () {
  this.timeout(60000);
  let repo: string;

  before(function () {
    if (!NO_GPU) this.skip();
    repo = writeRepository();
  });
  after(() => removeDir(repo));

  describe('EXECUTION_PROVIDERS=cuda,cpu, REQUIRE_GPU off, PROBE_NODE_PLACEMENT on', () => {
    let t: TestServer;
    let lines: LogLine[];
    let metricsPort: number;

    before(async () => {
      metricsPort = await freePort();
      ({ t, lines } = await serve(repo, { PROBE_NODE_PLACEMENT: '1', METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1' }));
    });
    after(async () => {
      await t?.stop();
    });

    const ready = (model: string) => lines.find((l) => l.msg === 'model version ready' && l.model === model);
    const fallbacks = (model: string) => lines.filter((l) => l.msg === 'execution provider cuda unavailable, falling back' && l.model === model);

    it("loads a KIND_AUTO model on the CPU and warns with the loader's reason why CUDA failed", async () => {
      expect(await reasonsOf(t, 'auto')).to.equal('1 READY: ');
      const [warning, ...more] = fallbacks('auto');
      expect(more).to.deep.equal([]);
      expect(warning.provider).to.equal('cuda');
      expect(warning.reason).to.match(LOADER_REASON);
      expect(ready('auto')?.provider).to.equal('cpu');
    });

    it('never tries CUDA for a KIND_CPU model', async () => {
      expect(await reasonsOf(t, 'cpu_only')).to.equal('1 READY: ');
      expect(fallbacks('cpu_only')).to.deep.equal([]);
      expect(ready('cpu_only')?.provider).to.equal('cpu');
      const { config } = await t.client.unary<{ config: { instance_group: { kind: string; count: number; gpus?: number[] }[] } }>('ModelConfig', { name: 'cpu_only' });
      expect(config.instance_group.map(({ kind, count, gpus }) => ({ kind, count, gpus: gpus ?? [] }))).to.deep.equal([{ kind: 'KIND_CPU', count: 1, gpus: [] }]);
    });

    it('fails a KIND_GPU model without CUDA, saying KIND_GPU requires it and why CUDA failed', async () => {
      const reason = await reasonsOf(t, 'gpu_only');
      expect(reason).to.match(/^1 UNAVAILABLE: execution provider cuda is required \(instance_group kind KIND_GPU\) and could not be had: cuda: /);
      expect(reason).to.match(LOADER_REASON);
      expect(ready('gpu_only')).to.equal(undefined);
      expect(lines.some((l) => l.msg === 'model version failed to load' && l.model === 'gpu_only' && String(l.err).includes('KIND_GPU'))).to.equal(true);
    });

    it('refuses gpus on a kind other than KIND_GPU', async () => {
      expect(await reasonsOf(t, 'gpus_on_cpu')).to.contain('instance_group[0].gpus applies to kind KIND_GPU only, not KIND_CPU');
    });

    it("refuses CUDA parameters the binding cannot pass, naming them and the binding's limit", async () => {
      const reason = await reasonsOf(t, 'cuda_options');
      expect(reason).to.contain('1 UNAVAILABLE: ');
      expect(reason).to.contain("config.json sets the CUDA provider options cudnn_conv_algo_search, use_tf32, which cannot be applied: onnxruntime-node's binding passes only device_id to the CUDA provider");
      expect(fallbacks('cuda_options'), 'refused before any session is made').to.deep.equal([]);
    });

    it('refuses a bad CUDA parameter value as a config.json error', async () => {
      expect(await reasonsOf(t, 'bad_option')).to.contain('parameters.cudnn_conv_algo_search must be 0/EXHAUSTIVE, 1/HEURISTIC or 2/DEFAULT');
    });

    it("logs where the nodes run in the 'model version ready' line when asked to probe", () => {
      for (const model of ['auto', 'cpu_only']) {
        const line = ready(model)!;
        expect(line.nodes_by_provider, model).to.have.all.keys('CPUExecutionProvider');
        expect((line.nodes_by_provider as Record<string, number>).CPUExecutionProvider, model).to.be.greaterThan(0);
        expect(line, model).not.to.have.any.keys('device_ids', 'placement_error');
      }
    });

    it('reports the provider and the nodes per ORT provider in /metrics', async () => {
      const metrics = await scrape(metricsPort);
      for (const model of ['auto', 'cpu_only']) {
        expect(metrics.value('inference_model_execution_provider_info', { model, version: '1', provider: 'cpu' })).to.equal(1);
        const nodes = (ready(model)!.nodes_by_provider as Record<string, number>).CPUExecutionProvider;
        expect(metrics.value('inference_model_graph_nodes', { model, version: '1', provider: 'CPUExecutionProvider' })).to.equal(nodes);
      }
      expect(metrics.types.get('inference_model_execution_provider_info')).to.equal('gauge');
      expect(metrics.matching('inference_model_execution_provider_info', { model: 'gpu_only' })).to.deep.equal([]);
    });
  });

  describe('EXECUTION_PROVIDERS=cuda,cpu with REQUIRE_GPU=1', () => {
    let t: TestServer;
    let lines: LogLine[];
    let metricsPort: number;

    before(async () => {
      metricsPort = await freePort();
      ({ t, lines } = await serve(repo, { REQUIRE_GPU: '1', METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1' }));
    });
    after(async () => {
      await t?.stop();
    });

    it('fails a model that wants CUDA, with the reason, instead of falling back', async () => {
      const reason = await reasonsOf(t, 'auto');
      expect(reason).to.match(/^1 UNAVAILABLE: execution provider cuda is required \(REQUIRE_GPU\) and could not be had: cuda: /);
      expect(reason).to.match(LOADER_REASON);
      expect(lines.filter((l) => l.msg === 'execution provider cuda unavailable, falling back')).to.deep.equal([]);
      const failed = lines.find((l) => l.msg === 'model version failed to load' && l.model === 'auto');
      expect(failed?.err).to.contain('REQUIRE_GPU');
    });

    it('still loads a KIND_CPU model, which does not want CUDA', async () => {
      expect(await reasonsOf(t, 'cpu_only')).to.equal('1 READY: ');
    });

    it('does not probe CPU sessions unless asked: no node counts in the log or /metrics', async () => {
      const line = lines.find((l) => l.msg === 'model version ready' && l.model === 'cpu_only')!;
      expect(line.provider).to.equal('cpu');
      expect(line).not.to.have.any.keys('nodes_by_provider', 'placement_error');
      const metrics = await scrape(metricsPort);
      expect(metrics.value('inference_model_execution_provider_info', { model: 'cpu_only', version: '1', provider: 'cpu' })).to.equal(1);
      expect(metrics.matching('inference_model_graph_nodes')).to.deep.equal([]);
    });
  });
});
