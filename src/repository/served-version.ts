/**
 * What every loaded version is, whatever serves it: a name, a number, a configuration, a state and
 * its counters. A model's versions are ModelVersion (an ONNX file, its sessions and batcher) or
 * EnsembleVersion (a pipeline of other models); `kind` tells them apart.
 */
import { FeatureStatistics } from '../observability/feature-statistics';
import { ModelStatistics } from '../observability/model-statistics';
import type { ModelConfig } from './model-config';

/** Triton's version states; UNLOADING: taking no new requests, finishing those it holds. */
export type ModelState = 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

export abstract class VersionBase {
  private current: ModelState = 'LOADING';
  readonly stats = new ModelStatistics();
  /** Per-column statistics of the inputs whose config asks for them. */
  readonly features: FeatureStatistics;

  constructor(
    readonly name: string,
    readonly version: number,
    readonly config: ModelConfig,
    /** Told after every state change, so health and metrics follow the truth. */
    private readonly onChange: () => void,
  ) {
    this.features = new FeatureStatistics(config);
  }

  get state(): ModelState {
    return this.current;
  }

  set state(next: ModelState) {
    if (next === this.current) return;
    this.current = next;
    this.onChange();
  }

  get ready(): boolean {
    return this.current === 'READY';
  }

  /** Drains, then frees: the caller has already stopped routing to this version. */
  abstract unload(): Promise<void>;
}
