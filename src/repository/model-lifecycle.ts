/**
 * How a model's versions come and go (Triton's ModelLifeCycle): new versions load and warm beside
 * the serving ones, replace them in one step (a new entry), and the replaced ones drain before
 * their workers stop. A load that fails while versions of the model serve changes nothing but
 * the report. The caller runs one operation at a time per model.
 */
import type { Logger } from '../observability/logger';
import type { RollbackTally } from '../rollout/rollback-tally';
import { RolloutState } from '../rollout/rollout-state';
import type { ConfigSource } from './config-source';
import type { ModelFolder } from './discover';
import { planLoad, type LoadPlan } from './load-plan';
import { LOADING, modelEntry, READY, UNLOADED, UNLOADED_STATUS, UNLOADING, type EntryStore, type ModelEntry, type Rollout, type VersionStatus } from './model-entry';
import type { ServedVersion } from './model-version';
import type { RolloutConfig } from './rollout-config';
import type { VersionLoader } from './version-loader';

export class ModelLifecycle {
  /** What each loaded version was built from, so a reload keeps the versions that did not change. */
  private readonly sources = new WeakMap<ServedVersion, string>();

  constructor(
    private readonly store: EntryStore,
    private readonly loader: VersionLoader,
    private readonly defaultMaxQueueSize: number,
    private readonly log: Logger,
    private readonly rollbacks: RollbackTally,
  ) {}

  /**
   * Loads the folder's versions that are not already serving as they are on disk, beside those
   * that serve, then swaps them in and drains the replaced ones. Returns why the load failed, if
   * it did. When versions serve, a failure keeps them all (Triton's rule); when none serve, the
   * versions that loaded serve. A model loaded or asked for is one readiness waits for.
   */
  async apply(folder: ModelFolder, configs: readonly ConfigSource[], cancel?: AbortSignal): Promise<string | undefined> {
    const { name } = folder;
    const before = this.store.get(name);
    let plan: LoadPlan;
    try {
      plan = planLoad(folder, configs, this.defaultMaxQueueSize);
    } catch (err) {
      return this.refuse(before, name, (err as Error).message, new Map());
    }
    const serving = before?.versions ?? new Map<number, ServedVersion>();
    const kept = new Map<number, ServedVersion>();
    const toLoad: number[] = [];
    for (const [version, source] of plan.versions) {
      const current = serving.get(version);
      if (current && this.sources.get(current) === source) kept.set(version, current);
      else toLoad.push(version);
    }
    if (toLoad.length > 0) {
      const loadingStatus = new Map(before?.status);
      for (const version of toLoad) if (!serving.has(version)) loadingStatus.set(version, LOADING);
      this.store.set(modelEntry(name, serving, loadingStatus, before?.reason ?? '', true, before?.rollout));
    }

    const loaded = new Map<number, ServedVersion>();
    const failed = new Map<number, string>();
    await Promise.all(
      toLoad.map(async (version) => {
        try {
          const ready = await this.loader.load({ dir: folder.dir, version, partial: plan.partial, hasConfigFile: configs.length > 0, cancel });
          this.sources.set(ready, plan.versions.get(version)!);
          loaded.set(version, ready);
        } catch (err) {
          failed.set(version, (err as Error).message);
          this.log.error({ model: name, version, err: (err as Error).message }, 'model version failed to load');
        }
      }),
    );
    const failure = failed.size === 0 ? undefined : [...failed].map(([v, why]) => `version ${v}: ${why}`).join('; ');
    if (failure !== undefined && serving.size > 0) {
      // None of them ever took a request.
      await Promise.all([...loaded.values()].map((v) => v.unload()));
      return this.refuse(before, name, failure, failed);
    }

    const next = new Map([...kept, ...loaded].sort(([a], [b]) => a - b));
    const retired = [...serving.values()].filter((v) => next.get(v.version) !== v);
    const status = unloadedBefore(before);
    for (const v of retired) if (!next.has(v.version)) status.set(v.version, UNLOADING);
    for (const [version, reason] of failed) status.set(version, { state: 'UNAVAILABLE', reason });
    for (const version of next.keys()) status.set(version, READY);
    const rollout = this.rolloutState(name, plan.rollout, before?.rollout);
    this.store.set(modelEntry(name, next, status, '', true, rollout));
    if (loaded.size > 0 || retired.length > 0) {
      const fields = {
        model: name,
        versions: [...next.keys()],
        loaded: [...loaded.keys()],
        unloading: retired.map((v) => v.version),
        ...(folder.ignored.length > 0 && { ignored_folders: folder.ignored }),
      };
      this.log.info(fields, serving.size > 0 ? 'model reloaded' : 'model loaded');
    }
    const routing = rolloutSummary(rollout);
    if (routing !== rolloutSummary(before?.rollout)) this.log.info({ model: name, rollout: routing }, 'model rollout changed');
    if (retired.length === 0) return failure;

    await Promise.all(retired.map((v) => v.unload()));
    const after = new Map(status);
    for (const v of retired) if (!next.has(v.version)) after.set(v.version, UNLOADED_STATUS);
    this.store.set(modelEntry(name, next, after, '', true, rollout));
    this.log.info({ model: name, versions: retired.map((v) => v.version) }, 'model versions drained and unloaded');
    return failure;
  }

