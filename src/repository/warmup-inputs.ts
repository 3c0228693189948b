/**
 * The tensors a warm-up runs with: a configured model_warmup sample checked against the model's
 * inputs, or, without one, one row of zeros with every variable dimension taken as 1.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { splitBytesElements } from '../tensor/bytes-elements';
import { allocate, elementSize, isNumeric, type DataType, type NumericDataType } from '../tensor/datatype';
import { mulberry32 } from '../tensor/seeded-random';
import { elementCount, type Tensor } from '../tensor/tensor';
import { dimsCompatible } from './auto-config';
import { ModelConfigError, type ModelConfig, type TensorSpec } from './model-config';
import { WARMUP_FOLDER, type WarmupInput, type WarmupSample } from './warmup-config';

/** The server's request limits a sample is held to (MAX_REQUEST_ELEMENTS, MAX_BYTES_ELEMENTS). */
export interface SampleLimits {
  readonly maxElements: number;
  readonly maxBytesElements: number;
}

/**
 * The automatic warm-up's inputs, held to the request limits like a sample: config.json may fix
 * a variable dimension of the model at any size.
 */
export function automaticWarmupInputs(config: ModelConfig, limits: SampleLimits): Tensor[] {
  const inputs = config.inputs.map((spec) => {
    const dims = spec.dims.map((d) => (d === -1 ? 1 : d));
    return { spec, shape: config.maxBatchSize > 0 ? [1, ...dims] : dims };
  });
  checkLimits(inputs.map(({ spec, shape }) => ({ datatype: spec.datatype, shape })), limits, (message) => {
    throw new Error(`one row of every input is ${message}`);
  });
  return inputs.map(({ spec, shape }) => filled(spec.name, spec.datatype, shape, () => 0));
}

/**
 * A sample's inputs, in the model's input order; a sample that contradicts the model fails the
 * load. A sample is a request, held to the same element limits before anything is allocated:
 * an input of 300,000,000 FP32 zeros loaded after 35 s and 4.7 GB.
 */
export async function sampleInputs(config: ModelConfig, modelDir: string, sample: WarmupSample, limits: SampleLimits): Promise<Tensor[]> {
  const fail = (message: string): never => {
    throw new ModelConfigError(config.name, `model_warmup sample '${sample.name}': ${message}`, config.configFile);
  };
  const batched = config.maxBatchSize > 0;
  if (batched && sample.batchSize > config.maxBatchSize) fail(`batch_size ${sample.batchSize} exceeds max_batch_size ${config.maxBatchSize}`);
  if (!batched && sample.batchSize !== 1) fail(`batch_size must be 1 for a model without batching (max_batch_size 0), not ${sample.batchSize}`);
  for (const input of sample.inputs) {
    if (!config.inputs.some((spec) => spec.name === input.name)) fail(`input '${input.name}' is not a model input (it has ${config.inputs.map((s) => s.name).join(', ')})`);
  }
  const inputs = config.inputs.map((spec) => {
    const input = sample.inputs.find((i) => i.name === spec.name) ?? fail(`input '${spec.name}' is missing; every model input needs one`);
    checkAgainstSpec(input, spec, fail);
    return { input, shape: batched ? [sample.batchSize, ...input.dims] : [...input.dims] };
  });
  checkLimits(inputs.map(({ input, shape }) => ({ datatype: input.datatype, shape })), limits, fail);
  const random = mulberry32(0x5eed);
  const tensors: Tensor[] = [];
  for (const { input, shape } of inputs) {
    const { data } = input;
    if (data.kind === 'file') {
      const file = path.join(modelDir, WARMUP_FOLDER, data.file);
      tensors.push(fromFile(input, shape, sample.batchSize, await readFile(file, fail), file, fail));
    } else {
      // Triton: BYTES inputs asked for random data get zero data.
      tensors.push(filled(input.name, input.datatype, shape, data.kind === 'random' ? random : () => 0));
    }
  }
  return tensors;
}

function checkLimits(inputs: readonly { readonly datatype: DataType; readonly shape: readonly number[] }[], limits: SampleLimits, fail: (m: string) => never): void {
  let elements = 0;
  let bytesElements = 0;
  for (const { datatype, shape } of inputs) {
    const count = elementCount(shape);
    elements += count;
    if (!isNumeric(datatype)) bytesElements += count;
  }
  if (elements > limits.maxElements) fail(`${elements} elements, over the server's limit of ${limits.maxElements} a request (MAX_REQUEST_ELEMENTS)`);
  if (bytesElements > limits.maxBytesElements) fail(`${bytesElements} BYTES elements, over the server's limit of ${limits.maxBytesElements} a request (MAX_BYTES_ELEMENTS)`);
}

function checkAgainstSpec(input: WarmupInput, spec: TensorSpec, fail: (m: string) => never): void {
  if (input.datatype !== spec.datatype) fail(`input '${input.name}' is ${input.datatype} here but ${spec.datatype} in the model`);
  if (!dimsCompatible(input.dims, spec.dims)) fail(`input '${input.name}' dims [${input.dims.join(',')}] do not fit the model's [${spec.dims.join(',')}]`);
}

async function readFile(file: string, fail: (m: string) => never): Promise<Uint8Array> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    return fail(`input_data_file cannot be read (Triton's place for it is the model's ${WARMUP_FOLDER}/ folder): ${(err as Error).message}`);
  }
}

/** One row from the file (raw, little-endian, row-major), repeated batchSize times. */
function fromFile(input: WarmupInput, shape: number[], batchSize: number, bytes: Uint8Array, file: string, fail: (m: string) => never): Tensor {
  const rowElements = elementCount(input.dims);
  if (isNumeric(input.datatype)) {
    const expected = rowElements * elementSize(input.datatype);
    if (bytes.length !== expected) fail(`input_data_file ${file} holds ${bytes.length} bytes; ${input.datatype} [${input.dims.join(',')}] needs ${expected}`);
    const data = allocate(input.datatype, rowElements * batchSize);
    const target = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    for (let row = 0; row < batchSize; row++) target.set(bytes, row * expected);
    return { name: input.name, datatype: input.datatype, shape, data };
  }
  let elements: Uint8Array[];
  try {
    elements = splitBytesElements(`input '${input.name}' input_data_file ${file}`, rowElements, bytes, 'the file');
  } catch (err) {
    return fail((err as Error).message);
  }
  const data: Uint8Array[] = [];
  for (let row = 0; row < batchSize; row++) data.push(...elements);
  return { name: input.name, datatype: input.datatype, shape, data };
}

/** A tensor whose numeric elements come from `next()` in [0, 1): floats as they are, integers and BOOL as 0 or 1. */
function filled(name: string, datatype: Tensor['datatype'], shape: readonly number[], next: () => number): Tensor {
  const count = elementCount(shape);
  if (!isNumeric(datatype)) return { name, datatype, shape, data: Array.from({ length: count }, () => new Uint8Array(0)) };
  const data = allocate(datatype, count);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) data[i] = next() < 0.5 ? 0n : 1n;
  } else {
    for (let i = 0; i < count; i++) data[i] = element(datatype, next());
  }
  return { name, datatype, shape, data };
}

function element(datatype: NumericDataType, r: number): number {
  if (datatype === 'FP32' || datatype === 'FP64') return r;
  // Half-precision bit patterns in [0.5, 1) (exponent -1, random mantissa); 0 stays 0.
  if (datatype === 'FP16') return r === 0 ? 0 : 0x3800 | Math.floor(r * 1024);
  return r < 0.5 ? 0 : 1;
}
