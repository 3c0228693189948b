import { expect } from 'chai';
import { completeConfig } from '../src/repository/auto-config';
import { selectVersions } from '../src/repository/discover';
import { ModelConfigError, parseModelConfig } from '../src/repository/model-config';
import type { IoMetadata } from '../src/runtime/worker-protocol';
import { modelConfigError } from './support/model-config-error';

const QUEUE = 1024;
const DEFAULTS = { maxBatchSize: 4, maxQueueSize: QUEUE, statisticsColumns: 0 };
const batchedIo: { inputs: IoMetadata[]; outputs: IoMetadata[] } = {
  inputs: [{ name: 'x', type: 'float32', shape: [-1, 8] }],
  outputs: [{ name: 'y', type: 'float32', shape: [-1, 1] }],
};

const parseError = (json: unknown): string => modelConfigError(json, QUEUE);

describe('model config.json parsing', () => {
  it('reads Triton fields: max_batch_size, tensors, instance_group and dynamic_batching', () => {
    const c = parseModelConfig(
      'm',
      {
        name: 'm',
        platform: 'onnxruntime_onnx',
        max_batch_size: 16,
        input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [8] }],
        output: [{ name: 'y', data_type: 'TYPE_STRING', dims: ['-1'] }],
        instance_group: [{ count: 2, kind: 'KIND_CPU' }],
        dynamic_batching: {
          max_queue_delay_microseconds: '500',
          preferred_batch_size: [8, 4],
          priority_levels: 2,
          default_priority_level: 2,
          default_queue_policy: { max_queue_size: 10, timeout_action: 'DELAY', default_timeout_microseconds: 100, allow_timeout_override: true },
          priority_queue_policy: { '1': { max_queue_size: 3 } },
        },
      },
      QUEUE,
    );
    expect(c.maxBatchSize).to.equal(16);
    expect(c.inputs).to.deep.equal([{ name: 'x', datatype: 'FP32', dims: [8] }]);
    expect(c.outputs).to.deep.equal([{ name: 'y', datatype: 'BYTES', dims: [-1] }]);
    expect(c.instanceCount).to.equal(2);
    const db = c.dynamicBatching!;
    expect(db.maxQueueDelayMicros).to.equal(500);
    expect(db.preferredBatchSizes).to.deep.equal([4, 8]);
    expect(db.defaultQueuePolicy).to.deep.equal({ maxQueueSize: 10, defaultTimeoutMicros: 100, allowTimeoutOverride: true, timeoutAction: 'DELAY' });
    expect(db.priorityQueuePolicy.get(1)!.maxQueueSize).to.equal(3);
  });

  it('replaces an unbounded (0) max_queue_size with the server default bound', () => {
    const c = parseModelConfig('m', { dynamic_batching: { default_queue_policy: { max_queue_size: 0 } } }, QUEUE);
    expect(c.dynamicBatching!.defaultQueuePolicy.maxQueueSize).to.equal(QUEUE);
  });

  it('defaults the version policy to latest 1 and reads all and specific', () => {
    expect(parseModelConfig('m', {}, QUEUE).versionPolicy).to.deep.equal({ kind: 'latest', numVersions: 1 });
    expect(parseModelConfig('m', { version_policy: { all: {} } }, QUEUE).versionPolicy).to.deep.equal({ kind: 'all' });
    expect(parseModelConfig('m', { version_policy: { specific: { versions: [1, 3] } } }, QUEUE).versionPolicy).to.deep.equal({ kind: 'specific', versions: [1, 3] });
  });

  it('rejects each bad field with a message naming it', () => {
    expect(parseError({ name: 'other' })).to.contain("name 'other'");
    expect(parseError({ platform: 'tensorflow_savedmodel' })).to.contain('platform');
    expect(parseError({ max_batch_size: -1 })).to.contain('max_batch_size');
    expect(parseError({ input: [{ name: 'x', data_type: 'TYPE_COMPLEX', dims: [1] }] })).to.contain('input[0].data_type');
    expect(parseError({ input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [-2] }] })).to.contain('input[0].dims');
    expect(parseError({ instance_group: [{ count: 0 }] })).to.contain('instance_group[0].count');
    expect(parseError({ dynamic_batching: { priority_levels: 2, default_priority_level: 3 } })).to.contain('default_priority_level');
    expect(parseError({ dynamic_batching: { default_queue_policy: { timeout_action: 'DROP' } } })).to.contain('timeout_action');
    // A queue per level, each looked at for every batch: 20,000,000 levels made every request take 1.5 s.
    expect(parseError({ dynamic_batching: { priority_levels: 20_000_000, default_priority_level: 1 } })).to.contain('dynamic_batching.priority_levels 20000000 is above 1000');
    expect(parseModelConfig('m', { dynamic_batching: { priority_levels: 1000, default_priority_level: 1000 } }, QUEUE).dynamicBatching?.priorityLevels).to.equal(1000);
    expect(parseError({ sequence_batching: {} })).to.contain('sequence_batching');
  });

  it("refuses, by name, Triton's fields that would change what the model computes or how it is called, and ignores those that only tune Triton", () => {
    const tensor = { name: 'x', data_type: 'TYPE_FP32', dims: [4] };
    const refusals: [object, string][] = [
      [{ ensemble_scheduling: {} }, "ensemble_scheduling needs platform 'ensemble'"],
      [{ batch_input: [{ kind: 'BATCH_ELEMENT_COUNT' }] }, 'batch_input is not supported'],
      [{ batch_output: [{ kind: 'BATCH_SCATTER_WITH_INPUT_SHAPE' }] }, 'batch_output is not supported'],
      [{ default_model_filename: 'resnet.onnx' }, "default_model_filename 'resnet.onnx' is not supported: name each version's file model.onnx"],
      [{ model_transaction_policy: { decoupled: true } }, 'model_transaction_policy.decoupled is not supported'],
      [{ input: [{ ...tensor, allow_ragged_batch: true }] }, 'input[0].allow_ragged_batch is not supported'],
      [{ input: [{ ...tensor, is_shape_tensor: true }] }, 'input[0].is_shape_tensor is not supported'],
      [{ input: [{ ...tensor, optional: true }] }, 'input[0].optional is not supported'],
      [{ output: [{ ...tensor, is_shape_tensor: true }] }, 'output[0].is_shape_tensor is not supported'],
    ];
    for (const [json, message] of refusals) expect(parseError(json), JSON.stringify(json)).to.contain(`model 'm' config.json: ${message}`);
    const tuning = {
      default_model_filename: 'model.onnx',
      batch_input: [],
      model_transaction_policy: { decoupled: false },
      response_cache: { enable: true },
      model_operations: { op_library_filename: [] },
      input: [{ ...tensor, format: 'FORMAT_NCHW', optional: false, allow_ragged_batch: false }],
      output: [{ ...tensor, label_filename: 'labels.txt', is_shape_tensor: false }],
    };
    expect(parseModelConfig('m', tuning, QUEUE).inputs).to.deep.equal([{ name: 'x', datatype: 'FP32', dims: [4] }]);
  });

  it("reads Triton's reshape as the model's own dims, working out its -1, and refuses one that cannot hold dims", () => {
    const reshaped = (dims: number[], shape: unknown, kind: 'input' | 'output' = 'input') => ({ [kind]: [{ name: 'x', data_type: 'TYPE_FP32', dims, reshape: { shape } }] });
    expect(parseModelConfig('m', reshaped([1000], [1000, 1, 1]), QUEUE).inputs).to.deep.equal([{ name: 'x', datatype: 'FP32', dims: [1000], reshape: [1000, 1, 1] }]);
    expect(parseModelConfig('m', reshaped([64], [1, -1, 8], 'output'), QUEUE).outputs![0]!.reshape).to.deep.equal([1, 8, 8]);
    expect(parseModelConfig('m', reshaped([1], []), QUEUE).inputs![0]!.reshape, 'a batched scalar: dims [1], the model [batch]').to.deep.equal([]);
    expect(parseModelConfig('m', { input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [1], reshape: {} }] }, QUEUE).inputs![0]!.reshape).to.deep.equal([]);
    expect(parseError(reshaped([-1, 4], [4, -1]))).to.contain('input[0].reshape needs fixed dims, not [-1,4]');
    expect(parseError(reshaped([12], [-1, 2, -1]))).to.contain('input[0].reshape.shape may have one -1, not 2');
    expect(parseError(reshaped([12], [5, -1]))).to.contain('input[0].reshape.shape [5,-1] cannot hold the 12 elements of dims [12]');
    expect(parseError(reshaped([12], [0, -1]))).to.contain('cannot hold the 12 elements');
    expect(parseError(reshaped([12], [3, 5], 'output'))).to.contain('output[0].reshape.shape [3,5] holds 15 elements, dims [12] 12');
    expect(parseError(reshaped([12], [3, 'x']))).to.contain('input[0].reshape.shape entries must be integers >= -1');
    expect(parseError(reshaped([12], 12))).to.contain('input[0].reshape.shape must be a list');
    expect(parseError({ input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [12], reshape: [12] }] })).to.contain('input[0].reshape must be an object');
  });

  it('reads run_on_event_loop and its limit from Triton\'s parameters map, leaves other parameters alone, and refuses bad ones', () => {
    const on = (extra: object = {}) => ({ parameters: { run_on_event_loop: { string_value: 'true' }, ...extra } });
    expect(parseModelConfig('m', {}, QUEUE).eventLoop).to.equal(undefined);
    expect(parseModelConfig('m', { parameters: { backend_thing: { string_value: 'x' } } }, QUEUE).eventLoop).to.equal(undefined);
    expect(parseModelConfig('m', { parameters: { run_on_event_loop: { string_value: 'false' } } }, QUEUE).eventLoop).to.equal(undefined);
    expect(parseModelConfig('m', on(), QUEUE).eventLoop).to.deep.equal({ limitUs: 1000, loneOnly: false });
    expect(parseModelConfig('m', on({ event_loop_run_limit_us: { string_value: '250' } }), QUEUE).eventLoop).to.deep.equal({ limitUs: 250, loneOnly: false });
    // "lone": the workers stay, any number of them, and a session on the event loop takes lone requests.
    const lone = { parameters: { run_on_event_loop: { string_value: 'lone' }, event_loop_run_limit_us: { string_value: '300' } }, instance_group: [{ count: 2 }] };
    expect(parseModelConfig('m', lone, QUEUE).eventLoop).to.deep.equal({ limitUs: 300, loneOnly: true });
    expect(parseError({ parameters: { run_on_event_loop: { string_value: 'yes' } } })).to.contain('parameters.run_on_event_loop must be "true", "lone" or "false", not "yes"');
    expect(parseError({ parameters: { run_on_event_loop: true } })).to.contain('parameters.run_on_event_loop must be an object with a string_value');
    expect(parseError(on({ event_loop_run_limit_us: { string_value: '1ms' } }))).to.contain('parameters.event_loop_run_limit_us');
    expect(parseError(on({ event_loop_run_limit_us: { string_value: '0' } }))).to.contain('parameters.event_loop_run_limit_us must be an integer >= 1');
    expect(parseError({ parameters: { event_loop_run_limit_us: { string_value: '100' } } })).to.contain('needs parameters.run_on_event_loop "true" or "lone"');
    expect(parseError({ ...on(), instance_group: [{ count: 2 }] })).to.contain('instance_group[0].count must be 1');
    expect(parseError({ parameters: [] })).to.contain('parameters must be an object');
  });
});

