/**
 * A model's configuration in our own terms, parsed from Triton's model-config JSON
 * (the snake_case fields of model_config.proto). Only what the server acts on is kept;
 * everything is checked here so later stages can trust it.
 */
import { fromConfigType, type DataType } from '../tensor/datatype';
import type { CudaOptions } from '../runtime/cuda-provider-options';
import { parseCudaOptions } from './accelerator-config';
import { isObject, nonNegativeInt, positiveInt, type Fail, type Json } from './config-json';
import { instanceDevices, parseInstanceGroup, type InstanceGroup } from './instance-group-config';
import { parseInputStatistics, parseInputValidation, type InputStatistics, type InputValidation } from './input-rules-config';
import { parseEnsembleSteps, type EnsembleStep } from './ensemble-config';
import { parseEventLoop, type EventLoopConfig } from './event-loop-config';
import { parseLabelFile } from './label-file-config';
import { parseReshape } from './reshape-config';
import { parseSessionSettings, type SessionSettings } from './session-config';
import { refuseUnsupported } from './unsupported-config';
import { parseModelWarmup, type WarmupSample } from './warmup-config';

export interface TensorSpec {
  readonly name: string;
  readonly datatype: DataType;
  /** Without the batch dimension when maxBatchSize > 0; -1 marks a variable dimension. */
  readonly dims: readonly number[];
  /** The dims the model itself has (Triton's reshape, fixed, without the batch dimension); absent: `dims`. */
  readonly reshape?: readonly number[];
  /** Outputs only: the file of class labels in the model's folder (label_filename), and its lines once the version loads (labels.ts). */
  readonly labelFile?: string;
  readonly labels?: readonly string[];
  /** Inputs only, and only when config.json sets rules that check something. */
  readonly validation?: InputValidation;
  /** Inputs only: from config.json, or the server's default for a 2-D float input; absent when off once complete (auto-config.ts). */
  readonly statistics?: InputStatistics;
}

export type TimeoutAction = 'REJECT' | 'DELAY';

export interface QueuePolicy {
  /** 0 in Triton means unbounded; we replace it with the server's default bound. */
  readonly maxQueueSize: number;
  readonly defaultTimeoutMicros: number;
  readonly allowTimeoutOverride: boolean;
  readonly timeoutAction: TimeoutAction;
}

export interface DynamicBatching {
  readonly maxQueueDelayMicros: number;
  readonly preferredBatchSizes: readonly number[];
  readonly preserveOrdering: boolean;
  /** 0 means priorities are off: every request is level 1. */
  readonly priorityLevels: number;
  readonly defaultPriorityLevel: number;
  readonly defaultQueuePolicy: QueuePolicy;
  readonly priorityQueuePolicy: ReadonlyMap<number, QueuePolicy>;
}

export type VersionPolicy =
  | { readonly kind: 'latest'; readonly numVersions: number }
  | { readonly kind: 'all' }
  | { readonly kind: 'specific'; readonly versions: readonly number[] };

export interface ModelConfig {
  readonly name: string;
  /** 'ensemble': a pipeline of other models (`ensemble`), with no model file or instances of its own. */
  readonly platform: 'onnxruntime_onnx' | 'ensemble';
  readonly maxBatchSize: number;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly versionPolicy: VersionPolicy;
  /** Instances in all: instance_group's count, times the GPUs listed for KIND_GPU. */
  readonly instanceCount: number;
  readonly instanceGroup: InstanceGroup;
  /** The CUDA provider options config.json asks for (accelerator-config.ts); empty: none. */
  readonly cudaOptions: CudaOptions;
  /** Absent: one request per run. */
  readonly dynamicBatching: DynamicBatching | undefined;
  /** Triton's model_warmup samples; empty: the automatic, best-effort warm-up. */
  readonly warmup: readonly WarmupSample[];
  /** Absent: the sessions run on worker threads (event-loop-config.ts). */
  readonly eventLoop?: EventLoopConfig;
  /** Triton's onnxruntime-backend session settings (session-config.ts); absent or empty: the server's runtime defaults. */
  readonly session?: SessionSettings;
  /** The file the configuration was read from, for the errors found once the ONNX file is open; absent: config.json or none. */
  readonly configFile?: string;
  /** Ensembles only: the steps, in the order written (ensemble-config.ts). */
  readonly ensemble?: readonly EnsembleStep[];
}

