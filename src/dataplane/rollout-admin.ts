/**
 * The rollout admin service without gRPC: a model's rollout state with live traffic, and the
 * instructions that replace its weights (set, promote, roll back). Weights are checked as
 * config.json's are, against the versions serving now; a refused instruction changes nothing.
 */
import { failedPrecondition, invalidArgument, notFound } from '../errors';
import type { RolloutConfig } from '../repository/rollout-config';
import type { ModelRepository } from '../repository/model-repository';
import { checkModelName } from '../repository/model-name';
import type { RolledBack, RolloutState, VersionTraffic, Weights, WeightsSource } from '../rollout/rollout-state';

export interface RolloutView {
  readonly model: string;
  readonly weights: Weights;
  /** undefined until weights were set once since config.json gave them. */
  readonly previousWeights: Weights | undefined;
  readonly source: WeightsSource;
  readonly config: RolloutConfig;
  readonly rolledBack: RolledBack | undefined;
  readonly windowSeconds: number;
  readonly traffic: readonly VersionTraffic[];
}

export class RolloutAdmin {
  constructor(private readonly repository: ModelRepository) {}

  get(model: string): RolloutView {
    return view(this.state(model));
  }

  /** Weights for the versions named; a version not named gets none. */
  setWeights(model: string, weights: Weights): RolloutView {
    const state = this.state(model);
    this.check(model, weights);
    state.setWeights(weights, 'admin');
    return view(state);
  }

  /** All of the traffic to `version`: every other weighted version to 0. */
  promote(model: string, version: number): RolloutView {
    const state = this.state(model);
    const weights = new Map([...state.weights].map(([v]) => [v, 0]));
    weights.set(version, 100);
    this.check(model, weights);
    state.setWeights(weights, 'admin');
    return view(state);
  }

  /** Back to the weights before the last change; twice in a row swaps back again. */
  rollback(model: string): RolloutView {
    const state = this.state(model);
    const previous = state.previous;
    if (!previous) throw failedPrecondition(`model '${model}' has no previous rollout weights: they have not changed since config.json gave them`);
    this.check(model, previous);
    state.setWeights(previous, 'admin');
    return view(state);
  }

  private state(model: string): RolloutState {
    checkModelName(model, 'model');
    const entry = this.repository.get(model);
    if (!entry) throw notFound(`unknown model '${model}'`);
    if (!entry.rollout) throw failedPrecondition(`model '${model}' has no rollout: add a rollout block to its config.json`);
    return entry.rollout;
  }

  private check(model: string, weights: Weights): void {
    if (weights.size === 0) throw invalidArgument('weights must name at least one version');
    const serving = this.repository.get(model)?.versions;
    let total = 0;
    for (const [version, weight] of weights) {
      if (!Number.isFinite(weight) || weight < 0) throw invalidArgument(`the weight of version ${version} must be a number >= 0, not ${weight}`);
      if (!serving?.has(version)) throw invalidArgument(`model '${model}' has no loaded version ${version} (loaded: ${[...(serving?.keys() ?? [])].join(', ') || 'none'})`);
      total += weight;
    }
    if (total <= 0) throw invalidArgument('weights must give some version a weight > 0');
  }
}

function view(state: RolloutState): RolloutView {
  return {
    model: state.model,
    weights: state.weights,
    previousWeights: state.previous,
    source: state.source,
    config: state.config,
    rolledBack: state.rolledBack,
    windowSeconds: state.windowSeconds,
    traffic: state.traffic(),
  };
}
