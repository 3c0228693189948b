/** RepositoryModelLoad / Unload requests to domain requests, and RepositoryIndex rows to the response message. */
import { invalidArgument } from '../errors';
import type { ModelControlRequest, RepositoryIndexEntry, RepositoryParameter } from '../dataplane/repository-service';
import type { WireModelControlRequest, WireRepositoryParameter } from './wire-types';

export function modelControlRequest(wire: WireModelControlRequest): ModelControlRequest {
  const parameters = new Map<string, RepositoryParameter>();
  for (const [key, value] of Object.entries(wire.parameters ?? {})) parameters.set(key, repositoryParameter(key, value));
  return { repositoryName: wire.repository_name ?? '', modelName: wire.model_name ?? '', parameters };
}

export function repositoryIndexMessage(rows: readonly RepositoryIndexEntry[]): Record<string, unknown> {
  return { models: rows.map(({ name, version, state, reason }) => ({ name, version, state, reason })) };
}

function repositoryParameter(key: string, p: WireRepositoryParameter): RepositoryParameter {
  switch (p.parameter_choice) {
    case 'bool_param':
      return { kind: 'bool', value: p.bool_param ?? false };
    case 'int64_param':
      return { kind: 'int64', value: p.int64_param ?? '0' };
    case 'string_param':
      return { kind: 'string', value: p.string_param ?? '' };
    case 'bytes_param':
      return { kind: 'bytes', value: p.bytes_param ?? new Uint8Array() };
    default:
      throw invalidArgument(`parameter '${key}' has no value`);
  }
}