describe('auto-config from the ONNX file', () => {
  it('makes a model with a variable first dimension batch, with the default max_batch_size and dynamic batching', () => {
    const c = completeConfig(parseModelConfig('m', {}, QUEUE), false, batchedIo, DEFAULTS);
    expect(c.maxBatchSize).to.equal(4);
    expect(c.inputs).to.deep.equal([{ name: 'x', datatype: 'FP32', dims: [8] }]);
    expect(c.outputs).to.deep.equal([{ name: 'y', datatype: 'FP32', dims: [1] }]);
    expect(c.dynamicBatching).to.not.equal(undefined);
  });

  it('serves a model with a fixed first dimension unbatched, with its full shape', () => {
    const io = { inputs: [{ name: 'x', type: 'int64', shape: [3, -1] }], outputs: [{ name: 'y', type: 'bool', shape: [3] }] };
    const c = completeConfig(parseModelConfig('m', {}, QUEUE), false, io, DEFAULTS);
    expect(c.maxBatchSize).to.equal(0);
    expect(c.inputs).to.deep.equal([{ name: 'x', datatype: 'INT64', dims: [3, -1] }]);
    expect(c.dynamicBatching).to.equal(undefined);
  });

  it("turns dynamic batching on for a config without a scheduler when max_batch_size is above 1, as Triton's auto-complete does, and only then", () => {
    const complete = (json: object) => completeConfig(parseModelConfig('m', json, QUEUE), true, batchedIo, DEFAULTS);
    expect(complete({ max_batch_size: 8 }).dynamicBatching?.maxQueueDelayMicros).to.equal(0);
    expect(complete({}).dynamicBatching, 'max_batch_size from the default, 4').to.not.equal(undefined);
    expect(complete({ max_batch_size: 1 }).dynamicBatching).to.equal(undefined);
    expect(complete({ max_batch_size: 0 }).dynamicBatching, 'written 0: no batching').to.equal(undefined);
    expect(complete({ max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: 50 } }).dynamicBatching?.maxQueueDelayMicros).to.equal(50);
  });

  it('refuses a config that contradicts the model', () => {
    const partial = (json: object) => parseModelConfig('m', json, QUEUE);
    expect(() => completeConfig(partial({ input: [{ name: 'x', data_type: 'TYPE_INT32', dims: [8] }] }), true, batchedIo, DEFAULTS)).to.throw(/'x' is FP32 in the model/);
    expect(() => completeConfig(partial({ input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [9] }] }), true, batchedIo, DEFAULTS)).to.throw(/dims \[9\]/);
    expect(() => completeConfig(partial({ input: [{ name: 'z', data_type: 'TYPE_FP32', dims: [8] }] }), true, batchedIo, DEFAULTS)).to.throw(/'x' is missing/);
    // With a reshape, the model's own dims are the reshape's, and clients' are free to differ.
    const reshaped = (shape: number[]) => partial({ input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [2, 4], reshape: { shape } }] });
    expect(completeConfig(reshaped([8]), true, batchedIo, DEFAULTS).inputs[0]).to.deep.include({ dims: [2, 4], reshape: [8] });
    expect(() => completeConfig(reshaped([4, 2]), true, batchedIo, DEFAULTS)).to.throw(ModelConfigError, "model 'm' config.json: input 'x' reshape [4,2] do not match the model's [8]");
    const fixed = { inputs: [{ name: 'x', type: 'float32', shape: [1, 8] }], outputs: [{ name: 'y', type: 'float32', shape: [1, 1] }] };
    expect(() => completeConfig(partial({ max_batch_size: 8 }), true, fixed, DEFAULTS)).to.throw(/variable first dimension/);
  });

  it("refuses a preferred batch size above max_batch_size, as Triton does, whether max_batch_size is written or the model's default", () => {
    const partial = (json: object) => parseModelConfig('m', json, QUEUE);
    expect(() => completeConfig(partial({ max_batch_size: 8, dynamic_batching: { preferred_batch_size: [4, 16] } }), true, batchedIo, DEFAULTS)).to.throw(
      ModelConfigError,
      'dynamic_batching.preferred_batch_size 16 is above max_batch_size 8',
    );
    expect(() => completeConfig(partial({ dynamic_batching: { preferred_batch_size: [5] } }), true, batchedIo, DEFAULTS)).to.throw(/preferred_batch_size 5 is above max_batch_size 4/);
    const kept = completeConfig(partial({ max_batch_size: 8, dynamic_batching: { preferred_batch_size: [8, 4, 8] } }), true, batchedIo, DEFAULTS);
    expect(kept.dynamicBatching?.preferredBatchSizes, 'sorted, each once').to.deep.equal([4, 8]);
  });
});

describe('version policy', () => {
  it('selects the latest N, all, or the listed versions that exist', () => {
    expect(selectVersions([1, 2, 5], { kind: 'latest', numVersions: 1 })).to.deep.equal([5]);
    expect(selectVersions([1, 2, 5], { kind: 'latest', numVersions: 2 })).to.deep.equal([2, 5]);
    expect(selectVersions([1, 2, 5], { kind: 'all' })).to.deep.equal([1, 2, 5]);
    expect(selectVersions([1, 2, 5], { kind: 'specific', versions: [2, 3] })).to.deep.equal([2]);
  });
});
