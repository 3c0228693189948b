/** The versions a scrape reports: read anew from the repository each time, so versions come and go freely. */
import type { ModelRepository } from '../../repository/model-repository';
import type { ModelVersion, ServedVersion } from '../../repository/model-version';

export function* loadedVersions(repository: ModelRepository): Generator<ServedVersion> {
  for (const entry of repository.entries()) yield* entry.versions.values();
}

/** Versions with a model file, sessions and a queue of their own: not ensembles. */
export function* loadedModelVersions(repository: ModelRepository): Generator<ModelVersion> {
  for (const version of loadedVersions(repository)) if (version.kind === 'onnx') yield version;
}

/** Triton's two labels of every per-model series. */
export function versionLabels(version: ServedVersion): { model: string; version: string } {
  return { model: version.name, version: String(version.version) };
}
