/** Everything /metrics answers: Triton's per-model metrics, the histograms and version info beyond them, and the process's own. */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '../logger';
import type { ModelRepository } from '../../repository/model-repository';
import { registerFeatureMetrics } from './feature-metrics';
import { loadedModelVersions, loadedVersions } from './loaded-versions';
import { ModelFileDigests } from './model-file-digests';
import { histogramText } from './model-histograms';
import { registerModelMetrics } from './model-metrics';
import { registerProviderMetrics } from './provider-metrics';
import { registerRolloutMetrics } from './rollout-metrics';
import type { ShadowMetrics } from './shadow-metrics';

export class ServerMetrics {
  /** Our own registry, not prom-client's global one, so that servers in one process (the tests) do not share series. */
  private readonly registry = new Registry();
  private readonly digests: ModelFileDigests;
  /** Hashes new versions' files as they appear, so that the first scrape after a load need not wait for it. */
  private readonly hashNewVersions = (): void => {
    for (const version of loadedModelVersions(this.repository)) void this.digests.of(version);
  };

  constructor(private readonly repository: ModelRepository, repositoryRoot: string, shadow: ShadowMetrics, log: Logger) {
    this.digests = new ModelFileDigests(repositoryRoot, log);
    registerModelMetrics(this.registry, repository, this.digests);
    registerProviderMetrics(this.registry, repository);
    registerRolloutMetrics(this.registry, repository);
    registerFeatureMetrics(this.registry, repository);
    shadow.registerWith(this.registry);
    collectDefaultMetrics({ register: this.registry });
    repository.on('change', this.hashNewVersions);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async text(): Promise<string> {
    const families = await this.registry.metrics();
    return `${families}\n${histogramText([...loadedVersions(this.repository)])}`;
  }

  close(): void {
    this.repository.off('change', this.hashNewVersions);
  }
}
