/** Where each loaded version runs: its execution provider and, when probed, its graph nodes per ORT provider; read at scrape time. */
import { Gauge, type Registry } from 'prom-client';
import type { ModelRepository } from '../../repository/model-repository';
import { loadedModelVersions, versionLabels } from './loaded-versions';

export function registerProviderMetrics(registry: Registry, repository: ModelRepository): void {
  new Gauge({
    name: 'inference_model_execution_provider_info',
    help: "Always 1 for each loaded model version: the execution provider its sessions got ('cuda' or 'cpu'), whatever config.json or EXECUTION_PROVIDERS asked",
    labelNames: ['model', 'version', 'provider'],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of loadedModelVersions(repository)) this.set({ ...versionLabels(v), provider: v.provider }, 1);
    },
  });
  new Gauge({
    name: 'inference_model_graph_nodes',
    help: "Graph nodes of a loaded version per ONNX Runtime provider (CUDAExecutionProvider, CPUExecutionProvider) in a profiled run at load; only for versions probed (CUDA sessions, or PROBE_NODE_PLACEMENT)",
    labelNames: ['model', 'version', 'provider'],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of loadedModelVersions(repository)) {
        for (const [provider, nodes] of Object.entries(v.placement?.nodesByProvider ?? {})) this.set({ ...versionLabels(v), provider }, nodes);
      }
    },
  });
}
