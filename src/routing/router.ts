/**
 * Resolves a (model, version) pair from a request to the loaded version that serves it. An
 * inference that pins no version goes by the model's rollout weights when it has a rollout.
 */
import { notFound, unavailable, invalidArgument } from '../errors';
import type { ParameterValue } from '../dataplane/infer-request';
import { isLoadFailure, latestReady, type ModelEntry, type Rollout } from '../repository/model-entry';
import type { ModelRepository } from '../repository/model-repository';
import type { ServedVersion } from '../repository/model-version';

export class Router {
  constructor(private readonly repository: ModelRepository) {}

  /**
   * The version an inference runs on: a pinned one, else the rollout's choice (by the sticky
   * parameter's value when the request carries it), else the latest ready version. When no
   * weighted version is ready the latest ready one serves, so a request fails only when no
   * version at all can serve it.
   */
  route(modelName: string, version: string, parameters: ReadonlyMap<string, ParameterValue> | undefined): ServedVersion {
    const entry = this.entry(modelName);
    if (version === '' && entry.rollout) {
      const chosen = byRollout(entry, entry.rollout, parameters);
      if (chosen) return chosen;
    }
    return resolveIn(entry, version);
  }

  /** An empty version means the latest ready version, as in Triton. */
  resolve(modelName: string, version: string): ServedVersion {
    return resolveIn(this.entry(modelName), version);
  }

  private entry(modelName: string): ModelEntry {
    const entry = this.repository.get(modelName);
    if (!entry) throw notFound(`unknown model '${modelName}'`);
    return entry;
  }
}

/** The version of `entry` a request names, or its latest ready one; each refusal says why. */
function resolveIn(entry: ModelEntry, version: string): ServedVersion {
  const modelName = entry.name;
  if (version !== '') {
    if (!/^[0-9]+$/.test(version)) throw invalidArgument(`model version '${version}' is not a number`);
    const chosen = entry.versions.get(Number(version));
    if (chosen) {
      if (chosen.ready) return chosen;
      throw unavailable(`model '${modelName}' version ${version} is not ready: ${notReadyReason(chosen)}`);
    }
    const status = entry.status.get(Number(version));
    if (!status) throw notFound(`unknown version '${version}' of model '${modelName}'`);
    if (isLoadFailure(status)) throw unavailable(`model '${modelName}' version ${version} failed to load: ${status.reason}`);
    // Triton's answer for a version it knows but does not serve now (loading, unloading, unloaded).
    throw unavailable(`model '${modelName}' version ${version} is not ready: ${status.state === 'UNAVAILABLE' ? status.reason : status.state.toLowerCase()}`);
  }
  const latest = latestReady(entry);
  if (!latest) {
    const why = [...entry.failures, ...[...entry.versions.values()].map((v) => `version ${v.version}: ${notReadyReason(v)}`)];
    throw unavailable(`model '${modelName}' has no ready version${why.length > 0 ? `: ${why.join('; ')}` : ''}`);
  }
  return latest;
}

/** A served version is unready only while a dead instance is replaced, or while it loads. */
function notReadyReason(version: ServedVersion): string {
  return version.state === 'UNAVAILABLE' ? 'a model instance stopped unexpectedly and its replacement is starting; retry' : version.state.toLowerCase();
}

/** The rollout's ready choice, by the sticky parameter's value when the request carries it. */
function byRollout(entry: ModelEntry, rollout: Rollout, parameters: ReadonlyMap<string, ParameterValue> | undefined): ServedVersion | undefined {
  const sticky = rollout.config.stickyParameter;
  const key = sticky === undefined ? undefined : parameters?.get(sticky);
  if (key !== undefined && typeof key !== 'string') {
    throw invalidArgument(`parameter '${sticky}' must be a string: model '${entry.name}' routes by its value (rollout sticky_parameter)`);
  }
  return rollout.choice.pick(entry.versions, key);
}
