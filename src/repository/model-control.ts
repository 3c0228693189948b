/**
 * Triton's model control modes: what loads at start, and what a poll or a RepositoryModelLoad /
 * RepositoryModelUnload changes (model-lifecycle.ts makes the change). One operation at a time
 * per model; different models load side by side.
 */
import { InferenceError, invalidArgument, notFound, unavailable } from '../errors';
import type { ModelControlMode } from '../config/schema';
import type { Logger } from '../observability/logger';
import { listModelFolders, readModelFolder, type ModelFolder } from './discover';
import { checkModelName } from './model-name';
import { modelEntry, type EntryStore } from './model-entry';
import { folderFingerprint } from './model-fingerprint';
import type { RollbackTally } from '../rollout/rollback-tally';
import { ModelLifecycle } from './model-lifecycle';
import { SerialByKey } from './serial-by-key';
import type { VersionLoader } from './version-loader';

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
  private readonly lifecycle: ModelLifecycle;
  /** Explicit loads in progress, by model: an unload of the model cancels its load rather than wait behind it. */
  private readonly loading = new Map<string, AbortController>();
  private closed = false;

  constructor(
    private readonly store: EntryStore,
    private readonly loader: VersionLoader,
    private readonly settings: ModelControlSettings,
    private readonly log: Logger,
    rollbacks: RollbackTally,
  ) {
    this.lifecycle = new ModelLifecycle(store, loader, settings.defaultMaxQueueSize, log, rollbacks);
  }

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
    for (const name of names) await this.loadComposing(name);
  }

  /** Loading and unloading on request belong to explicit mode; Triton answers UNAVAILABLE in the others. */
  checkExplicit(): void {
    if (this.settings.mode !== 'explicit') {
      throw unavailable(`explicit model load / unload is not allowed in model control mode '${this.settings.mode}' (it needs --model-control-mode=explicit)`);
    }
  }

  /** Loads a model, or reloads what changed of a loaded one; `configText` (JSON) replaces its configuration file for this load. */
  async load(name: string, configText: string | undefined): Promise<void> {
    this.checkExplicit();
    checkFolderName(name);
    await this.serial.run(name, async () => {
      this.checkOpen();
      const folder = await readModelFolder(this.settings.repository, name);
      if (!folder) throw notFound(`failed to load '${name}': no model folder '${name}' in the model repository`);
      const cancel = new AbortController();
      this.loading.set(name, cancel);
      let failure: string | undefined;
      try {
        const configs = configText === undefined ? folder.configs : [{ file: 'config.json' as const, text: configText }];
        failure = await this.lifecycle.apply(folder, configs, cancel.signal);
      } finally {
        this.loading.delete(name);
      }
      if (failure === undefined) return;
      if (this.closed) throw unavailable(`load of model '${name}' abandoned: the server is stopping`);
      if (cancel.signal.aborted) throw cancel.signal.reason;
      throw invalidArgument(`load failed for model '${name}': ${failure}`);
    });
    const failures = await this.loadComposing(name);
    if (failures.length > 0) throw invalidArgument(`load failed for model '${name}': its steps' models did not load: ${failures.join('; ')}`);
  }

  /**
   * Explicit mode, as in Triton: loading an ensemble loads the models its steps name that are not
   * loaded yet (each then answers for itself: the ensemble is ready once they are). After the
   * ensemble's own turn, so that an ensemble naming itself waits for nothing.
   */
  private async loadComposing(name: string): Promise<string[]> {
    const failures: string[] = [];
    const held = new Set([name]);
    const pending = [name];
    while (pending.length > 0) {
      const steps = [...(this.store.get(pending.pop()!)?.versions.values() ?? [])].flatMap((v) => (v.kind === 'ensemble' ? v.steps : []));
      for (const model of new Set(steps.map((s) => s.modelName))) {
        if (held.has(model) || this.store.get(model)?.versions.size) continue;
        held.add(model);
        const folder = await this.serial.run(model, () => this.readFolder(model));
        if (folder === null) {
          failures.push(`'${model}': its folder cannot be read`);
        } else if (folder === undefined) {
          this.log.error({ model, ensemble: name }, 'an ensemble step names a model the repository does not have');
          failures.push(`'${model}': no such folder in the model repository`);
        } else {
          const failure = await this.serial.run(model, () => this.lifecycle.apply(folder, folder.configs));
          if (failure !== undefined) failures.push(`'${model}': ${failure}`);
          pending.push(model);
        }
      }
    }
    return failures;
  }

  /** Stops routing to the model, waits for what its versions hold, then frees them. */
  unload(name: string): Promise<void> {
    this.checkExplicit();
    checkFolderName(name);
    // A warm-up may ask for more runs than anyone will wait for: the unload is what stops it.
    this.loading.get(name)?.abort(new InferenceError('CANCELLED', `load of model '${name}' cancelled: RepositoryModelUnload asked for the model while it loaded`));
    return this.serial.run(name, async () => {
      this.checkOpen();
      const entry = this.store.get(name);
      if (entry) await this.lifecycle.retire(entry);
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

  /**
   * Refuses loads and unloads from now on. A load in progress is abandoned, not waited for: a
   * warm-up may ask for more runs than any shutdown grace allows.
   */
  stop(): void {
    this.closed = true;
    this.loader.stop();
  }

  /** Unloads everything, draining first; nothing loads afterwards. */
  async close(): Promise<void> {
    this.stop();
    await Promise.all(
      this.store.names().map((name) =>
        this.serial.run(name, async () => {
          const entry = this.store.get(name);
          if (entry) await this.lifecycle.retire(entry);
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
    const folder = await this.readFolder(name);
    if (folder === null) return;
    if (!folder) {
      this.seen.delete(name);
      const entry = this.store.get(name);
      if (!entry) return;
      this.log.info({ model: name }, 'model folder removed from the repository; unloading the model');
      await this.lifecycle.retire(entry);
      this.store.delete(name);
      return;
    }
    const fingerprint = folderFingerprint(folder.configs, folder.versions, folder.bareVersions);
    if (this.seen.get(name) === fingerprint) return;
    this.seen.set(name, fingerprint);
    await this.lifecycle.apply(folder, folder.configs);
  }

  private async loadAtStart(name: string): Promise<void> {
    const folder = await this.readFolder(name);
    if (folder === null) return;
    if (folder) {
      await this.lifecycle.apply(folder, folder.configs);
      return;
    }
    const reason = `--load-model names '${name}', but the model repository has no folder '${name}'`;
    this.log.error({ model: name, reason }, 'model failed to load');
    this.store.set(modelEntry(name, new Map(), new Map(), reason, true, undefined));
  }

  /** The model's folder; undefined when the repository has none, null when it cannot be read (reported). */
  private async readFolder(name: string): Promise<ModelFolder | undefined | null> {
    try {
      return await readModelFolder(this.settings.repository, name);
    } catch (err) {
      this.folderUnreadable(name, err);
      return null;
    }
  }

  private folderUnreadable(name: string, err: unknown): void {
    const reason = `model folder cannot be read: ${(err as Error).message}`;
    this.log.error({ model: name, reason }, 'model left as it is');
    // A model already held keeps serving; one never loaded shows why.
    if (!this.store.get(name)) this.store.set(modelEntry(name, new Map(), new Map(), reason, true, undefined));
  }

  private checkOpen(): void {
    if (this.closed) throw unavailable('the server is stopping: models no longer load or unload');
  }
}

/** Checked again here, next to the file system: a caller that skipped the check cannot lead elsewhere. */
function checkFolderName(name: string): void {
  checkModelName(name, 'model_name');
}