export class ModelConfigError extends Error {
  /** `file`: the configuration file the problem is in (config.json or config.pbtxt). */
  constructor(model: string, message: string, file = 'config.json') {
    super(`model '${model}' ${file}: ${message}`);
    this.name = 'ModelConfigError';
  }
}

/**
 * Priority levels a model may have. Each is a queue of its own in every version's scheduler, and
 * forming a batch looks at each level: 20,000,000 levels took a load 44 s of the event loop and
 * 2.2 GB, and every request 1.5 s. Triton sets no bound; models use a handful.
 */
export const MAX_PRIORITY_LEVELS = 1000;

const PLATFORMS = new Set(['onnxruntime_onnx', 'ensemble', '']);
const BACKENDS = new Set(['onnxruntime', '']);

/** The parts of a config.json that the ONNX file may fill in (auto-config) are left undefined. */
export interface PartialModelConfig extends Omit<ModelConfig, 'inputs' | 'outputs' | 'maxBatchSize'> {
  readonly inputs: readonly TensorSpec[] | undefined;
  readonly outputs: readonly TensorSpec[] | undefined;
  readonly maxBatchSize: number | undefined;
}

export function parseModelConfig(model: string, json: unknown, defaultMaxQueueSize: number, configFile?: string): PartialModelConfig {
  const fail = (message: string): never => {
    throw new ModelConfigError(model, message, configFile);
  };
  if (!isObject(json)) fail('must be a JSON object');
  const c = json as Json;
  if (c.name !== undefined && c.name !== model) fail(`name '${String(c.name)}' does not match the folder name`);
  if (c.platform !== undefined && !PLATFORMS.has(String(c.platform))) fail(`platform '${String(c.platform)}' is not served here (only onnxruntime_onnx and ensemble)`);
  const ensemble = c.platform === 'ensemble';
  if (c.backend !== undefined && !(ensemble ? c.backend === '' : BACKENDS.has(String(c.backend)))) {
    fail(`backend '${String(c.backend)}' is not served here (${ensemble ? 'an ensemble has none' : 'only onnxruntime'})`);
  }
  refuseUnsupported(c, fail);

  const maxBatchSize = c.max_batch_size === undefined ? undefined : nonNegativeInt(c.max_batch_size, 'max_batch_size', fail);
  const tensors = (key: 'input' | 'output'): TensorSpec[] | undefined => {
    const list = c[key];
    if (list === undefined) return undefined;
    if (!Array.isArray(list)) return fail(`${key} must be a list`);
    return list.map((t: unknown, i: number) => parseTensorSpec(t, key, `${key}[${i}]`, fail));
  };
  if (ensemble) return parseEnsemble(model, c, tensors('input'), tensors('output'), fail, configFile);

  const instanceGroup = parseInstanceGroup(c.instance_group, fail);
  const instanceCount = instanceDevices(instanceGroup).length;

  return {
    name: model,
    platform: 'onnxruntime_onnx',
    maxBatchSize,
    inputs: tensors('input'),
    outputs: tensors('output'),
    versionPolicy: parseVersionPolicy(c.version_policy, fail),
    instanceCount,
    instanceGroup,
    cudaOptions: parseCudaOptions(c.optimization, c.parameters, fail),
    dynamicBatching: c.dynamic_batching === undefined ? undefined : parseDynamicBatching(c.dynamic_batching, defaultMaxQueueSize, fail),
    warmup: parseModelWarmup(c.model_warmup, fail),
    eventLoop: parseEventLoop(c.parameters, instanceCount, fail),
    session: parseSessionSettings(c.optimization, c.parameters, fail),
    ...(configFile !== undefined && { configFile }),
  };
}

