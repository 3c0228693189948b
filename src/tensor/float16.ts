/** IEEE 754 half precision, read from the 16-bit patterns FP16 tensors travel as. */

/** Exponent all ones: an infinity or a NaN. */
export function fp16IsNonFinite(bits: number): boolean {
  return (bits & 0x7c00) === 0x7c00;
}

export function fp16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
