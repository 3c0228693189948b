/**
 * Checks a decoded request against the model's configuration, before it may queue:
 * every input present once with the declared datatype and shape, rows within
 * max_batch_size, and requested outputs known.
 */
import { invalidArgument } from '../errors';
import type { ModelConfig, TensorSpec } from '../repository/model-config';
import type { Tensor } from '../tensor/tensor';

export interface ValidatedShape {
  readonly rows: number;
  readonly shapeKey: string;
  readonly outputs: readonly string[];
}

export function validateRequest(config: ModelConfig, inputs: readonly Tensor[], requested: readonly string[]): ValidatedShape {
  for (const t of inputs) {
    if (!specNamed(config.inputs, t.name)) {
      throw invalidArgument(`unexpected input '${t.name}' for model '${config.name}' (expected ${names(config.inputs)})`);
    }
  }
  // The codec has refused duplicate names, so with no unexpected input a short count means a missing one.
  if (inputs.length !== config.inputs.length) {
    const missing = config.inputs.filter((spec) => !inputs.some((t) => t.name === spec.name)).map((s) => s.name);
    throw invalidArgument(`missing input${missing.length > 1 ? 's' : ''} '${missing.join("', '")}' for model '${config.name}'`);
  }
  const batched = config.maxBatchSize > 0;
  const offset = batched ? 1 : 0;
  let rows = batched ? -1 : 1;
  let shapeKey = '';
  // In the config's order, whatever the request's, so equal shapes give equal batch keys.
  for (const spec of config.inputs) {
    const tensor = tensorNamed(inputs, spec.name);
    if (tensor.datatype !== spec.datatype) {
      throw invalidArgument(`input '${spec.name}': datatype ${tensor.datatype} does not match the model's ${spec.datatype}`);
    }
    if (tensor.datatype === 'BYTES') checkOrtStrings(tensor);
    const { shape } = tensor;
    let matches = shape.length === spec.dims.length + offset;
    for (let i = 0; matches && i < spec.dims.length; i++) matches = spec.dims[i] === -1 || spec.dims[i] === shape[i + offset];
    if (!matches) {
      const expected = batched ? [-1, ...spec.dims] : spec.dims;
      throw invalidArgument(`input '${spec.name}': shape [${shape.join(',')}] does not match the model's [${expected.join(',')}]`);
    }
    if (batched) {
      const batch = shape[0];
      if (batch < 1 || batch > config.maxBatchSize) {
        throw invalidArgument(`input '${spec.name}': batch size ${batch} is outside 1..${config.maxBatchSize} (max_batch_size)`);
      }
      if (rows !== -1 && batch !== rows) {
        throw invalidArgument(`input '${spec.name}': batch size ${batch} differs from the other inputs' ${rows}`);
      }
      rows = batch;
      shapeKey += `${shape.slice(1).join('x')};`;
    }
  }
  if (requested.length === 0) return { rows, shapeKey, outputs: allOutputs(config) };
  for (const name of requested) {
    if (!specNamed(config.outputs, name)) {
      throw invalidArgument(`unknown requested output '${name}' for model '${config.name}' (it has ${names(config.outputs)})`);
    }
  }
  if (requested.length > 1) {
    const seen = new Set<string>();
    for (const name of requested) {
      if (seen.has(name)) throw invalidArgument(`output '${name}' is requested more than once`);
      seen.add(name);
    }
  }
  return { rows, shapeKey, outputs: requested };
}

function tensorNamed(inputs: readonly Tensor[], name: string): Tensor {
  for (const t of inputs) if (t.name === name) return t;
  throw invalidArgument(`missing input '${name}'`);
}

function specNamed(specs: readonly TensorSpec[], name: string): TensorSpec | undefined {
  for (const spec of specs) if (spec.name === name) return spec;
  return undefined;
}

const outputNames = new WeakMap<ModelConfig, readonly string[]>();

function allOutputs(config: ModelConfig): readonly string[] {
  let list = outputNames.get(config);
  if (!list) {
    list = config.outputs.map((o) => o.name);
    outputNames.set(config, list);
  }
  return list;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** ONNX Runtime holds BYTES as C strings: they must be UTF-8 and stop at the first NUL, so refuse what would be altered. */
function checkOrtStrings(tensor: Tensor): void {
  (tensor.data as readonly Uint8Array[]).forEach((element, i) => {
    if (element.includes(0)) throw invalidArgument(`input '${tensor.name}': element ${i} holds a NUL byte, which ONNX Runtime string tensors cannot carry`);
    try {
      strictUtf8.decode(element);
    } catch {
      throw invalidArgument(`input '${tensor.name}': element ${i} is not valid UTF-8, which ONNX Runtime string tensors require`);
    }
  });
}

function names(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `'${s.name}'`).join(', ');
}
