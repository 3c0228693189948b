/**
 * Completes a model's configuration from the ONNX file itself (Triton's auto-complete):
 * what config.json leaves out is read from the session's metadata, and what it states is
 * checked against the model so a wrong config fails at load, not at the first request.
 */
import { fromOrtType } from '../tensor/datatype';
import type { IoMetadata } from '../runtime/worker-protocol';
import { FLOAT_TYPES } from './input-rules-config';
import { ModelConfigError, type DynamicBatching, type ModelConfig, type PartialModelConfig, type TensorSpec } from './model-config';

export interface AutoConfigDefaults {
  readonly maxBatchSize: number;
  readonly maxQueueSize: number;
  /** Statistics columns for a 2-D float input whose entry sets none; 0: off. */
  readonly statisticsColumns: number;
}

export function completeConfig(
  partial: PartialModelConfig,
  hasConfigFile: boolean,
  io: { readonly inputs: readonly IoMetadata[]; readonly outputs: readonly IoMetadata[] },
  defaults: AutoConfigDefaults,
): ModelConfig {
  const fail = (message: string): never => {
    throw new ModelConfigError(partial.name, message, partial.configFile);
  };
  const all = [...io.inputs, ...io.outputs];
  const modelBatches = all.length > 0 && all.every((m) => m.shape.length >= 1 && m.shape[0] === -1);
  const maxBatchSize = partial.maxBatchSize ?? (modelBatches ? defaults.maxBatchSize : 0);
  if (maxBatchSize > 0 && !modelBatches) {
    fail(`max_batch_size ${maxBatchSize} needs a variable first dimension on every input and output of the model`);
  }
  // As Triton checks: a batch never grows past max_batch_size, so a larger preferred size is a mistake.
  const unreachable = partial.dynamicBatching?.preferredBatchSizes.find((size) => size > maxBatchSize);
  if (unreachable !== undefined) fail(`dynamic_batching.preferred_batch_size ${unreachable} is above max_batch_size ${maxBatchSize}`);

  const resolve = (kind: 'input' | 'output', declared: readonly TensorSpec[] | undefined, actual: readonly IoMetadata[]): TensorSpec[] => {
    const byName = new Map(actual.map((m) => [m.name, m]));
    if (!declared) return actual.map((m) => fromMetadata(kind, m, maxBatchSize, fail));
    if (kind === 'input') {
      for (const m of actual) {
        if (!declared.some((d) => d.name === m.name)) fail(`model input '${m.name}' is missing from input`);
      }
    }
    return declared.map((spec) => {
      const m = byName.get(spec.name);
      if (!m) return fail(`${kind} '${spec.name}' is not in the model (it has ${actual.map((a) => a.name).join(', ')})`);
      const derived = fromMetadata(kind, m, maxBatchSize, fail);
      if (derived.datatype !== spec.datatype) fail(`${kind} '${spec.name}' is ${derived.datatype} in the model, not ${spec.datatype}`);
      const own = spec.reshape ?? spec.dims;
      if (!dimsCompatible(own, derived.dims)) {
        const stated = spec.reshape ? `reshape [${own.join(',')}]` : `dims [${own.join(',')}]`;
        fail(`${kind} '${spec.name}' ${stated} do not match the model's [${derived.dims.join(',')}]`);
      }
      return spec;
    });
  };

  return {
    ...partial,
    maxBatchSize,
    inputs: resolve('input', partial.inputs, io.inputs).map((spec) => withStatistics(spec, maxBatchSize, defaults.statisticsColumns, fail)),
    outputs: resolve('output', partial.outputs, io.outputs),
    // Triton's auto-complete: a model that batches and names no scheduler gets the dynamic batcher,
    // except at max_batch_size 1, where a configuration file asks for one request per run.
    dynamicBatching: partial.dynamicBatching ?? (maxBatchSize > 1 || (!hasConfigFile && maxBatchSize > 0) ? defaultBatching(defaults.maxQueueSize) : undefined),
  };
}

function fromMetadata(kind: string, m: IoMetadata, maxBatchSize: number, fail: (m: string) => never): TensorSpec {
  const datatype = m.type === undefined ? undefined : fromOrtType(m.type);
  if (!datatype) return fail(`${kind} '${m.name}' has type ${m.type ?? 'non-tensor'}, which the protocol cannot carry`);
  return { name: m.name, datatype, dims: maxBatchSize > 0 ? m.shape.slice(1) : [...m.shape] };
}

/** Statistics are per column, so only of a 2-D input ([batch, columns] once batched); absent when off. */
function withStatistics(spec: TensorSpec, maxBatchSize: number, defaultColumns: number, fail: (m: string) => never): TensorSpec {
  const { statistics, ...rest } = spec;
  const twoD = spec.dims.length + (maxBatchSize > 0 ? 1 : 0) === 2;
  if (statistics && statistics.columns > 0 && !twoD) {
    fail(`input '${spec.name}' statistics need a 2-D input [rows, columns] (one dim with max_batch_size > 0, two with 0), not dims [${spec.dims.join(',')}] with max_batch_size ${maxBatchSize}`);
  }
  const columns = statistics ? statistics.columns : twoD && FLOAT_TYPES.has(spec.datatype) ? defaultColumns : 0;
  return columns > 0 ? { ...rest, statistics: { columns } } : rest;
}

/** A config dim may narrow a variable model dim, never contradict a fixed one. */
export function dimsCompatible(config: readonly number[], model: readonly number[]): boolean {
  if (config.length !== model.length) return false;
  return config.every((d, i) => model[i] === -1 || d === -1 || d === model[i]);
}

function defaultBatching(maxQueueSize: number): DynamicBatching {
  return {
    maxQueueDelayMicros: 0,
    preferredBatchSizes: [],
    preserveOrdering: false,
    priorityLevels: 0,
    defaultPriorityLevel: 0,
    defaultQueuePolicy: { maxQueueSize, defaultTimeoutMicros: 0, allowTimeoutOverride: false, timeoutAction: 'REJECT' },
    priorityQueuePolicy: new Map(),
  };
}
