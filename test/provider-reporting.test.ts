/**
 * A version on CUDA as ModelConfig and /metrics report it. No GPU here, so the loaded version is a
 * fake with the fields those two read: provider, devices, pool size and node placement.
 */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { registerProviderMetrics } from '../src/observability/metrics/provider-metrics';
import type { ModelRepository } from '../src/repository/model-repository';
import type { ModelVersion } from '../src/repository/model-version';
import { modelConfigMessage } from '../src/transport/model-messages';

function fakeVersion(provider: 'cuda' | 'cpu', deviceIds: number[], poolSize: number): ModelVersion {
  const fake = {
    name: 'conv',
    version: 3,
    kind: 'onnx',
    provider,
    deviceIds,
    placement: provider === 'cuda' ? { nodesByProvider: { CPUExecutionProvider: 2, CUDAExecutionProvider: 40 } } : undefined,
    pool: { size: poolSize },
    config: {
      name: 'conv',
      platform: 'onnxruntime_onnx',
      maxBatchSize: 8,
      inputs: [],
      outputs: [],
      versionPolicy: { kind: 'latest', numVersions: 1 },
      instanceCount: poolSize,
      dynamicBatching: undefined,
      warmup: [],
    },
  };
  // A fake with only the fields read: the real one needs a loaded session.
  return fake as unknown as ModelVersion;
}

describe('a version on CUDA, as reported', () => {
  it("ModelConfig: KIND_GPU, Triton's count per GPU and the GPUs", () => {
    expect(modelConfigMessage(fakeVersion('cuda', [0, 1], 4)).instance_group).to.deep.equal([{ name: 'conv', count: 2, kind: 'KIND_GPU', gpus: [0, 1] }]);
    expect(modelConfigMessage(fakeVersion('cpu', [], 3)).instance_group).to.deep.equal([{ name: 'conv', count: 3, kind: 'KIND_CPU' }]);
  });

  it('/metrics: the provider info and the nodes per ORT provider', async () => {
    const version = fakeVersion('cuda', [0], 1);
    const repository = { entries: () => [{ versions: new Map([[3, version]]) }] } as unknown as ModelRepository;
    const registry = new Registry();
    registerProviderMetrics(registry, repository);
    const text = await registry.metrics();
    expect(text).to.contain('inference_model_execution_provider_info{model="conv",version="3",provider="cuda"} 1');
    expect(text).to.contain('inference_model_graph_nodes{model="conv",version="3",provider="CUDAExecutionProvider"} 40');
    expect(text).to.contain('inference_model_graph_nodes{model="conv",version="3",provider="CPUExecutionProvider"} 2');
  });
});
