/**
 * Our additions to a config.json input entry, beside the input they guard: `validation` (what a
 * request's values must satisfy) and `statistics` (per-column drift statistics). Not Triton
 * fields; both are off unless set. Whether an input is 2-D, which statistics need, is known only
 * once the ONNX file has completed the configuration (auto-config.ts).
 */
import { MAX_STATISTICS_COLUMNS } from '../observability/feature-statistics';
import type { DataType } from '../tensor/datatype';
import { isObject, nonNegativeInt, type Fail, type Json } from './config-json';

export interface InputValidation {
  /** Refuse NaN, +Inf and -Inf; float inputs only. */
  readonly rejectNonFinite: boolean;
  /** Inclusive bounds, which NaN is outside of; -Infinity / Infinity: unbounded. */
  readonly min: number;
  readonly max: number;
}

export interface InputStatistics {
  /** Per-column statistics for the first `columns` columns; 0 turns off the server's default for this input. */
  readonly columns: number;
}

export const FLOAT_TYPES: ReadonlySet<DataType> = new Set(['FP16', 'FP32', 'FP64']);
const VALIDATION_KEYS = new Set(['reject_non_finite', 'min', 'max']);
const STATISTICS_KEYS = new Set(['columns']);

/** Undefined when it checks nothing (an empty object), so the data plane can skip the input. */
export function parseInputValidation(value: unknown, datatype: DataType, where: string, fail: Fail): InputValidation | undefined {
  const key = `${where}.validation`;
  const v = knownKeys(value, key, VALIDATION_KEYS, fail);
  if (v.reject_non_finite !== undefined && typeof v.reject_non_finite !== 'boolean') fail(`${key}.reject_non_finite must be true or false`);
  const rejectNonFinite = v.reject_non_finite === true;
  if (rejectNonFinite && !FLOAT_TYPES.has(datatype)) fail(`${key}.reject_non_finite applies to FP16, FP32 and FP64 inputs, not ${datatype}`);
  const bounded = v.min !== undefined || v.max !== undefined;
  if (bounded && (datatype === 'BYTES' || datatype === 'BOOL')) fail(`${key}: min and max apply to numeric inputs, not ${datatype}`);
  const bound = (name: 'min' | 'max', none: number): number => {
    const b = v[name];
    if (b === undefined) return none;
    if (typeof b !== 'number' || !Number.isFinite(b)) fail(`${key}.${name} must be a finite number`);
    return b as number;
  };
  const min = bound('min', -Infinity);
  const max = bound('max', Infinity);
  if (min > max) fail(`${key}: min ${min} is greater than max ${max}`);
  return rejectNonFinite || bounded ? { rejectNonFinite, min, max } : undefined;
}

export function parseInputStatistics(value: unknown, datatype: DataType, where: string, fail: Fail): InputStatistics {
  const key = `${where}.statistics`;
  const s = knownKeys(value, key, STATISTICS_KEYS, fail);
  if (!FLOAT_TYPES.has(datatype)) fail(`${key} applies to FP16, FP32 and FP64 inputs, not ${datatype}`);
  if (s.columns === undefined) fail(`${key}.columns is required`);
  const columns = nonNegativeInt(s.columns, `${key}.columns`, fail);
  if (columns > MAX_STATISTICS_COLUMNS) fail(`${key}.columns ${columns} is above ${MAX_STATISTICS_COLUMNS}, the most one input may follow (each column is five Prometheus series)`);
  return { columns };
}

function knownKeys(value: unknown, key: string, known: ReadonlySet<string>, fail: Fail): Json {
  if (!isObject(value)) return fail(`${key} must be an object`);
  for (const k of Object.keys(value)) if (!known.has(k)) fail(`${key}.${k} is not a known key (known: ${[...known].join(', ')})`);
  return value;
}
