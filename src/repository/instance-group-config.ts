/**
 * Triton's `instance_group`: `kind` says where the instances run, `count` how many, and `gpus`
 * which CUDA devices: Triton places `count` instances on each listed GPU, and several instances
 * may share one. Several entries of one kind are combined (combine()).
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
  const entries = (groups as unknown[]).map((g, i) => parseEntry(g, `instance_group[${i}]`, fail));
  if (entries.length === 1) return checkTotal(entries[0]!, 'instance_group[0]', fail);
  return checkTotal(combine(entries, fail), 'instance_group', fail);
}

/**
 * Several entries of one kind, as Triton configurations write one per GPU: on the CPU their
 * counts add up; on GPUs they must share the count, which is per GPU, and list each GPU once.
 */
function combine(entries: readonly InstanceGroup[], fail: Fail): InstanceGroup {
  const kinds = [...new Set(entries.map((e) => e.kind))];
  if (kinds.length > 1) fail(`instance_group entries of different kinds (${kinds.join(', ')}) are not supported: one kind a model`);
  const [first] = entries;
  if (first!.kind !== 'KIND_GPU') return { kind: first!.kind, count: entries.reduce((n, e) => n + e.count, 0), gpus: [] };
  const counts = [...new Set(entries.map((e) => e.count))];
  if (counts.length > 1) fail(`instance_group entries on GPUs need one count, instances per GPU (they have ${counts.join(', ')})`);
  const gpus = entries.flatMap((e) => (e.gpus.length > 0 ? e.gpus : [0]));
  const repeated = gpus.find((id, i) => gpus.indexOf(id) !== i);
  if (repeated !== undefined) fail(`instance_group lists GPU ${repeated} in two entries (count sets the instances per GPU)`);
  return { kind: 'KIND_GPU', count: first!.count, gpus };
}

function parseEntry(g: unknown, where: string, fail: Fail): InstanceGroup {
  if (!isObject(g)) fail(`${where} must be an object`);
  const group = g as Json;
  const count = group.count === undefined ? 1 : positiveInt(group.count, `${where}.count`, fail);
  const kind = group.kind === undefined ? 'KIND_AUTO' : String(group.kind);
  if (!(INSTANCE_KINDS as readonly string[]).includes(kind)) fail(`${where}.kind '${kind}' is not supported (KIND_AUTO, KIND_CPU or KIND_GPU)`);
  if (group.gpus === undefined) return { kind: kind as InstanceKind, count, gpus: [] };
  if (kind !== 'KIND_GPU') fail(`${where}.gpus applies to kind KIND_GPU only, not ${kind}`);
  if (!Array.isArray(group.gpus)) fail(`${where}.gpus must be a list of GPU device ids`);
  const gpus = (group.gpus as unknown[]).map((id) => {
    if (typeof id !== 'number' && typeof id !== 'string') fail(`${where}.gpus entries must be integers >= 0`);
    return nonNegativeInt(id, `${where}.gpus entries`, fail);
  });
  const repeated = gpus.find((id, i) => gpus.indexOf(id) !== i);
  if (repeated !== undefined) fail(`${where}.gpus lists GPU ${repeated} twice (count sets the instances per GPU)`);
  return { kind: 'KIND_GPU', count, gpus };
}

function checkTotal(group: InstanceGroup, where: string, fail: Fail): InstanceGroup {
  const gpus = Math.max(1, group.gpus.length);
  const total = group.count * gpus;
  if (total > MAX_INSTANCES) fail(`${where}: ${total} instances (count ${group.count}${gpus > 1 ? ` on each of ${gpus} GPUs` : ''}): at most ${MAX_INSTANCES} a version, each a worker thread with its own session`);
  return group;
}

/** The CUDA device of each instance, in slot order: `count` on each listed GPU (device 0 when none is listed or the kind is not GPU). */
export function instanceDevices(group: InstanceGroup): number[] {
  const gpus = group.kind === 'KIND_GPU' && group.gpus.length > 0 ? group.gpus : [0];
  return gpus.flatMap((id) => new Array<number>(group.count).fill(id));
}
