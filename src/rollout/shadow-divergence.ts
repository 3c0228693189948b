/**
 * How far a shadow version's output is from the output the caller was served: the largest
 * absolute difference for float outputs, row-by-row argmax agreement for 2-D float outputs
 * [batch, classes], exact equality for every other datatype.
 */
import type { Tensor } from '../tensor/tensor';

export type Divergence =
  | { readonly kind: 'float'; readonly maxAbs: number; readonly argmax: { readonly rows: number; readonly agreeing: number } | undefined }
  | { readonly kind: 'exact'; readonly equal: boolean }
  /** Datatype or shape differ: there is nothing to compare element by element. */
  | { readonly kind: 'mismatch' };

/** FP16 and BF16 travel as raw 16-bit patterns, so they are compared exactly rather than decoded. */
type FloatArray = Float32Array | Float64Array;

const FLOAT_TYPES = new Set(['FP32', 'FP64']);

export function divergence(served: Tensor, shadow: Tensor): Divergence {
  if (served.datatype !== shadow.datatype || !sameShape(served.shape, shadow.shape)) return { kind: 'mismatch' };
  if (!FLOAT_TYPES.has(served.datatype)) return { kind: 'exact', equal: equalElements(served.data, shadow.data) };
  const a = served.data as FloatArray;
  const b = shadow.data as FloatArray;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    // NaN on one side only is as far apart as it gets; NaN on both is agreement.
    if (d > maxAbs || (Number.isNaN(d) && !(Number.isNaN(a[i]) && Number.isNaN(b[i])))) maxAbs = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return { kind: 'float', maxAbs, argmax: served.shape.length === 2 ? argmaxAgreement(a, b, served.shape[0], served.shape[1]) : undefined };
}

function argmaxAgreement(a: FloatArray, b: FloatArray, rows: number, classes: number): { rows: number; agreeing: number } {
  let agreeing = 0;
  for (let r = 0; r < rows; r++) if (argmax(a, r * classes, classes) === argmax(b, r * classes, classes)) agreeing++;
  return { rows, agreeing };
}

/** The first index of the row's largest value; NaN never wins. */
function argmax(data: FloatArray, from: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (data[from + i] > data[from + best] || Number.isNaN(data[from + best])) best = i;
  return best;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function equalElements(a: Tensor['data'], b: Tensor['data']): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x instanceof Uint8Array && y instanceof Uint8Array) {
      if (Buffer.compare(x, y) !== 0) return false;
    } else if (x !== y) {
      return false;
    }
  }
  return true;
}
