/**
 * The models the server holds and the one door to changing them: loading at start, polling,
 * loading and unloading on request (model-control.ts does the work). Readiness is read here.
 */
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { ServerConfig } from '../config/load';
import type { InferenceError } from '../errors';
import type { Logger } from '../observability/logger';
import { RollbackTally } from '../rollout/rollback-tally';
import { listModelFolders } from './discover';
import { ensembleProblem } from './ensemble-readiness';
import { ModelControl } from './model-control';
import type { EntryStore, ModelEntry } from './model-entry';
import type { ServedVersion } from './model-version';
import { indexRows, type IndexRow } from './repository-index';
import { VersionLoader } from './version-loader';

/** Emits 'change' whenever a model or version appears, goes, or changes state. */
export class ModelRepository extends EventEmitter<{ change: [] }> {
  private readonly models = new Map<string, ModelEntry>();
  /**
   * Models readiness waits for: those loaded at start, and any that has served since. A model
   * that first appears later (a poll, a RepositoryModelLoad) and fails to load is reported, but
   * does not take every replica out of service at once.
   */
  private readonly awaited = new Set<string>();
  private readonly control: ModelControl;
  /** The guards' rollbacks, for their metric: they outlive each rollout's state. */
  readonly rollbacks = new RollbackTally();
  private readonly directory: string;

  constructor(config: ServerConfig, log: Logger) {
    super();
    this.directory = path.resolve(config.modelRepository);
    const changed = (): void => {
      for (const name of this.models.keys()) if (this.isModelReady(name)) this.awaited.add(name);
      this.emit('change');
    };
    const store: EntryStore = {
      get: (name) => this.models.get(name),
      names: () => [...this.models.keys()],
      set: (entry) => {
        this.models.set(entry.name, entry);
        changed();
      },
      delete: (name) => {
        this.awaited.delete(name);
        if (this.models.delete(name)) changed();
      },
    };
    const settings = { repository: this.directory, ...config.modelControl, defaultMaxQueueSize: config.defaultMaxQueueSize };
    this.control = new ModelControl(store, new VersionLoader(config, log, changed), settings, log, this.rollbacks);
  }

  /** What the model control mode loads at start; a model that fails is kept as failed, and the rest still serve. */
  async loadAll(): Promise<void> {
    await this.control.start();
    for (const name of this.models.keys()) this.awaited.add(name);
    this.emit('change');
  }

  /** Poll mode's rescan, for the poller, and for tests that must not wait for its timer. */
  poll(): Promise<void> {
    return this.control.poll();
  }

  /** Throws UNAVAILABLE unless models load and unload on request (explicit mode). */
  checkExplicitControl(): void {
    this.control.checkExplicit();
  }

  /** RepositoryModelLoad; `configText` replaces the model's config.json for this load. */
  load(name: string, configText: string | undefined): Promise<void> {
    return this.control.load(name, configText);
  }

  /** RepositoryModelUnload: resolves once the model's requests are answered and its workers stopped. */
  unload(name: string): Promise<void> {
    return this.control.unload(name);
  }

  /** Every model in the repository folder or held by the server, by name. */
  async index(): Promise<IndexRow[]> {
    const names = new Set([...(await listModelFolders(this.directory)), ...this.models.keys()]);
    return indexRows([...names].sort((a, b) => a.localeCompare(b)), (name) => this.models.get(name));
  }

  get(name: string): ModelEntry | undefined {
    return this.models.get(name);
  }

  entries(): IterableIterator<ModelEntry> {
    return this.models.values();
  }

  /**
   * The models server readiness waits for, by name: in none and poll modes those of the repository,
   * in explicit mode those asked for; of them, the ones loaded at start or that have served since.
   */
  modelNames(): string[] {
    return [...this.models.values()].filter((e) => e.required && this.awaited.has(e.name)).map((e) => e.name).sort((a, b) => a.localeCompare(b));
  }

  /** A request that names no version would be served: some version of the model is ready. */
  isModelReady(name: string): boolean {
    const entry = this.models.get(name);
    if (!entry) return false;
    for (const version of entry.versions.values()) if (this.serves(version)) return true;
    return false;
  }

  /** A pinned version's readiness, as ModelReady with a version reports it. */
  isVersionReady(name: string, version: number): boolean {
    const served = this.models.get(name)?.versions.get(version);
    return served !== undefined && this.serves(served);
  }

  /** READY, and for an ensemble, every model its steps run on can serve them now. */
  private serves(version: ServedVersion): boolean {
    if (!version.ready) return false;
    return version.kind !== 'ensemble' || ensembleProblem(version, (name) => this.models.get(name)) === undefined;
  }

  /** Every model readiness waits for is ready; a failed newest version does not count while an older one serves. */
  get allReady(): boolean {
    return this.modelNames().every((name) => this.isModelReady(name));
  }

  /** Fails every queued request of every version with `err`; returns how many. */
  rejectQueued(err: InferenceError): number {
    let count = 0;
    for (const entry of this.models.values()) {
      // An ensemble queues nothing itself: its steps wait in their composing models' queues.
      for (const version of entry.versions.values()) if (version.kind === 'onnx') count += version.scheduler.rejectQueued(err);
    }
    return count;
  }

  /** Refuses loads and unloads from now on; those in progress give up at their next step. */
  stopModelControl(): void {
    this.control.stop();
  }

  /** Drains and unloads every model; nothing loads afterwards. */
  unloadAll(): Promise<void> {
    return this.control.close();
  }
}
