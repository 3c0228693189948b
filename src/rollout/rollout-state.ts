/**
 * A model's live rollout: the weights in force, the weights before them, the guard's state and
 * each version's recent requests. The weights start as config.json gives them; SetWeights, Promote,
 * Rollback and the guard replace them; a config.json with a different rollout block makes a new
 * state (the newest instruction wins, file or admin). A change builds a new WeightedChoice and
 * swaps one reference, so a request routes by the old weights or the new, never a mix.
 */
import { performance } from 'node:perf_hooks';
import type { ErrorCode } from '../errors';
import type { Logger } from '../observability/logger';
import type { RolloutConfig } from '../repository/rollout-config';
import { OutcomeWindow, quantileMs } from './outcome-window';
import type { RollbackTally } from './rollback-tally';
import { checkGuard, type RollbackCause } from './rollout-guard';
import { WeightedChoice } from './weighted-choice';

/** The window of the live counts when the rollout has no guard to take its window from. */
export const DEFAULT_WINDOW_SECONDS = 60;

/** Who set the weights in force. */
export type WeightsSource = 'config' | 'admin' | 'guard';

export interface RolledBack {
  /** Wall-clock time of the rollback, ms since the epoch. */
  readonly atMs: number;
  readonly cause: RollbackCause;
  readonly detail: string;
}

export type Weights = ReadonlyMap<number, number>;

export interface VersionTraffic {
  readonly version: number;
  /** Within the window. */
  readonly requests: number;
  readonly failures: number;
  /** Of the successes within the window; 0 when there are none. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly totalRequests: number;
  readonly totalFailures: number;
}

/** Failures that are the caller's doing, not the version's: not held against a canary. */
const CALLER_CODES: ReadonlySet<ErrorCode> = new Set(['CANCELLED', 'INVALID_ARGUMENT']);

export class RolloutState {
  private current: Weights;
  private currentChoice: WeightedChoice;
  private before: Weights | undefined;
  private setBy: WeightsSource = 'config';
  private rolled: RolledBack | undefined;
  private readonly windows = new Map<number, OutcomeWindow>();
  readonly windowSeconds: number;

  constructor(
    readonly model: string,
    readonly config: RolloutConfig,
    private readonly log: Logger,
    private readonly tally: RollbackTally,
  ) {
    this.current = config.weights;
    this.currentChoice = new WeightedChoice(config.weights);
    this.windowSeconds = config.guard?.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
  }

  /** What the router picks with, per request. */
  get choice(): WeightedChoice {
    return this.currentChoice;
  }

  get weights(): Weights {
    return this.current;
  }

  get previous(): Weights | undefined {
    return this.before;
  }

  get source(): WeightsSource {
    return this.setBy;
  }

  /** Set while the guard's rollback stands: until weights are set again. */
  get rolledBack(): RolledBack | undefined {
    return this.rolled;
  }

  /**
   * New weights in force (checked by the caller); the ones they replace become the previous weights.
   * Weights set by hand also restart the windows, so that a canary put back after a rollback is
   * judged on its requests from then on, not rolled back again at once by the old failures.
   */
  setWeights(weights: Weights, source: WeightsSource): void {
    if (source !== 'guard') for (const window of this.windows.values()) window.restart();
    this.before = this.current;
    this.current = new Map([...weights].sort(([a], [b]) => a - b));
    this.currentChoice = new WeightedChoice(this.current);
    this.setBy = source;
    this.rolled = undefined;
    if (source === 'admin') this.log.info({ model: this.model, weights: Object.fromEntries(this.current), previous: Object.fromEntries(this.before) }, 'rollout weights set');
  }

  /**
   * One answered request of `version` (pinned or routed: the version's health is the question),
   * `code` undefined on success. Checks the guard after each of the canary's.
   */
  observe(version: number, latencyMs: number, code: ErrorCode | undefined): void {
    if (code !== undefined && CALLER_CODES.has(code)) return;
    const now = performance.now();
    let window = this.windows.get(version);
    if (!window) this.windows.set(version, (window = new OutcomeWindow(this.windowSeconds)));
    window.record(now, latencyMs, code === undefined);
    const guard = this.config.guard;
    if (!guard || version !== guard.canary || this.rolled || !this.current.get(version)) return;
    const verdict = checkGuard(guard, this.windows, now);
    if (!verdict) return;
    this.setWeights(new Map([...this.current].map(([v, w]) => [v, v === version ? 0 : w])), 'guard');
    this.rolled = { atMs: Date.now(), ...verdict };
    this.tally.count(this.model, version, verdict.cause);
    this.log.error({ model: this.model, version, cause: verdict.cause, detail: verdict.detail, weights: Object.fromEntries(this.current) }, 'rollout canary rolled back');
  }

  /** Each version's requests within the window ending now, and since this state began. */
  traffic(): VersionTraffic[] {
    const now = performance.now();
    return [...this.windows]
      .sort(([a], [b]) => a - b)
      .map(([version, window]) => {
        const histogram = [window.histogram(now)];
        return {
          version,
          ...window.counts(now),
          p50Ms: quantileMs(histogram, 0.5),
          p99Ms: quantileMs(histogram, 0.99),
          totalRequests: window.totalRequests,
          totalFailures: window.totalFailures,
        };
      });
  }
}
