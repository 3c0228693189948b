/** ShadowTraffic's decisions with hand-made versions: when a shadow is submitted, dropped or failed, and at which priority. */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import type { InferenceJob } from '../src/batching/inference-job';
import type { Admission } from '../src/dataplane/admission';
import { InferenceError } from '../src/errors';
import { ShadowMetrics } from '../src/observability/metrics/shadow-metrics';
import { ModelStatistics } from '../src/observability/model-statistics';
import type { DynamicBatching, ModelConfig } from '../src/repository/model-config';
import type { ModelRepository } from '../src/repository/model-repository';
import type { ModelVersion } from '../src/repository/model-version';
import { ShadowTraffic } from '../src/rollout/shadow-traffic';
import type { Tensor } from '../src/tensor/tensor';

const x: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 2], data: Float32Array.of(1, 2) };
const y = (...v: number[]): Tensor => ({ name: 'y', datatype: 'FP32', shape: [1, 2], data: Float32Array.from(v) });

function config(dynamicBatching?: Partial<DynamicBatching>): ModelConfig {
  return {
    name: 'm',
    platform: 'onnxruntime_onnx',
    maxBatchSize: 4,
    inputs: [{ name: 'x', datatype: 'FP32', dims: [2] }],
    outputs: [{ name: 'y', datatype: 'FP32', dims: [2] }],
    versionPolicy: { kind: 'all' },
    instanceCount: 1,
    instanceGroup: { kind: 'KIND_AUTO', count: 1, gpus: [] },
    cudaOptions: {},
    // Only priorityLevels is read here.
    dynamicBatching: dynamicBatching as DynamicBatching | undefined,
    warmup: [],
  };
}

interface FakeVersion {
  name: string;
  version: number;
  ready: boolean;
  config: ModelConfig;
  stats: ModelStatistics;
  kind: 'onnx';
  pool: { size: number };
  scheduler: { pending: number; submitted: InferenceJob[]; refuse: boolean; submit(job: InferenceJob): void };
}

function version(n: number, options: Partial<Pick<FakeVersion, 'ready' | 'config'>> = {}): FakeVersion {
  return {
    name: 'm',
    version: n,
    ready: options.ready ?? true,
    config: options.config ?? config(),
    stats: new ModelStatistics(),
    kind: 'onnx',
    pool: { size: 1 },
    scheduler: {
      pending: 0,
      submitted: [],
      refuse: false,
      submit(job) {
        if (this.refuse) throw new InferenceError('RESOURCE_EXHAUSTED', 'queue full');
        this.submitted.push(job);
      },
    },
  };
}

describe('shadow traffic', () => {
  let served: FakeVersion;
  let shadow: FakeVersion;
  /** What repository.get answers at submission: the model, the model without its shadow version, or nothing (unloaded). */
  let entry: 'whole' | 'without shadow' | 'gone';
  let open: boolean;
  let metrics: ShadowMetrics;
  let traffic: ShadowTraffic;
  let draw: number;

  beforeEach(() => {
    served = version(1);
    shadow = version(2);
    entry = 'whole';
    open = true;
    draw = 0;
    metrics = new ShadowMetrics();
    // Only get() is used, and only these fields of an entry and its versions; the fakes stand in for them.
    const repository = {
      get: () =>
        entry === 'gone'
          ? undefined
          : { versions: new Map(entry === 'whole' ? [[1, served], [2, shadow]] : [[1, served]]), rollout: { config: { shadow: { version: 2, fraction: 0.5 } } } },
    } as unknown as ModelRepository;
    traffic = new ShadowTraffic(repository, { get open() { return open; } } as Admission, metrics, () => draw);
  });

  const offer = (servedBy: FakeVersion = served, outputs: Tensor[] = [y(1, 2)]): void =>
    traffic.offer(servedBy as unknown as ModelVersion, [x], ['y'], outputs);
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  async function outcomes(): Promise<Record<string, number>> {
    const registry = new Registry();
    metrics.registerWith(registry);
    const counter = (await registry.getMetricsAsJSON()).find((m) => m.name === 'inference_shadow_requests_total')!;
    return Object.fromEntries((counter.values as { labels: { outcome: string }; value: number }[]).map((v) => [v.labels.outcome, v.value]));
  }

  it('submits after the current turn, never within the reply', async () => {
    offer();
    expect(shadow.scheduler.submitted, 'nothing during offer()').to.have.length(0);
    await turn();
    expect(shadow.scheduler.submitted).to.have.length(1);
  });

  it('shadows by the draw against the fraction', async () => {
    draw = 0.5;
    offer();
    await turn();
    expect(shadow.scheduler.submitted).to.have.length(0);
    expect(await outcomes()).to.deep.equal({});
  });

  it('does not shadow what the shadow version served itself', async () => {
    offer(shadow);
    await turn();
    expect(shadow.scheduler.submitted).to.have.length(0);
  });

  it('compares the shadow outputs with those served, at the lowest priority level', async () => {
    shadow.config = config({ priorityLevels: 3 });
    offer();
    await turn();
    const [job] = shadow.scheduler.submitted;
    expect(job.priority).to.equal(3);
    expect(job.inputs[0]).to.equal(x);
    job.resolve([y(1, 2.5)]);
    expect(await outcomes()).to.deep.equal({ compared: 1 });
  });

  for (const [why, make] of [
    ['an instance is busy', () => (shadow.scheduler.pending = 1)],
    ['the shadow version is not ready', () => (shadow.ready = false)],
    ['the server is draining', () => (open = false)],
    ['the queue refuses it', () => (shadow.scheduler.refuse = true)],
  ] as const) {
    it(`drops the shadow when ${why}`, async () => {
      make();
      offer();
      await turn();
      expect(shadow.scheduler.submitted).to.have.length(0);
      expect(await outcomes()).to.deep.equal({ dropped: 1 });
    });
  }

  it('drops a shadow whose version left the entry between the reply and the submission; forgets it when the model was unloaded', async () => {
    offer();
    entry = 'without shadow';
    await turn();
    offer();
    entry = 'gone';
    await turn();
    expect(shadow.scheduler.submitted).to.have.length(0);
    expect(await outcomes()).to.deep.equal({ dropped: 1 });
  });

  it('fails a shadow the shadow version cannot take (another input shape) or that ends in an error', async () => {
    shadow.config = { ...config(), inputs: [{ name: 'x', datatype: 'FP32', dims: [3] }] };
    offer();
    await turn();
    shadow.config = config();
    offer();
    await turn();
    shadow.scheduler.submitted[0].reject(new InferenceError('INTERNAL', 'run failed'));
    expect(await outcomes()).to.deep.equal({ failed: 2 });
    expect(shadow.stats.failures.get('INTERNAL')).to.equal(1);
  });
});