  /**
   * The state the new entry routes by: the one before when config.json's rollout block is the
   * same (a version file changed), so the weights set since and the guard's windows stay; a new
   * one from the block otherwise, the newest instruction winning over what the admin set.
   */
  private rolloutState(name: string, config: RolloutConfig | undefined, before: RolloutState | undefined): RolloutState | undefined {
    if (!config) return undefined;
    if (before && sameRollout(before.config, config)) return before;
    return new RolloutState(name, config, this.log, this.rollbacks);
  }

  /** A load that did not take: the serving versions, if any, stay as they are; the report says why. */
  private refuse(before: ModelEntry | undefined, name: string, why: string, failed: ReadonlyMap<number, string>): string {
    const serving = before?.versions ?? new Map<number, ServedVersion>();
    const reason = serving.size > 0 ? `reload failed, the versions loaded before keep serving: ${why}` : why;
    const status = unloadedBefore(before);
    for (const [version, failure] of failed) status.set(version, { state: 'UNAVAILABLE', reason: failure });
    for (const version of serving.keys()) status.set(version, READY);
    this.store.set(modelEntry(name, serving, status, reason, true, before?.rollout));
    this.log.error({ model: name, reason }, 'model failed to load');
    return why;
  }

  /** Stops routing to every version, then drains and frees them; the model stays listed, its versions unloaded. */
  async retire(entry: ModelEntry): Promise<void> {
    const draining = new Map<number, VersionStatus>();
    for (const version of entry.status.keys()) draining.set(version, entry.versions.has(version) ? UNLOADING : UNLOADED_STATUS);
    this.store.set(modelEntry(entry.name, new Map(), draining, '', false, undefined));
    await Promise.all([...entry.versions.values()].map((v) => v.unload()));
    const unloaded = new Map([...draining.keys()].map((version) => [version, UNLOADED_STATUS]));
    this.store.set(modelEntry(entry.name, new Map(), unloaded, '', false, undefined));
    this.log.info({ model: entry.name, versions: [...entry.versions.keys()] }, 'model unloaded');
  }
}

/** What a rollout routes by, to log when it changes: its weights and sticky parameter, or 'none'. */
function rolloutSummary(rollout: Rollout | undefined): string {
  if (!rollout) return 'none';
  const weights = [...rollout.weights].map(([version, weight]) => `${version}: ${weight}`).join(', ');
  return `weights {${weights}}${rollout.config.stickyParameter === undefined ? '' : `, sticky on '${rollout.config.stickyParameter}'`}`;
}

/** The rows a load starts from: versions unloaded before stay listed as such, as in Triton's index. */
function unloadedBefore(before: ModelEntry | undefined): Map<number, VersionStatus> {
  const rows = new Map<number, VersionStatus>();
  for (const [version, s] of before?.status ?? []) if (s.reason === UNLOADED) rows.set(version, s);
  return rows;
}

function sameRollout(a: RolloutConfig, b: RolloutConfig): boolean {
  const text = (c: RolloutConfig): string => JSON.stringify({ ...c, weights: [...c.weights] });
  return text(a) === text(b);
}
