/** What loading a model folder means: its parsed configuration and the versions its policy serves. */
import { isObject } from './config-json';
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
 * Throws, naming the model, when the configuration is bad, no version on disk matches its policy,
 * or the rollout names a version the policy does not serve.
 */
export function planLoad(folder: ModelFolder, configText: string | undefined, defaultMaxQueueSize: number): LoadPlan {
  const json = configText === undefined ? {} : parseJson(folder.name, configText);
  const partial = parseModelConfig(folder.name, json, defaultMaxQueueSize);
  const fail = (message: string): never => {
    throw new ModelConfigError(folder.name, message);
  };
  const rollout = parseRollout(isObject(json) ? json.rollout : undefined, fail);
  const chosen = selectVersions([...folder.versions.keys()], partial.versionPolicy);
  if (chosen.length === 0) {
    const ignored = folder.ignored.length > 0 ? `; ignored: ${folder.ignored.join(', ')}` : '';
    throw new Error(`no version folder with ${MODEL_FILE} matches the version policy${ignored}`);
  }
  if (rollout) checkNamedVersions(rollout, chosen, fail);
  // A change to the rollout alone reloads no version: only the new entry's routing changes.
  const source = rollout && isObject(json) ? JSON.stringify({ ...json, rollout: undefined }) : configText;
  return {
    partial,
    versions: new Map(chosen.map((v) => [v, versionSource(source, folder.versions.get(v)!)])),
    rollout,
  };
}

function checkNamedVersions(rollout: RolloutConfig, served: readonly number[], fail: (message: string) => never): void {
  for (const { key, version } of namedVersions(rollout)) {
    if (!served.includes(version)) fail(`${key} version ${version}, which is not loaded (loaded: ${served.join(', ')})`);
  }
}

function parseJson(model: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`model '${model}' config.json is not valid JSON: ${(err as Error).message}`);
  }
}
