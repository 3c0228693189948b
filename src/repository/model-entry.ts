/**
 * A model as the server holds it at one moment. An entry is never changed in place: every load,
 * reload or unload puts a new one, so a request sees a model's versions before a swap or after
 * it, never half of each.
 */
import type { RolloutState } from '../rollout/rollout-state';
import type { ModelState, ServedVersion } from './model-version';

/** Triton's reason for a version that was unloaded. */
export const UNLOADED = 'unloaded';

export interface VersionStatus {
  readonly state: ModelState;
  /** Why an UNAVAILABLE version is: its load failure, or UNLOADED; '' otherwise. */
  readonly reason: string;
}

/** A rollout as config.json gave it, with the weights in force and the choice built from them. */
export type Rollout = RolloutState;

export interface ModelEntry {
  readonly name: string;
  /** The versions that take requests, by number. */
  readonly versions: ReadonlyMap<number, ServedVersion>;
  /** Every version the server knows of, by number, serving or not, as RepositoryIndex lists them. */
  readonly status: ReadonlyMap<number, VersionStatus>;
  /**
   * Why the model's last load did not take as a whole, '' when it did: a config.json that is bad,
   * no version to load, or a reload refused because a version failed while others serve.
   */
  readonly reason: string;
  /** That reason and each version's load failure ('version N: why'); empty when all is well. */
  readonly failures: readonly string[];
  /** Whether server readiness waits for it: every model in none and poll modes, the models asked for in explicit mode. */
  readonly required: boolean;
  /** How requests that pin no version are split; undefined: the newest ready version serves them. */
  readonly rollout: Rollout | undefined;
}

/** The repository's models, as model control reads and replaces them. */
export interface EntryStore {
  get(name: string): ModelEntry | undefined;
  names(): string[];
  /** Puts the entry in place of the model's previous one and tells listeners. */
  set(entry: ModelEntry): void;
  delete(name: string): void;
}

export const READY: VersionStatus = { state: 'READY', reason: '' };
export const LOADING: VersionStatus = { state: 'LOADING', reason: '' };
export const UNLOADING: VersionStatus = { state: 'UNLOADING', reason: '' };
export const UNLOADED_STATUS: VersionStatus = { state: 'UNAVAILABLE', reason: UNLOADED };

export function modelEntry(
  name: string,
  versions: ReadonlyMap<number, ServedVersion>,
  status: ReadonlyMap<number, VersionStatus>,
  reason: string,
  required: boolean,
  rollout: Rollout | undefined,
): ModelEntry {
  const failures = reason === '' ? [] : [reason];
  const sorted = new Map([...status].sort(([a], [b]) => a - b));
  for (const [version, s] of sorted) if (isLoadFailure(s)) failures.push(`version ${version}: ${s.reason}`);
  return { name, versions, status: sorted, reason, failures, required, rollout };
}

/** The highest-numbered READY version, which a request naming no version gets without a rollout. */
export function latestReady(entry: ModelEntry): ServedVersion | undefined {
  let latest: ServedVersion | undefined;
  for (const v of entry.versions.values()) if (v.ready && (!latest || v.version > latest.version)) latest = v;
  return latest;
}

/** The version failed to load (as opposed to being unloaded). */
export function isLoadFailure(status: VersionStatus): boolean {
  return status.state === 'UNAVAILABLE' && status.reason !== UNLOADED;
}
