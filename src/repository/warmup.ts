import { allocate, isNumeric } from '../tensor/datatype';
import { elementCount, type Tensor } from '../tensor/tensor';
import type { ModelConfig } from './model-config';

/** One row of zeros (empty strings for BYTES) per input, variable dims taken as 1. */
export function warmupInputs(config: ModelConfig): Tensor[] {
  const batched = config.maxBatchSize > 0;
  return config.inputs.map((spec): Tensor => {
    const dims = spec.dims.map((d) => (d === -1 ? 1 : d));
    const shape = batched ? [1, ...dims] : dims;
    const count = elementCount(shape);
    const data = isNumeric(spec.datatype) ? allocate(spec.datatype, count) : Array.from({ length: count }, () => new Uint8Array(0));
    return { name: spec.name, datatype: spec.datatype, shape, data };
  });
}
