/**
 * Triton's `model_warmup` in config.json: request samples that run on every instance before a
 * version takes traffic. Parsed here on its own terms; checked against the model's inputs when
 * the samples are built (warmup-inputs.ts).
 */
import * as path from 'node:path';
import { fromConfigType, type DataType } from '../tensor/datatype';
import { isObject, nonNegativeInt, positiveInt, type Fail, type Json } from './config-json';

/** Where a warm-up input's values come from: Triton's oneof input_data_type. */
export type WarmupData =
  | { readonly kind: 'zero' }
  | { readonly kind: 'random' }
  /** A path relative to the model's `warmup/` folder, as in Triton. */
  | { readonly kind: 'file'; readonly file: string };

export interface WarmupInput {
  readonly name: string;
  readonly datatype: DataType;
  /** Without the batch dimension; every dim fixed. */
  readonly dims: readonly number[];
  readonly data: WarmupData;
}

export interface WarmupSample {
  readonly name: string;
  readonly batchSize: number;
  /** Runs of this sample per instance (Triton's count 0 means once). */
  readonly runs: number;
  readonly inputs: readonly WarmupInput[];
}

export const WARMUP_FOLDER = 'warmup';

export function parseModelWarmup(value: unknown, fail: Fail): WarmupSample[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return fail('model_warmup must be a list');
  const names = new Set<string>();
  return value.map((sample: unknown, i: number) => {
    const parsed = parseSample(sample, `model_warmup[${i}]`, fail);
    if (names.has(parsed.name)) fail(`model_warmup[${i}].name '${parsed.name}' is used by an earlier sample`);
    names.add(parsed.name);
    return parsed;
  });
}

function parseSample(value: unknown, where: string, fail: Fail): WarmupSample {
  if (!isObject(value)) return fail(`${where} must be an object`);
  if (typeof value.name !== 'string' || value.name === '') fail(`${where}.name must be a non-empty string`);
  const name = value.name as string;
  const at = `model_warmup sample '${name}'`;
  const batchSize = value.batch_size === undefined ? 1 : positiveInt(value.batch_size, `${at} batch_size`, fail);
  const count = value.count === undefined ? 0 : nonNegativeInt(value.count, `${at} count`, fail);
  if (!isObject(value.inputs) || Object.keys(value.inputs).length === 0) fail(`${at} inputs must be an object keyed by input name`);
  const inputs = Object.entries(value.inputs as Json).map(([input, spec]) => parseInput(input, spec, `${at} input '${input}'`, fail));
  return { name, batchSize, runs: Math.max(1, count), inputs };
}

function parseInput(name: string, value: unknown, at: string, fail: Fail): WarmupInput {
  if (!isObject(value)) return fail(`${at} must be an object`);
  const datatype = fromConfigType(String(value.data_type));
  if (!datatype) fail(`${at} data_type '${String(value.data_type)}' is not a known TYPE_*`);
  if (!Array.isArray(value.dims)) fail(`${at} dims must be a list`);
  const dims = (value.dims as unknown[]).map((d) => nonNegativeInt(d, `${at} dims`, fail));
  const sources = (['zero_data', 'random_data', 'input_data_file'] as const).filter((key) => value[key] !== undefined);
  if (sources.length !== 1) fail(`${at} needs exactly one of zero_data, random_data, input_data_file`);
  return { name, datatype: datatype as DataType, dims, data: parseData(sources[0], value, at, fail) };
}

function parseData(source: 'zero_data' | 'random_data' | 'input_data_file', value: Json, at: string, fail: Fail): WarmupData {
  if (source === 'zero_data') return { kind: 'zero' };
  if (source === 'random_data') return { kind: 'random' };
  const file = value.input_data_file;
  if (typeof file !== 'string' || file === '') return fail(`${at} input_data_file must be a non-empty string`);
  // The file must stay inside the model's warmup/ folder: no absolute paths, no way out with '..'.
  const resolved = path.posix.normalize(file.replace(/\\/g, '/'));
  if (path.posix.isAbsolute(resolved) || resolved === '..' || resolved.startsWith('../')) {
    fail(`${at} input_data_file '${file}' must be a path inside the model's ${WARMUP_FOLDER}/ folder`);
  }
  return { kind: 'file', file: resolved };
}
