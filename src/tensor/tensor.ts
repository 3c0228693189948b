import type { DataType, NumericArray } from './datatype';

/**
 * A tensor inside the server, independent of gRPC and of ONNX Runtime.
 * Numeric data is a typed array of exactly `elementCount(shape)` elements;
 * BYTES data is one Uint8Array per element.
 */
export interface Tensor {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: readonly number[];
  readonly data: NumericArray | readonly Uint8Array[];
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}
