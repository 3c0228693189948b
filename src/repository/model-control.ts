/**
 * Triton's model control: what loads at start, and what a poll or a RepositoryModelLoad /
 * RepositoryModelUnload changes. A model's new versions load and warm beside the serving ones,
 * replace them in one step, and the replaced ones drain before their workers stop. A load that
 * fails while versions of the model serve changes nothing but the report. One operation at a time
 * per model; different models load side by side.
 */
import { invalidArgument, notFound, unavailable } from '../errors';
import type { ModelControlMode } from '../config/schema';
import type { Logger } from '../observability/logger';
import { listModelFolders, readModelFolder, type ModelFolder } from './discover';
import { planLoad, type LoadPlan } from './load-plan';
import { LOADING, modelEntry, READY, UNLOADED, UNLOADED_STATUS, UNLOADING, type ModelEntry, type VersionStatus } from './model-entry';
import { folderFingerprint } from './model-fingerprint';
import type { ModelVersion } from './model-version';
import { SerialByKey } from './serial-by-key';
import type { VersionLoader } from './version-loader';

/** The repository's models, as model control reads and replaces them. */
export interface EntryStore {
  get(name: string): ModelEntry | undefined;
  names(): string[];
  /** Puts the entry in place of the model's previous one and tells listeners. */
  set(entry: ModelEntry): void;
  delete(name: string): void;
}

export interface ModelControlSettings {
  /** Absolute path of the model repository. */
  readonly repository: string;
  readonly mode: ModelControlMode;
  /** --load-model: the models explicit mode loads at start; '*' for all. */
  readonly load: readonly string[];
  readonly defaultMaxQueueSize: number;
}

export class ModelControl {
  private readonly serial = new SerialByKey();
  /** Poll mode: each model folder's fingerprint when last acted on, so a poll loads only what changed. */
  private readonly seen = new Map<string, string>();
  /** What each loaded version was built from, so a reload keeps the versions that did not change. */
  private readonly sources = new WeakMap<ModelVersion, string>();
  private closed = false;

  constructor(
    private readonly store: EntryStore,
    private readonly loader: VersionLoader,
    private readonly settings: ModelControlSettings,
    private readonly log: Logger,
  ) {}

  /** none and poll: every model folder; explicit: the --load-model ones. Fails only when the repository cannot be read. */
  async start(): Promise<void> {
    const { mode, load, repository } = this.settings;
    const onDisk = await listModelFolders(repository);
    if (mode !== 'explicit') {
      if (load.length > 0) this.log.warn({ models: load, mode }, '--load-model is ignored outside explicit model control mode');
      await this.refreshAll(onDisk);
      return;
    }
    if (load.includes('*') && load.length > 1) throw new Error("--load-model '*' loads every model and must be the only --load-model");
    const names = load.includes('*') ? onDisk : [...new Set(load)];
    for (const name of names) checkFolderName(name);
    await Promise.all(names.map((name) => this.serial.run(name, () => this.loadAtStart(name))));
  }

  /** Loading and unloading on request belong to explicit mode; Triton answers UNAVAILABLE in the others. */
  checkExplicit(): void {
    if (this.settings.mode !== 'explicit') {
      throw unavailable(`explicit model load / unload is not allowed in model control mode '${this.settings.mode}' (it needs --model-control-mode=explicit)`);
    }
  }

  /** Loads a model, or reloads what changed of a loaded one; `configText` replaces its config.json for this load. */
  load(name: string, configText: string | undefined): Promise<void> {
    this.checkExplicit();
    checkFolderName(name);
    return this.serial.run(name, async () => {
      this.checkOpen();
      const folder = await readModelFolder(this.settings.repository, name);
      if (!folder) throw notFound(`failed to load '${name}': no model folder '${name}' in the model repository`);
      const failure = await this.apply(folder, configText ?? folder.configText, true);
      if (failure !== undefined) throw invalidArgument(`load failed for model '${name}': ${failure}`);
    });
  }

