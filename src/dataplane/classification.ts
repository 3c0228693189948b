/**
 * Triton's classification extension: a requested output answered as its top classes instead of
 * the tensor. Each class is a BYTES element "<value>:<index>[:<label>]", highest value first,
 * in a [rows, k] tensor for a model that batches ([k] for one that does not), k the count asked
 * and at most the classes a row has. Values print as C's %f for floats and in decimal for
 * integers, as Triton's std::to_string does ("3.300000:1"); equal values keep index order, and
 * NaN comes last.
 */
import { invalidArgument } from '../errors';
import type { ModelConfig } from '../repository/model-config';
import type { DataType, NumericArray } from '../tensor/datatype';
import type { Tensor } from '../tensor/tensor';

/** Triton's list: BOOL, FP16, BF16 and BYTES have no class result. */
const CLASSIFIABLE: ReadonlySet<DataType> = new Set(['UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP32', 'FP64']);
const utf8 = new TextEncoder();

/** Refuses before the request queues what Triton refuses once it has run: a class result of an output of another datatype. */
export function checkClassifications(config: ModelConfig, classifications: ReadonlyMap<string, number>): void {
  for (const name of classifications.keys()) {
    const spec = config.outputs.find((o) => o.name === name);
    if (spec && !CLASSIFIABLE.has(spec.datatype)) {
      throw invalidArgument(`output '${name}': class results are not available for its datatype ${spec.datatype} (parameter 'classification')`);
    }
  }
}

/** The outputs with those asked for as classes replaced by their top `count` classes. */
export function classifyOutputs(outputs: Tensor[], classifications: ReadonlyMap<string, number>, config: ModelConfig): Tensor[] {
  return outputs.map((tensor) => {
    const count = classifications.get(tensor.name);
    if (count === undefined) return tensor;
    const labels = config.outputs.find((o) => o.name === tensor.name)?.labels;
    return classify(tensor, count, labels, config.maxBatchSize > 0);
  });
}

export function classify(tensor: Tensor, count: number, labels: readonly string[] | undefined, batched: boolean): Tensor {
  const values = tensor.data as NumericArray;
  const rows = batched ? tensor.shape[0] : 1;
  const perRow = rows === 0 ? 0 : values.length / rows;
  const k = Math.min(count, perRow);
  const float = tensor.datatype === 'FP32' || tensor.datatype === 'FP64';
  const data: Uint8Array[] = [];
  for (let row = 0; row < rows; row++) {
    const base = row * perRow;
    const order = Array.from({ length: perRow }, (_, i) => i);
    order.sort((a, b) => descending(values[base + a], values[base + b]) || a - b);
    for (let j = 0; j < k; j++) {
      const index = order[j];
      const label = labels?.[index];
      data.push(utf8.encode(`${format(values[base + index], float)}:${index}${label === undefined ? '' : `:${label}`}`));
    }
  }
  return { name: tensor.name, datatype: 'BYTES', shape: batched ? [rows, k] : [k], data };
}

function descending(x: number | bigint, y: number | bigint): number {
  if (x !== x) return y !== y ? 0 : 1;
  if (y !== y) return -1;
  return x > y ? -1 : x < y ? 1 : 0;
}

/** C's %f (six decimals, every integer digit), or the integer itself. */
function format(value: number | bigint, float: boolean): string {
  if (typeof value === 'bigint' || !float) return value.toString();
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (Object.is(value, -0)) return '-0.000000';
  // toFixed turns to exponents from 1e21 on; %f never does.
  return Math.abs(value) < 1e21 ? value.toFixed(6) : `${BigInt(value)}.000000`;
}