/**
 * An ensemble has no file to complete its configuration from: its inputs and outputs are written
 * out. Instances, batching and the session belong to its composing models.
 */
function parseEnsemble(model: string, c: Json, inputs: TensorSpec[] | undefined, outputs: TensorSpec[] | undefined, fail: Fail, configFile: string | undefined): PartialModelConfig {
  if (!inputs || inputs.length === 0) fail('an ensemble must list its input');
  if (!outputs || outputs.length === 0) fail('an ensemble must list its output');
  for (const t of [...inputs!, ...outputs!]) if (t.reshape) fail(`'${t.name}': reshape does not apply to an ensemble's tensors`);
  const steps = parseEnsembleSteps(c, inputs!.map((t) => t.name), outputs!.map((t) => t.name), fail);
  const instanceGroup = parseInstanceGroup(undefined, fail);
  return {
    name: model,
    platform: 'ensemble',
    maxBatchSize: c.max_batch_size === undefined ? 0 : nonNegativeInt(c.max_batch_size, 'max_batch_size', fail),
    inputs,
    outputs,
    versionPolicy: parseVersionPolicy(c.version_policy, fail),
    instanceCount: 0,
    instanceGroup,
    cudaOptions: parseCudaOptions(undefined, undefined, fail),
    dynamicBatching: undefined,
    warmup: [],
    ensemble: steps,
    ...(configFile !== undefined && { configFile }),
  };
}

function parseTensorSpec(t: unknown, kind: 'input' | 'output', where: string, fail: Fail): TensorSpec {
  if (!isObject(t)) return fail(`${where} must be an object`);
  const spec = t as Json;
  if (typeof spec.name !== 'string' || spec.name === '') fail(`${where}.name must be a non-empty string`);
  const datatype = fromConfigType(String(spec.data_type));
  if (!datatype) fail(`${where}.data_type '${String(spec.data_type)}' is not a known TYPE_*`);
  if (!Array.isArray(spec.dims)) fail(`${where}.dims must be a list`);
  const dims = (spec.dims as unknown[]).map((d) => {
    const n = Number(d);
    if (!Number.isInteger(n) || n < -1) fail(`${where}.dims entries must be integers >= -1`);
    return n;
  });
  const reshape = spec.reshape === undefined ? undefined : parseReshape(spec.reshape, dims, where, fail);
  const parsed: TensorSpec = { name: spec.name as string, datatype: datatype as DataType, dims, ...(reshape && { reshape }) };
  if (kind === 'output') {
    for (const key of ['validation', 'statistics']) if (spec[key] !== undefined) fail(`${where}.${key} applies to inputs only`);
    return spec.label_filename === undefined ? parsed : { ...parsed, labelFile: parseLabelFile(spec.label_filename, where, fail) };
  }
  const validation = spec.validation === undefined ? undefined : parseInputValidation(spec.validation, parsed.datatype, where, fail);
  const statistics = spec.statistics === undefined ? undefined : parseInputStatistics(spec.statistics, parsed.datatype, where, fail);
  // Absent rather than undefined, so a spec without rules equals the plain { name, datatype, dims }.
  return { ...parsed, ...(validation && { validation }), ...(statistics && { statistics }) };
}

function parseVersionPolicy(value: unknown, fail: Fail): VersionPolicy {
  if (value === undefined) return { kind: 'latest', numVersions: 1 };
  if (!isObject(value)) return fail('version_policy must be an object');
  const v = value as Json;
  if (v.all !== undefined) return { kind: 'all' };
  if (isObject(v.latest)) {
    const n = (v.latest as Json).num_versions;
    return { kind: 'latest', numVersions: n === undefined ? 1 : positiveInt(n, 'version_policy.latest.num_versions', fail) };
  }
  if (isObject(v.specific) && Array.isArray((v.specific as Json).versions)) {
    const versions = ((v.specific as Json).versions as unknown[]).map((n) => positiveInt(n, 'version_policy.specific.versions', fail));
    return { kind: 'specific', versions };
  }
  return fail('version_policy must hold one of latest, all, specific');
}