  /** Stops routing to the model, waits for what its versions hold, then frees them. */
  unload(name: string): Promise<void> {
    this.checkExplicit();
    checkFolderName(name);
    return this.serial.run(name, async () => {
      this.checkOpen();
      const entry = this.store.get(name);
      if (entry) await this.retire(entry);
      else if (!(await readModelFolder(this.settings.repository, name))) throw notFound(`unknown model '${name}': not loaded and not in the model repository`);
    });
  }

  /** Poll mode: rescans the repository and applies what changed since the last look. */
  async poll(): Promise<void> {
    if (this.settings.mode !== 'poll') throw new Error(`the repository is polled in model control mode 'poll' only, not '${this.settings.mode}'`);
    let onDisk: string[];
    try {
      onDisk = await listModelFolders(this.settings.repository);
    } catch (err) {
      // Unreadable for now (a remount, a network file system): not a reason to unload everything.
      this.log.error({ err: (err as Error).message }, 'repository poll skipped');
      return;
    }
    await this.refreshAll([...new Set([...onDisk, ...this.store.names()])]);
  }

  /** Unloads everything, draining first; nothing loads afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.store.names().map((name) =>
        this.serial.run(name, async () => {
          const entry = this.store.get(name);
          if (entry) await this.retire(entry);
        }),
      ),
    );
  }

  private async refreshAll(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((name) => this.serial.run(name, () => this.refresh(name))));
  }

  /** Applies the model folder if it changed since last time; unloads the model if its folder is gone. */
  private async refresh(name: string): Promise<void> {
    if (this.closed) return;
    let folder: ModelFolder | undefined;
    try {
      folder = await readModelFolder(this.settings.repository, name);
    } catch (err) {
      this.folderUnreadable(name, err);
      return;
    }
    if (!folder) {
      this.seen.delete(name);
      const entry = this.store.get(name);
      if (!entry) return;
      this.log.info({ model: name }, 'model folder removed from the repository; unloading the model');
      await this.retire(entry);
      this.store.delete(name);
      return;
    }
    const fingerprint = folderFingerprint(folder.configText, folder.versions);
    if (this.seen.get(name) === fingerprint) return;
    this.seen.set(name, fingerprint);
    await this.apply(folder, folder.configText, true);
  }

  private async loadAtStart(name: string): Promise<void> {
    let folder: ModelFolder | undefined;
    try {
      folder = await readModelFolder(this.settings.repository, name);
    } catch (err) {
      this.folderUnreadable(name, err);
      return;
    }
    if (folder) {
      await this.apply(folder, folder.configText, true);
      return;
    }
    const reason = `--load-model names '${name}', but the model repository has no folder '${name}'`;
    this.log.error({ model: name, reason }, 'model failed to load');
    this.store.set(modelEntry(name, new Map(), new Map(), reason, true));
  }

  private folderUnreadable(name: string, err: unknown): void {
    const reason = `model folder cannot be read: ${(err as Error).message}`;
    this.log.error({ model: name, reason }, 'model left as it is');
    // A model already held keeps serving; one never loaded shows why.
    if (!this.store.get(name)) this.store.set(modelEntry(name, new Map(), new Map(), reason, true));
  }

