/**
 * Resolves a (model, version) pair from a request to the loaded version that serves it.
 * Canary and sticky routing will choose among versions here.
 */
import { notFound, unavailable, invalidArgument } from '../errors';
import { isLoadFailure } from '../repository/model-entry';
import type { ModelRepository } from '../repository/model-repository';
import type { ModelVersion } from '../repository/model-version';

export class Router {
  constructor(private readonly repository: ModelRepository) {}

  /** An empty version means the latest ready version, as in Triton. */
  resolve(modelName: string, version: string): ModelVersion {
    const entry = this.repository.get(modelName);
    if (!entry) throw notFound(`unknown model '${modelName}'`);
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
    let latest: ModelVersion | undefined;
    for (const v of entry.versions.values()) if (v.ready && (!latest || v.version > latest.version)) latest = v;
    if (!latest) {
      const why = [...entry.failures, ...[...entry.versions.values()].map((v) => `version ${v.version}: ${notReadyReason(v)}`)];
      throw unavailable(`model '${modelName}' has no ready version${why.length > 0 ? `: ${why.join('; ')}` : ''}`);
    }
    return latest;
  }
}

/** A served version is unready only while a dead instance is replaced, or while it loads. */
function notReadyReason(version: ModelVersion): string {
  return version.state === 'UNAVAILABLE' ? 'a model instance stopped unexpectedly and its replacement is starting; retry' : version.state.toLowerCase();
}
