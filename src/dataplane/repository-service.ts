/**
 * Triton's model repository extension without gRPC: RepositoryIndex, RepositoryModelLoad and
 * RepositoryModelUnload, their fields and parameters checked here, the work done by the repository.
 */
import { InferenceError, invalidArgument } from '../errors';
import type { ModelRepository } from '../repository/model-repository';
import { checkModelName } from '../repository/model-name';

export type RepositoryParameter =
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'int64'; readonly value: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bytes'; readonly value: Uint8Array };

export interface ModelControlRequest {
  readonly repositoryName: string;
  readonly modelName: string;
  readonly parameters: ReadonlyMap<string, RepositoryParameter>;
}

export interface RepositoryIndexEntry {
  readonly name: string;
  readonly version: string;
  readonly state: string;
  readonly reason: string;
}

export class RepositoryService {
  constructor(private readonly repository: ModelRepository) {}

  /** Every model of the repository; with `readyOnly`, only READY versions. */
  async index(repositoryName: string, readyOnly: boolean): Promise<RepositoryIndexEntry[]> {
    checkRepositoryName(repositoryName);
    const rows = await this.repository.index();
    return rows
      .filter((row) => !readyOnly || row.state === 'READY')
      .map((row) => ({ name: row.name, version: row.version === undefined ? '' : String(row.version), state: row.state, reason: row.reason }));
  }

  /** Resolves once the model is loaded and warm, or throws why not (the versions serving before keep serving). */
  async load(request: ModelControlRequest): Promise<void> {
    checkModelName(request.modelName, 'model_name');
    this.repository.checkExplicitControl();
    checkRepositoryName(request.repositoryName);
    let configText: string | undefined;
    for (const [key, parameter] of request.parameters) {
      if (key === 'config') configText = configParameter(parameter);
      else if (key.startsWith('file:')) {
        throw new InferenceError('UNIMPLEMENTED', `parameter '${key}': model files sent in the request are not supported; put the file in the model repository`);
      } else throw invalidArgument(`unknown parameter '${key}' (RepositoryModelLoad takes 'config')`);
    }
    await this.repository.load(request.modelName, configText);
  }

  /** Resolves once the model's queued and running requests are answered and its workers stopped. */
  async unload(request: ModelControlRequest): Promise<void> {
    checkModelName(request.modelName, 'model_name');
    this.repository.checkExplicitControl();
    checkRepositoryName(request.repositoryName);
    for (const [key, parameter] of request.parameters) {
      // No ensembles here, so no dependents: the parameter is accepted and means nothing.
      if (key === 'unload_dependents') {
        if (parameter.kind !== 'bool') throw invalidArgument("parameter 'unload_dependents' must be a bool_param");
      } else throw invalidArgument(`unknown parameter '${key}' (RepositoryModelUnload takes 'unload_dependents')`);
    }
    await this.repository.unload(request.modelName);
  }
}

/** One repository is served; a client may name none, as Triton's clients do by default. */
function checkRepositoryName(name: string): void {
  if (name !== '') throw invalidArgument(`repository_name '${name}' is not served here: this server serves one repository; leave repository_name empty`);
}

/**
 * Model configurations are kilobytes. JSON.parse holds the event loop and builds an object per
 * value: 57 MB of empty arrays took 30 s and 2 GB, every other call waiting.
 */
const MAX_CONFIG_CHARS = 1 << 20;

/** The JSON text of a model configuration, checked to be JSON before anything loads. */
function configParameter(parameter: RepositoryParameter): string {
  if (parameter.kind !== 'string') throw invalidArgument("parameter 'config' must be a string_param holding the model configuration as JSON");
  if (parameter.value.length > MAX_CONFIG_CHARS) {
    throw invalidArgument(`parameter 'config' holds ${parameter.value.length} characters: expected at most ${MAX_CONFIG_CHARS} (a model configuration is kilobytes)`);
  }
  try {
    JSON.parse(parameter.value);
  } catch (err) {
    throw invalidArgument(`parameter 'config' is not valid JSON: ${(err as Error).message}`);
  }
  return parameter.value;
}
