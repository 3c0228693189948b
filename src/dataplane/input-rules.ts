/**
 * The `validation` rules of a model's config.json inputs, checked on a request's values after
 * validate-request has checked datatypes and shapes, before the request may queue, so that a bad
 * request fails alone instead of reaching a batch. It reads the typed views over the request's
 * raw little-endian contents in place (FP16 by bit pattern); a model without rules pays one lookup.
 */
import { InferenceError } from '../errors';
import type { InputValidation } from '../repository/input-rules-config';
import type { ModelConfig } from '../repository/model-config';
import { fp16IsNonFinite, fp16ToNumber } from '../tensor/float16';
import type { Tensor } from '../tensor/tensor';

interface GuardedInput {
  readonly name: string;
  readonly rule: InputValidation;
}

const guardedInputs = new WeakMap<ModelConfig, readonly GuardedInput[]>();

/** Throws INVALID_ARGUMENT naming the input, the first offending element and its value. */
export function checkInputRules(config: ModelConfig, inputs: readonly Tensor[]): void {
  let guarded = guardedInputs.get(config);
  if (!guarded) {
    guarded = config.inputs.flatMap((spec) => (spec.validation ? [{ name: spec.name, rule: spec.validation }] : []));
    guardedInputs.set(config, guarded);
  }
  for (const { name, rule } of guarded) {
    // validate-request has checked that every input is present once.
    for (const tensor of inputs) {
      if (tensor.name !== name) continue;
      const at = firstViolation(tensor, rule);
      if (at !== -1) throw violation(tensor, at, rule);
    }
  }
}

/** Flat index of the first element that breaks the rule; -1 when none does. */
export function firstViolation(tensor: Tensor, rule: InputValidation): number {
  const { min, max } = rule;
  switch (tensor.datatype) {
    case 'FP16':
      return firstFp16(tensor.data as Uint16Array, rule);
    case 'FP32':
    case 'FP64':
      // Two finite bounds already refuse NaN and the infinities.
      return rule.rejectNonFinite && (min === -Infinity || max === Infinity)
        ? firstNonFiniteOrOutside(tensor.data as Float32Array | Float64Array, min, max)
        : firstOutside(tensor.data as Float32Array | Float64Array, min, max);
    case 'INT64':
    case 'UINT64':
      return firstOutsideBig(tensor.data as BigInt64Array | BigUint64Array, min, max);
    default:
      // The config refuses rules on BYTES and BOOL; every other type is a plain number array.
      return firstOutside(tensor.data as ArrayLike<number>, min, max);
  }
}

/** `!(v >= min && v <= max)` rather than `v < min || v > max`: NaN is outside every range. */
function firstOutside(data: ArrayLike<number>, min: number, max: number): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(v >= min && v <= max)) return i;
  }
  return -1;
}

/** v - v is NaN exactly for NaN and the infinities. */
function firstNonFiniteOrOutside(data: Float32Array | Float64Array, min: number, max: number): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0 || v < min || v > max) return i;
  }
  return -1;
}

/** Comparing a bigint with a number is exact in JavaScript, whatever their sizes. */
function firstOutsideBig(data: BigInt64Array | BigUint64Array, min: number, max: number): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min || v > max) return i;
  }
  return -1;
}

function firstFp16(bits: Uint16Array, rule: InputValidation): number {
  const { rejectNonFinite, min, max } = rule;
  const bounded = min !== -Infinity || max !== Infinity;
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    if (rejectNonFinite && fp16IsNonFinite(b)) return i;
    if (bounded) {
      const v = fp16ToNumber(b);
      if (!(v >= min && v <= max)) return i;
    }
  }
  return -1;
}

function valueAt(tensor: Tensor, at: number): number | bigint {
  const value = (tensor.data as ArrayLike<number | bigint>)[at];
  return tensor.datatype === 'FP16' ? fp16ToNumber(value as number) : value;
}

/** INVALID_ARGUMENT quoting the value to the caller; the log gets the same words without it. */
function violation(tensor: Tensor, at: number, rule: InputValidation): InferenceError {
  const value = valueAt(tensor, at);
  const { shape } = tensor;
  const place = `input '${tensor.name}': ${shape.length === 2 ? `element ${at} (row ${Math.floor(at / shape[1])}, column ${at % shape[1]})` : `element ${at}`}`;
  let why: string;
  if (typeof value === 'number' && !Number.isFinite(value) && rule.rejectNonFinite) why = 'which validation.reject_non_finite refuses';
  else if (value < rule.min) why = `below validation.min ${rule.min}`;
  else if (value > rule.max) why = `above validation.max ${rule.max}`;
  else why = `outside validation's [${rule.min}, ${rule.max}]`;
  return new InferenceError('INVALID_ARGUMENT', `${place} is ${String(value)}, ${why}`, `${place} is a value ${why}`);
}
