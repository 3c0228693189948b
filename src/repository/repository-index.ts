/** RepositoryIndex's rows: every model of the repository, one row per version the server knows of. */
import type { ModelState } from './model-version';
import type { ModelEntry } from './model-entry';

export interface IndexRow {
  readonly name: string;
  /** Undefined for a row about the model as a whole. */
  readonly version: number | undefined;
  /** '' for a model never asked to load (explicit mode), as Triton lists it. */
  readonly state: ModelState | '';
  readonly reason: string;
}

/**
 * A model never loaded (or unloaded before any version was known) is one row with its name alone.
 * A serving version's reason is why the model's last reload failed, if it did; a model whose load
 * failed as a whole with nothing serving has a row without version, UNAVAILABLE with the reason.
 */
export function indexRows(names: readonly string[], entryOf: (name: string) => ModelEntry | undefined): IndexRow[] {
  const rows: IndexRow[] = [];
  for (const name of names) {
    const entry = entryOf(name);
    if (!entry) {
      rows.push({ name, version: undefined, state: '', reason: '' });
      continue;
    }
    for (const [version, s] of entry.status) {
      rows.push({ name, version, state: s.state, reason: s.state === 'READY' ? entry.reason : s.reason });
    }
    if (entry.versions.size === 0 && (entry.reason !== '' || entry.status.size === 0)) {
      rows.push({ name, version: undefined, state: entry.reason === '' ? '' : 'UNAVAILABLE', reason: entry.reason });
    }
  }
  return rows;
}
