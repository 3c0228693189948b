/** What loading a model folder means: its parsed configuration and the versions its policy serves. */
import { isObject } from './config-json';
import { configObject, type ConfigSource } from './config-source';
import { MODEL_FILE, selectVersions, type ModelFolder } from './discover';
import { ModelConfigError, parseModelConfig, type PartialModelConfig } from './model-config';
import { versionSource } from './model-fingerprint';
import { namedVersions, parseRollout, type RolloutConfig } from './rollout-config';

export interface LoadPlan {
  readonly partial: PartialModelConfig;
  /** The versions to serve, ascending, each with what it is loaded from (versionSource). */
  readonly versions: ReadonlyMap<number, string>;
  readonly rollout: RolloutConfig | undefined;
}

/**
 * Throws, naming the model, when the configuration is bad (or written twice, as config.pbtxt and
 * config.json), no version on disk matches its policy, or the rollout names a version the policy
 * does not serve.
 */
export function planLoad(folder: ModelFolder, configs: readonly ConfigSource[], defaultMaxQueueSize: number): LoadPlan {
  if (configs.length > 1) {
    throw new Error(`model '${folder.name}' has both ${configs.map((c) => c.file).join(' and ')}: keep one (config.json takes this server's additions too)`);
  }
  const config = configs[0];
  const json = config === undefined ? {} : configObject(folder.name, config);
  const partial = parseModelConfig(folder.name, json, defaultMaxQueueSize, config?.file);
  const fail = (message: string): never => {
    throw new ModelConfigError(folder.name, message, config?.file);
  };
  const rollout = parseRollout(isObject(json) ? json.rollout : undefined, fail);
  const ensemble = partial.platform === 'ensemble';
  // An ensemble version has no file, so any version folder is one; a stray model.onnx in it is not read.
  const onDisk = ensemble ? [...new Set([...folder.versions.keys(), ...folder.bareVersions])].sort((a, b) => a - b) : [...folder.versions.keys()];
  const chosen = selectVersions(onDisk, partial.versionPolicy);
  if (chosen.length === 0) {
    const ignored = folder.ignored.length > 0 ? `; ignored: ${folder.ignored.join(', ')}` : '';
    throw new Error(`no version folder${ensemble ? '' : ` with ${MODEL_FILE}`} matches the version policy${ignored}`);
  }
  // A shadow is run by the shadow version's own batcher, which an ensemble does not have.
  if (ensemble && rollout?.shadow) fail('rollout.shadow is not supported for an ensemble: shadow its composing models');
  if (rollout) checkNamedVersions(rollout, chosen, fail);
  // What a version is built from is the configuration as read, so a change to the rollout alone, a
  // comment or the layout reloads no version: only the new entry's routing changes.
  const source = config === undefined ? undefined : JSON.stringify({ ...(json as object), rollout: undefined });
  return {
    partial,
    versions: new Map(chosen.map((v) => [v, versionSource(source, ensemble ? 'ensemble' : folder.versions.get(v)!)])),
    rollout,
  };
}

function checkNamedVersions(rollout: RolloutConfig, served: readonly number[], fail: (message: string) => never): void {
  for (const { key, version } of namedVersions(rollout)) {
    if (!served.includes(version)) fail(`${key} version ${version}, which is not loaded (loaded: ${served.join(', ')})`);
  }
}