function parseQueuePolicy(value: unknown, where: string, defaultMaxQueueSize: number, fail: Fail): QueuePolicy {
  const q = (value ?? {}) as Json;
  if (!isObject(q)) fail(`${where} must be an object`);
  const timeoutAction = q.timeout_action === undefined ? 'REJECT' : String(q.timeout_action);
  if (timeoutAction !== 'REJECT' && timeoutAction !== 'DELAY') fail(`${where}.timeout_action must be REJECT or DELAY`);
  const size = q.max_queue_size === undefined ? 0 : nonNegativeInt(q.max_queue_size, `${where}.max_queue_size`, fail);
  return {
    maxQueueSize: size === 0 ? defaultMaxQueueSize : size,
    defaultTimeoutMicros: q.default_timeout_microseconds === undefined ? 0 : nonNegativeInt(q.default_timeout_microseconds, `${where}.default_timeout_microseconds`, fail),
    allowTimeoutOverride: q.allow_timeout_override === true,
    timeoutAction: timeoutAction as TimeoutAction,
  };
}

function parseDynamicBatching(value: unknown, defaultMaxQueueSize: number, fail: Fail): DynamicBatching {
  if (!isObject(value)) return fail('dynamic_batching must be an object');
  const d = value as Json;
  const preferred = d.preferred_batch_size === undefined ? [] : d.preferred_batch_size;
  if (!Array.isArray(preferred)) fail('dynamic_batching.preferred_batch_size must be a list');
  const priorityLevels = d.priority_levels === undefined ? 0 : nonNegativeInt(d.priority_levels, 'dynamic_batching.priority_levels', fail);
  if (priorityLevels > MAX_PRIORITY_LEVELS) fail(`dynamic_batching.priority_levels ${priorityLevels} is above ${MAX_PRIORITY_LEVELS}, the most a model may have (each level is a queue of its own)`);
  const defaultPriorityLevel = d.default_priority_level === undefined ? 0 : nonNegativeInt(d.default_priority_level, 'dynamic_batching.default_priority_level', fail);
  if (priorityLevels > 0 && (defaultPriorityLevel < 1 || defaultPriorityLevel > priorityLevels)) {
    fail(`dynamic_batching.default_priority_level must be within 1..${priorityLevels}`);
  }
  const defaultQueuePolicy = parseQueuePolicy(d.default_queue_policy, 'dynamic_batching.default_queue_policy', defaultMaxQueueSize, fail);
  const perLevel = new Map<number, QueuePolicy>();
  const rawPerLevel = d.priority_queue_policy ?? {};
  if (!isObject(rawPerLevel)) fail('dynamic_batching.priority_queue_policy must be an object keyed by level');
  for (const [level, policy] of Object.entries(rawPerLevel as Json)) {
    const n = positiveInt(level, 'dynamic_batching.priority_queue_policy key', fail);
    if (n > priorityLevels) fail(`dynamic_batching.priority_queue_policy level ${n} exceeds priority_levels`);
    perLevel.set(n, parseQueuePolicy(policy, `dynamic_batching.priority_queue_policy.${level}`, defaultMaxQueueSize, fail));
  }
  return {
    maxQueueDelayMicros: d.max_queue_delay_microseconds === undefined ? 0 : nonNegativeInt(d.max_queue_delay_microseconds, 'dynamic_batching.max_queue_delay_microseconds', fail),
    preferredBatchSizes: [...new Set((preferred as unknown[]).map((n) => positiveInt(n, 'dynamic_batching.preferred_batch_size', fail)))].sort((a, b) => a - b),
    preserveOrdering: d.preserve_ordering === true,
    priorityLevels,
    defaultPriorityLevel,
    defaultQueuePolicy,
    priorityQueuePolicy: perLevel,
  };
}