  /**
   * Loads the folder's versions that are not already serving as they are on disk, beside those
   * that serve, then swaps them in and drains the replaced ones. Returns why the load failed, if
   * it did. When versions serve, a failure keeps them all (Triton's rule); when none serve, the
   * versions that loaded serve.
   */
  private async apply(folder: ModelFolder, configText: string | undefined, required: boolean): Promise<string | undefined> {
    const { name } = folder;
    const before = this.store.get(name);
    let plan: LoadPlan;
    try {
      plan = planLoad(folder, configText, this.settings.defaultMaxQueueSize);
    } catch (err) {
      return this.refuse(before, name, (err as Error).message, new Map(), required);
    }
    const serving = before?.versions ?? new Map<number, ModelVersion>();
    const kept = new Map<number, ModelVersion>();
    const toLoad: number[] = [];
    for (const [version, source] of plan.versions) {
      const current = serving.get(version);
      if (current && this.sources.get(current) === source) kept.set(version, current);
      else toLoad.push(version);
    }
    if (toLoad.length > 0) {
      const loadingStatus = new Map(before?.status);
      for (const version of toLoad) if (!serving.has(version)) loadingStatus.set(version, LOADING);
      this.store.set(modelEntry(name, serving, loadingStatus, before?.reason ?? '', required));
    }

    const loaded = new Map<number, ModelVersion>();
    const failed = new Map<number, string>();
    await Promise.all(
      toLoad.map(async (version) => {
        try {
          const ready = await this.loader.load({ dir: folder.dir, version, partial: plan.partial, hasConfigFile: configText !== undefined });
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
      return this.refuse(before, name, failure, failed, required);
    }

    const next = new Map([...kept, ...loaded].sort(([a], [b]) => a - b));
    const retired = [...serving.values()].filter((v) => next.get(v.version) !== v);
    const status = new Map<number, VersionStatus>();
    for (const [version, s] of before?.status ?? []) if (s.reason === UNLOADED) status.set(version, s);
    for (const v of retired) if (!next.has(v.version)) status.set(v.version, UNLOADING);
    for (const [version, reason] of failed) status.set(version, { state: 'UNAVAILABLE', reason });
    for (const version of next.keys()) status.set(version, READY);
    this.store.set(modelEntry(name, next, status, '', required));
    if (toLoad.length > 0 || retired.length > 0) {
      this.log.info({ model: name, versions: [...next.keys()], loaded: [...loaded.keys()], unloading: retired.map((v) => v.version) }, before ? 'model reloaded' : 'model loaded');
    }
    if (retired.length === 0) return failure;

    await Promise.all(retired.map((v) => v.unload()));
    const after = new Map(status);
    for (const v of retired) if (!next.has(v.version)) after.set(v.version, UNLOADED_STATUS);
    this.store.set(modelEntry(name, next, after, '', required));
    this.log.info({ model: name, versions: retired.map((v) => v.version) }, 'model versions drained and unloaded');
    return failure;
  }

  /** A load that did not take: the serving versions, if any, stay as they are; the report says why. */
  private refuse(before: ModelEntry | undefined, name: string, why: string, failed: ReadonlyMap<number, string>, required: boolean): string {
    const serving = before?.versions ?? new Map<number, ModelVersion>();
    const reason = serving.size > 0 ? `reload failed, the versions loaded before keep serving: ${why}` : why;
    const status = new Map<number, VersionStatus>();
    for (const [version, s] of before?.status ?? []) if (s.reason === UNLOADED) status.set(version, s);
    for (const [version, why] of failed) status.set(version, { state: 'UNAVAILABLE', reason: why });
    for (const version of serving.keys()) status.set(version, READY);
    this.store.set(modelEntry(name, serving, status, reason, required));
    this.log.error({ model: name, reason }, 'model failed to load');
    return why;
  }

  /** Stops routing to every version, then drains and frees them; the model stays listed, its versions unloaded. */
  private async retire(entry: ModelEntry): Promise<void> {
    const draining = new Map<number, VersionStatus>();
    for (const version of entry.status.keys()) draining.set(version, entry.versions.has(version) ? UNLOADING : UNLOADED_STATUS);
    this.store.set(modelEntry(entry.name, new Map(), draining, '', false));
    await Promise.all([...entry.versions.values()].map((v) => v.unload()));
    const unloaded = new Map([...draining.keys()].map((version) => [version, UNLOADED_STATUS]));
    this.store.set(modelEntry(entry.name, new Map(), unloaded, '', false));
    this.log.info({ model: entry.name, versions: [...entry.versions.keys()] }, 'model unloaded');
  }

  private checkOpen(): void {
    if (this.closed) throw unavailable('the server is stopping: models no longer load or unload');
  }
}

/** A model name is one folder of the repository: never a path that leads elsewhere. */
function checkFolderName(name: string): void {
  if (name === '') throw invalidArgument('model_name is required');
  if (name.startsWith('.') || /[/\\\0]/.test(name)) throw invalidArgument(`model name '${name}' is not the name of a folder in the model repository`);
}
