/** Domain objects -> ModelConfigResponse and ModelStatisticsResponse messages. */
import type { ExecutionProvider } from '../config/schema';
import type { Duration } from '../observability/model-statistics';
import type { QueuePolicy, TensorSpec } from '../repository/model-config';
import type { WarmupSample } from '../repository/warmup-config';
import type { EnsembleStep } from '../repository/ensemble-config';
import type { ModelVersion, ServedVersion } from '../repository/model-version';
import { toConfigType } from '../tensor/datatype';

/** Triton's instance kind for the provider a version's sessions run on. */
const INSTANCE_KIND: Readonly<Record<ExecutionProvider, string>> = { cuda: 'KIND_GPU', cpu: 'KIND_CPU' };

/** Where the instances really run: on CUDA, Triton's count per GPU and the GPUs; on the CPU, all instances. */
function instanceGroupMessage(version: ModelVersion): Record<string, unknown> {
  const { config, provider, deviceIds } = version;
  const kind = INSTANCE_KIND[provider];
  if (provider !== 'cuda') return { name: config.name, count: config.instanceCount, kind };
  return { name: config.name, count: Math.max(1, Math.round(version.pool.size / deviceIds.length)), kind, gpus: deviceIds };
}

function tensorMessage(t: TensorSpec): Record<string, unknown> {
  return {
    name: t.name,
    data_type: toConfigType(t.datatype),
    dims: t.dims,
    ...(t.reshape && { reshape: { shape: t.reshape } }),
    ...(t.labelFile !== undefined && { label_filename: t.labelFile }),
  };
}

/** The effective configuration of one loaded version: instance_group.kind is where it really runs, not what config.json asked. */
export function modelConfigMessage(version: ServedVersion): Record<string, unknown> {
  const { config } = version;
  const db = config.dynamicBatching;
  const policy = (p: QueuePolicy) => ({
    timeout_action: p.timeoutAction,
    default_timeout_microseconds: p.defaultTimeoutMicros,
    allow_timeout_override: p.allowTimeoutOverride,
    max_queue_size: p.maxQueueSize,
  });
  const versionPolicy =
    config.versionPolicy.kind === 'latest'
      ? { latest: { num_versions: config.versionPolicy.numVersions } }
      : config.versionPolicy.kind === 'all'
        ? { all: {} }
        : { specific: { versions: config.versionPolicy.versions } };
  const common = {
    name: config.name,
    platform: config.platform,
    max_batch_size: config.maxBatchSize,
    version_policy: versionPolicy,
    input: config.inputs.map(tensorMessage),
    output: config.outputs.map(tensorMessage),
  };
  // As Triton reports one: no backend, instances or batcher of its own.
  if (version.kind === 'ensemble') return { ...common, ensemble_scheduling: { step: version.steps.map(stepMessage) } };
  return {
    ...common,
    backend: 'onnxruntime',
    instance_group: [instanceGroupMessage(version)],
    ...(db && {
      dynamic_batching: {
        preferred_batch_size: db.preferredBatchSizes,
        max_queue_delay_microseconds: db.maxQueueDelayMicros,
        preserve_ordering: db.preserveOrdering,
        priority_levels: db.priorityLevels,
        default_priority_level: db.defaultPriorityLevel,
        default_queue_policy: policy(db.defaultQueuePolicy),
        priority_queue_policy: Object.fromEntries([...db.priorityQueuePolicy].map(([level, p]) => [level, policy(p)])),
      },
    }),
    ...(config.warmup.length > 0 && { model_warmup: config.warmup.map(warmupMessage) }),
  };
}

function stepMessage(step: EnsembleStep): Record<string, unknown> {
  return {
    model_name: step.modelName,
    model_version: step.modelVersion,
    input_map: Object.fromEntries(step.inputMap),
    output_map: Object.fromEntries(step.outputMap),
  };
}

function warmupMessage(sample: WarmupSample): Record<string, unknown> {
  const inputs = sample.inputs.map(({ name, datatype, dims, data }) => {
    const source = data.kind === 'file' ? { input_data_file: data.file } : data.kind === 'zero' ? { zero_data: true } : { random_data: true };
    return [name, { data_type: toConfigType(datatype), dims, ...source }];
  });
  return { name: sample.name, batch_size: sample.batchSize, count: sample.runs, inputs: Object.fromEntries(inputs) };
}

const duration = (d: Duration) => ({ count: d.count, ns: Math.round(d.ns) });

export function modelStatisticsMessage(model: ServedVersion): Record<string, unknown> {
  const s = model.stats;
  return {
    name: model.name,
    version: String(model.version),
    last_inference: s.lastInference,
    inference_count: s.inferenceCount,
    execution_count: s.executionCount,
    inference_stats: {
      success: duration(s.success),
      fail: duration(s.fail),
      queue: duration(s.queue),
      compute_input: duration(s.computeInput),
      compute_infer: duration(s.computeInfer),
      compute_output: duration(s.computeOutput),
    },
    batch_stats: [...s.batchStats]
      .sort(([a], [b]) => a - b)
      .map(([size, b]) => ({
        batch_size: size,
        compute_input: duration(b.computeInput),
        compute_infer: duration(b.computeInfer),
        compute_output: duration(b.computeOutput),
      })),
  };
}
