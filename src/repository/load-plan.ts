/** What loading a model folder means: its parsed configuration and the versions its policy serves. */
import { MODEL_FILE, selectVersions, type ModelFolder } from './discover';
import { parseModelConfig, type PartialModelConfig } from './model-config';
import { versionSource } from './model-fingerprint';

export interface LoadPlan {
  readonly partial: PartialModelConfig;
  /** The versions to serve, ascending, each with what it is loaded from (versionSource). */
  readonly versions: ReadonlyMap<number, string>;
}

/** Throws, naming the model, when the configuration is bad or no version on disk matches its policy. */
export function planLoad(folder: ModelFolder, configText: string | undefined, defaultMaxQueueSize: number): LoadPlan {
  const partial = parseModelConfig(folder.name, configText === undefined ? {} : parseJson(folder.name, configText), defaultMaxQueueSize);
  const chosen = selectVersions([...folder.versions.keys()], partial.versionPolicy);
  if (chosen.length === 0) throw new Error(`no version folder with ${MODEL_FILE} matches the version policy`);
  return { partial, versions: new Map(chosen.map((v) => [v, versionSource(configText, folder.versions.get(v)!)])) };
}

function parseJson(model: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`model '${model}' config.json is not valid JSON: ${(err as Error).message}`);
  }
}
