import { invalidArgument } from '../errors';

/**
 * Splits BYTES in their raw form, as on the wire and in warm-up files: each element a 4-byte
 * little-endian length, then that many bytes. Throws INVALID_ARGUMENT naming `label` and `source`.
 */
export function splitBytesElements(label: string, count: number, bytes: Uint8Array, source: string): Uint8Array[] {
  const total = bytes.byteLength;
  // Checked before anything is allocated for `count` elements: each needs at least its prefix.
  if (count * 4 > total) {
    throw invalidArgument(`${label}: expected ${count} length-prefixed BYTES elements in ${source}, got only ${total} bytes`);
  }
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (total - at < 4) {
      throw invalidArgument(`${label}: raw BYTES element ${i} is truncated: expected a 4-byte length prefix, got ${total - at} bytes`);
    }
    const length = (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
    at += 4;
    if (length > total - at) {
      throw invalidArgument(`${label}: raw BYTES element ${i} is truncated: expected ${length} bytes, got ${total - at}`);
    }
    out.push(bytes.subarray(at, at + length));
    at += length;
  }
  if (at !== total) {
    throw invalidArgument(`${label}: expected ${count} BYTES elements in ${source}, got ${total - at} bytes after them`);
  }
  return out;
}
