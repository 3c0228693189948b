/**
 * Triton's `instance_group` (one group): `kind` says where the instances run, `count` how many,
 * and `gpus` which CUDA devices: Triton places `count` instances on each listed GPU, and several
 * instances may share one.
 */
import { isObject, nonNegativeInt, positiveInt, type Fail, type Json } from './config-json';

export const INSTANCE_KINDS = ['KIND_AUTO', 'KIND_CPU', 'KIND_GPU'] as const;
export type InstanceKind = (typeof INSTANCE_KINDS)[number];

export interface InstanceGroup {
  /** KIND_CPU: the CPU provider only; KIND_GPU: CUDA or no load; KIND_AUTO: the server's provider list with its fallback. */
  readonly kind: InstanceKind;
  /** Instances per GPU for KIND_GPU, instances in all otherwise. */
  readonly count: number;
  /** CUDA device ids, KIND_GPU only; empty: device 0 (the binding cannot count the GPUs, so "all of them", Triton's default, is not known here). */
  readonly gpus: readonly number[];
}

export const DEFAULT_INSTANCE_GROUP: InstanceGroup = { kind: 'KIND_AUTO', count: 1, gpus: [] };

/**
 * Instances a version may have. Each is a worker thread with its own session, about 10 MB before
 * the model (40 of stock_scorer: 476 MB), so a mistyped count would take the whole server's
 * memory instead of failing one load.
 */
export const MAX_INSTANCES = 256;

export function parseInstanceGroup(groups: unknown, fail: Fail): InstanceGroup {
  if (groups === undefined) return DEFAULT_INSTANCE_GROUP;
  if (!Array.isArray(groups) || groups.length === 0) fail('instance_group must be a non-empty list');
  const list = groups as unknown[];
  if (list.length > 1) fail('only one instance_group is supported');
  const g = list[0];
  if (!isObject(g)) fail('instance_group[0] must be an object');
  const group = g as Json;
  const count = group.count === undefined ? 1 : positiveInt(group.count, 'instance_group[0].count', fail);
  const kind = group.kind === undefined ? 'KIND_AUTO' : String(group.kind);
  if (!(INSTANCE_KINDS as readonly string[]).includes(kind)) fail(`instance_group[0].kind '${kind}' is not supported (KIND_AUTO, KIND_CPU or KIND_GPU)`);
  if (group.gpus === undefined) return { kind: kind as InstanceKind, count: checkTotal(count, 1, fail), gpus: [] };
  if (kind !== 'KIND_GPU') fail(`instance_group[0].gpus applies to kind KIND_GPU only, not ${kind}`);
  if (!Array.isArray(group.gpus)) fail('instance_group[0].gpus must be a list of GPU device ids');
  const gpus = (group.gpus as unknown[]).map((id) => {
    if (typeof id !== 'number' && typeof id !== 'string') fail('instance_group[0].gpus entries must be integers >= 0');
    return nonNegativeInt(id, 'instance_group[0].gpus entries', fail);
  });
  const repeated = gpus.find((id, i) => gpus.indexOf(id) !== i);
  if (repeated !== undefined) fail(`instance_group[0].gpus lists GPU ${repeated} twice (count sets the instances per GPU)`);
  return { kind: 'KIND_GPU', count: checkTotal(count, Math.max(1, gpus.length), fail), gpus };
}

function checkTotal(count: number, gpus: number, fail: Fail): number {
  const total = count * gpus;
  if (total > MAX_INSTANCES) fail(`instance_group[0]: ${total} instances (count ${count}${gpus > 1 ? ` on each of ${gpus} GPUs` : ''}): at most ${MAX_INSTANCES} a version, each a worker thread with its own session`);
  return count;
}

/** The CUDA device of each instance, in slot order: `count` on each listed GPU (device 0 when none is listed or the kind is not GPU). */
export function instanceDevices(group: InstanceGroup): number[] {
  const gpus = group.kind === 'KIND_GPU' && group.gpus.length > 0 ? group.gpus : [0];
  return gpus.flatMap((id) => new Array<number>(group.count).fill(id));
}
