/**
 * The `rollout` block of config.json: how requests that pin no version are split between a
 * model's versions. Not part of Triton's ModelConfig, so parsed on its own; the guard and shadow
 * fields are checked and kept for the slices that act on them.
 */
import { isObject, positiveInt, type Fail, type Json } from './config-json';

export interface RolloutGuard {
  readonly canary: number;
  readonly maxErrorRate: number;
  readonly maxP99Ratio: number;
  readonly minRequests: number;
  readonly windowSeconds: number;
}

export interface RolloutShadow {
  readonly version: number;
  readonly fraction: number;
}

export interface RolloutConfig {
  /** Version to weight, ascending by version; a version not named gets no traffic. */
  readonly weights: ReadonlyMap<number, number>;
  /** The string request parameter whose value picks a version by stable hash; undefined: none. */
  readonly stickyParameter: string | undefined;
  readonly guard: RolloutGuard | undefined;
  readonly shadow: RolloutShadow | undefined;
}

/** Parameters the server already reads for their own meaning. */
const RESERVED_PARAMETERS = new Set(['priority', 'timeout']);

export function parseRollout(value: unknown, fail: Fail): RolloutConfig | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) return fail('rollout must be an object');
  if (!isObject(value.weights)) return fail('rollout.weights must be an object of version to weight');
  const entries = Object.entries(value.weights);
  if (entries.length === 0) fail('rollout.weights must name at least one version');
  const weights = new Map<number, number>();
  let total = 0;
  for (const [name, w] of entries) {
    const version = versionName(name, `rollout.weights key '${name}'`, fail);
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) fail(`rollout.weights.${name} must be a number >= 0`);
    weights.set(version, w as number);
    total += w as number;
  }
  if (total <= 0) fail('rollout.weights must give some version a weight > 0');

  const sticky = value.sticky_parameter;
  if (sticky !== undefined && (typeof sticky !== 'string' || sticky === '')) fail('rollout.sticky_parameter must be a non-empty string');
  if (typeof sticky === 'string' && RESERVED_PARAMETERS.has(sticky)) fail(`rollout.sticky_parameter '${sticky}' is a parameter the server reads for its own meaning`);
  return {
    weights: new Map([...weights].sort(([a], [b]) => a - b)),
    stickyParameter: sticky as string | undefined,
    guard: value.guard === undefined ? undefined : parseGuard(value.guard, fail),
    shadow: value.shadow === undefined ? undefined : parseShadow(value.shadow, fail),
  };
}

/** Every version the rollout names, for the check that each is one the load serves. */
export function namedVersions(rollout: RolloutConfig): { readonly key: string; readonly version: number }[] {
  const named = [...rollout.weights.keys()].map((version) => ({ key: 'rollout weights name', version }));
  if (rollout.guard) named.push({ key: 'rollout.guard.canary names', version: rollout.guard.canary });
  if (rollout.shadow) named.push({ key: 'rollout.shadow.version names', version: rollout.shadow.version });
  return named;
}

function parseGuard(value: unknown, fail: Fail): RolloutGuard {
  if (!isObject(value)) return fail('rollout.guard must be an object');
  const g = value as Json;
  const maxP99Ratio = number(g.max_p99_ratio, 'rollout.guard.max_p99_ratio', fail);
  if (maxP99Ratio <= 0) fail('rollout.guard.max_p99_ratio must be > 0');
  const windowSeconds = number(g.window_seconds, 'rollout.guard.window_seconds', fail);
  if (windowSeconds <= 0) fail('rollout.guard.window_seconds must be > 0');
  return {
    canary: versionName(g.canary, 'rollout.guard.canary', fail),
    maxErrorRate: fraction(g.max_error_rate, 'rollout.guard.max_error_rate', fail),
    maxP99Ratio,
    minRequests: positiveInt(g.min_requests, 'rollout.guard.min_requests', fail),
    windowSeconds,
  };
}

function parseShadow(value: unknown, fail: Fail): RolloutShadow {
  if (!isObject(value)) return fail('rollout.shadow must be an object');
  return {
    version: versionName(value.version, 'rollout.shadow.version', fail),
    fraction: fraction(value.fraction, 'rollout.shadow.fraction', fail),
  };
}

/** A version as config.json names it: "2" (or 2), a positive integer. */
function versionName(value: unknown, key: string, fail: Fail): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 1) {
    return fail(`${key} must be a version number >= 1`);
  }
  return Number(text);
}

function number(value: unknown, key: string, fail: Fail): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fail(`${key} must be a number`);
  return value;
}

function fraction(value: unknown, key: string, fail: Fail): number {
  const n = number(value, key, fail);
  if (n < 0 || n > 1) fail(`${key} must be within [0, 1]`);
  return n;
}
