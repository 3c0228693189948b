/**
 * The fuzzer's own reading of when a request must be served, written from the protocol and
 * the bundled models' config.json, not from the server's code: an OK answer to a request
 * this finds wrong is an OK for a malformed message.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROTO_DIR } from '../../src/platform/proto-dir';
import { ELEMENT_SIZE, type EchoType } from './seeds';

interface TensorConfig {
  readonly name: string;
  readonly data_type: string;
  readonly dims: readonly number[];
}

interface ModelConfigJson {
  readonly max_batch_size: number;
  readonly input: readonly TensorConfig[];
  readonly output: readonly TensorConfig[];
}

const MODELS = path.join(path.dirname(PROTO_DIR), 'models');
const configs = new Map<string, ModelConfigJson | undefined>();

function configOf(model: string): ModelConfigJson | undefined {
  if (!configs.has(model)) {
    const file = path.join(MODELS, path.basename(model), 'config.json');
    configs.set(model, model !== '' && fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as ModelConfigJson) : undefined);
  }
  return configs.get(model);
}

const wireType = (configType: string): string => (configType === 'TYPE_STRING' ? 'BYTES' : configType.replace(/^TYPE_/, ''));

const TYPED_FIELD: Readonly<Record<string, string>> = {
  BOOL: 'bool_contents', INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents', INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents', UINT64: 'uint64_contents',
  FP32: 'fp32_contents', FP64: 'fp64_contents', BYTES: 'bytes_contents',
};

const INT_RANGE: Readonly<Record<string, readonly [bigint, bigint]>> = {
  INT8: [-128n, 127n], INT16: [-32768n, 32767n], INT32: [-(2n ** 31n), 2n ** 31n - 1n], INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT8: [0n, 255n], UINT16: [0n, 65535n], UINT32: [0n, 2n ** 32n - 1n], UINT64: [0n, 2n ** 64n - 1n],
};

type Obj = Record<string, unknown>;
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const utf8 = new TextDecoder('utf-8', { fatal: true });

function bytesElementProblem(element: Uint8Array): string | undefined {
  if (element.includes(0)) return 'a NUL';
  try {
    utf8.decode(element);
    return undefined;
  } catch {
    return 'invalid UTF-8';
  }
}

/**
 * Why `request` (as protobufjs reads it) must not be served, or undefined when it may be;
 * 'unchecked' for a model this does not know (one without config.json).
 */
export function whyInvalid(request: Obj): string | undefined {
  const config = configOf(String(request.model_name ?? ''));
  if (config === undefined) return `model '${String(request.model_name)}' has no config.json here`;
  if (!['', '1', undefined].includes(request.model_version as string | undefined)) return `version '${String(request.model_version)}'`;
  const parameters = (request.parameters ?? {}) as Record<string, Obj>;
  for (const name of ['priority', 'timeout']) {
    const p = parameters[name];
    if (p === undefined) continue;
    const value = p.int64_param ?? p.uint64_param;
    if (value === undefined || BigInt(value as string) < 0n || BigInt(value as string) > BigInt(Number.MAX_SAFE_INTEGER)) return `parameter ${name}`;
  }
  const inputs = list(request.inputs) as Obj[];
  const raws = list(request.raw_input_contents) as Uint8Array[];
  if (inputs.length !== config.input.length) return `${inputs.length} inputs`;
  if (raws.length > 0 && raws.length !== inputs.length) return `${raws.length} raw contents for ${inputs.length} inputs`;
  let batch: bigint | undefined;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    const spec = config.input.find((s) => s.name === input.name);
    if (!spec || inputs.findIndex((x) => x.name === input.name) !== i) return `input '${String(input.name)}' unknown or repeated`;
    const datatype = wireType(spec.data_type);
    if (input.datatype !== datatype) return `input '${spec.name}' datatype`;
    const shape = list(input.shape).map((d) => BigInt(d as string));
    if (shape.length !== spec.dims.length + 1) return `input '${spec.name}' rank`;
    if (shape[0] < 1n || shape[0] > BigInt(config.max_batch_size) || (batch !== undefined && shape[0] !== batch)) return `input '${spec.name}' batch`;
    batch = shape[0];
    if (spec.dims.some((d, k) => d !== -1 && BigInt(d) !== shape[k + 1]) || shape.some((d) => d < 0n)) return `input '${spec.name}' shape`;
    const count = shape.reduce((a, b) => a * b, 1n);
    const problem = raws.length > 0 ? rawProblem(datatype, count, raws[i]) : typedProblem(datatype, count, (input.contents ?? {}) as Obj);
    if (problem) return `input '${spec.name}': ${problem}`;
  }
  const outputs = list(request.outputs).map((o) => String((o as Obj).name ?? ''));
  if (new Set(outputs).size !== outputs.length || outputs.some((o) => !config.output.some((s) => s.name === o))) return 'requested outputs';
  for (const o of list(request.outputs)) {
    const problem = classificationProblem(o as Obj, config.output);
    if (problem) return problem;
  }
  return undefined;
}

