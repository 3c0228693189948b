/**
 * Triton's `reshape` of an input or output: the dims the model itself has, when they differ from
 * the `dims` clients send and receive (Triton's densenet example gives its [1000, 1, 1] output to
 * clients as [1000]). Both leave out the batch dimension. Only fixed shapes are taken, so every
 * request's rows map to the model's without a check per request: `dims` without -1, and the
 * reshape's one -1, if it has one, worked out here from the element count.
 */
import { elementCount } from '../tensor/tensor';
import { isObject, type Fail, type Json } from './config-json';

export function parseReshape(value: unknown, dims: readonly number[], where: string, fail: Fail): number[] {
  if (!isObject(value)) return fail(`${where}.reshape must be an object`);
  const shape = (value as Json).shape ?? [];
  if (!Array.isArray(shape)) return fail(`${where}.reshape.shape must be a list`);
  const model = shape.map((d: unknown) => {
    const n = Number(d);
    if (!Number.isSafeInteger(n) || n < -1) fail(`${where}.reshape.shape entries must be integers >= -1`);
    return n;
  });
  if (dims.includes(-1)) fail(`${where}.reshape needs fixed dims, not [${dims.join(',')}]`);
  const elements = elementCount(dims);
  const variable = model.filter((d) => d === -1).length;
  if (variable > 1) fail(`${where}.reshape.shape may have one -1, not ${variable}`);
  if (variable === 1) {
    const known = elementCount(model.filter((d) => d !== -1));
    if (known === 0 || elements % known !== 0) fail(`${where}.reshape.shape [${model.join(',')}] cannot hold the ${elements} elements of dims [${dims.join(',')}]`);
    return model.map((d) => (d === -1 ? elements / known : d));
  }
  if (elementCount(model) !== elements) fail(`${where}.reshape.shape [${model.join(',')}] holds ${elementCount(model)} elements, dims [${dims.join(',')}] ${elements}`);
  return model;
}
