/** The versions a scrape reports: read anew from the repository each time, so versions come and go freely. */
import type { ModelRepository } from '../../repository/model-repository';
import type { ModelVersion } from '../../repository/model-version';

export function* loadedVersions(repository: ModelRepository): Generator<ModelVersion> {
  for (const entry of repository.entries()) yield* entry.versions.values();
}

/** Triton's two labels of every per-model series. */
export function versionLabels(version: ModelVersion): { model: string; version: string } {
  return { model: version.name, version: String(version.version) };
}