/** Triton's classification extension: an int64 or uint64 count, of an output of a type with class results. */
function classificationProblem(output: Obj, outputs: readonly { name: string; data_type: string }[]): string | undefined {
  const p = ((output.parameters ?? {}) as Record<string, Obj>).classification;
  if (p === undefined) return undefined;
  const value = p.int64_param ?? p.uint64_param;
  if (value === undefined || BigInt(value as string) < 0n || BigInt(value as string) > BigInt(Number.MAX_SAFE_INTEGER)) return 'classification count';
  const type = outputs.find((s) => s.name === output.name)?.data_type;
  return BigInt(value as string) > 0n && ['TYPE_BOOL', 'TYPE_FP16', 'TYPE_BF16', 'TYPE_STRING'].includes(type ?? '') ? 'classification of its type' : undefined;
}

function rawProblem(datatype: string, count: bigint, raw: Uint8Array): string | undefined {
  if (datatype !== 'BYTES') {
    if (BigInt(raw.length) !== count * BigInt(ELEMENT_SIZE[datatype as Exclude<EchoType, 'BYTES'>])) return 'raw size';
    if (datatype === 'BOOL' && raw.some((b) => b > 1)) return 'raw BOOL not 0 or 1';
    return undefined;
  }
  const view = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let at = 0;
  for (let i = 0n; i < count; i++) {
    if (at + 4 > view.length) return 'BYTES framing';
    const length = view.readUInt32LE(at);
    if (at + 4 + length > view.length) return 'BYTES framing';
    const problem = bytesElementProblem(view.subarray(at + 4, at + 4 + length));
    if (problem) return `BYTES element with ${problem}`;
    at += 4 + length;
  }
  return at === view.length ? undefined : 'BYTES framing';
}

function typedProblem(datatype: string, count: bigint, contents: Obj): string | undefined {
  const field = TYPED_FIELD[datatype];
  const filled = Object.keys(contents).filter((k) => list(contents[k]).length > 0);
  if (filled.some((k) => k !== field)) return `typed contents in ${filled.join(', ')}`;
  const values = list(contents[field]);
  if (BigInt(values.length) !== count) return `${values.length} typed values for ${count}`;
  const range = INT_RANGE[datatype];
  if (range && values.some((v) => BigInt(v as string) < range[0] || BigInt(v as string) > range[1])) return 'typed value out of range';
  if (datatype === 'BYTES') {
    const problem = values.map((v) => bytesElementProblem(v as Uint8Array)).find((p) => p !== undefined);
    if (problem) return `BYTES element with ${problem}`;
  }
  return undefined;
}

/** The outputs a valid request is answered with, sorted, and the batch they all have. */
export function expectedAnswer(request: Obj): { readonly outputs: string[]; readonly batch: string } {
  const config = configOf(String(request.model_name ?? ''))!;
  const requested = list(request.outputs).map((o) => String((o as Obj).name));
  const outputs = requested.length > 0 ? requested : config.output.map((o) => o.name);
  return { outputs: [...outputs].sort(), batch: String(list((list(request.inputs)[0] as Obj).shape)[0]) };
}
