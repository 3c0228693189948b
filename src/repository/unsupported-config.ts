/**
 * Fields of Triton's model configuration that change what a model computes or how it is called,
 * and that this server does not implement. They are refused by name when the model loads rather
 * than ignored, so that a repository brought from Triton never serves differently without a word.
 * Fields that only tune Triton itself (response_cache, model_operations, optimization.priority,
 * an input's format) are ignored.
 */
import { isObject, type Fail, type Json } from './config-json';

const SCHEDULERS = ['sequence_batching'];
const TENSOR_FLAGS: Record<'input' | 'output', readonly string[]> = {
  input: ['allow_ragged_batch', 'is_shape_tensor', 'optional'],
  output: ['is_shape_tensor'],
};

export function refuseUnsupported(c: Json, fail: Fail): void {
  for (const key of SCHEDULERS) if (c[key] !== undefined) fail(`${key} is not supported`);
  if (c.ensemble_scheduling !== undefined && c.platform !== 'ensemble') fail("ensemble_scheduling needs platform 'ensemble'");
  for (const key of ['batch_input', 'batch_output']) {
    if (Array.isArray(c[key]) && (c[key] as unknown[]).length > 0) fail(`${key} is not supported`);
  }
  const file = c.default_model_filename;
  if (file !== undefined && file !== '' && file !== 'model.onnx') {
    fail(`default_model_filename '${String(file)}' is not supported: name each version's file model.onnx`);
  }
  if (isObject(c.model_transaction_policy) && c.model_transaction_policy.decoupled === true) {
    fail('model_transaction_policy.decoupled is not supported: every request gets one response');
  }
  for (const kind of ['input', 'output'] as const) {
    const list = c[kind];
    if (!Array.isArray(list)) continue;
    list.forEach((t: unknown, i: number) => {
      if (!isObject(t)) return;
      for (const flag of TENSOR_FLAGS[kind]) if (t[flag] === true) fail(`${kind}[${i}].${flag} is not supported`);
    });
  }
}
