/**
 * The one truth behind every probe: whether the server should be sent traffic, and whether
 * each model should. ServerReady, ModelReady, grpc.health.v1 and the HTTP health paths all
 * read it, so they cannot disagree. Liveness is not here: a process that answers is alive.
 */
import { EventEmitter } from 'node:events';
import type { ModelRepository } from '../repository/model-repository';

export class Readiness extends EventEmitter<{ change: [] }> {
  private started = false;
  private drainingSince: number | undefined;

  constructor(private readonly repository: ModelRepository) {
    super();
    repository.on('change', () => this.emit('change'));
  }

  /** Every model loaded and warmed up (or failed) once: readiness may now turn true. */
  markStarted(): void {
    this.started = true;
    this.emit('change');
  }

  /** Shutting down: nothing should send new traffic, whatever the models' state. */
  markDraining(): void {
    this.drainingSince ??= Date.now();
    this.emit('change');
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Started, not draining, and every model that must be ready has a version to serve it. */
  get serverReady(): boolean {
    return this.started && !this.draining && this.repository.allReady;
  }

  /** A model is ready when an unpinned request to it would be served. */
  modelReady(name: string): boolean {
    return !this.draining && this.repository.isModelReady(name);
  }

  /** A pinned version's readiness, as ModelReady with a version reports it. */
  versionReady(name: string, version: number): boolean {
    return !this.draining && this.repository.isVersionReady(name, version);
  }

  /** Every model the server holds, ready or not, for per-model health. */
  heldModelNames(): string[] {
    return [...this.repository.entries()].map((e) => e.name);
  }
}
