/**
 * Protobuf wire format by hand: writing the encodings a library never produces, and
 * finding every tag, length and varint of an encoded message so a mutation can aim at them.
 */

export const WIRE = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/** A base-128 varint of a non-negative integer (bigint for 64-bit values). */
export function varint(value: number | bigint): Buffer {
  let v = BigInt(value);
  if (v < 0n) v = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return Buffer.from(out);
}

export function tag(field: number, wireType: number): Buffer {
  return varint(field * 8 + wireType);
}

/** A length-delimited field: tag, length, payload. */
export function lenField(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([tag(field, WIRE.LEN), varint(payload.length), payload]);
}

export function varintField(field: number, value: number | bigint): Buffer {
  return Buffer.concat([tag(field, WIRE.VARINT), varint(value)]);
}

/** Where a varint sits: [start, end) in the message. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface FieldMap {
  /** Every tag varint. */
  readonly tags: Span[];
  /** Every length varint of a length-delimited field. */
  readonly lengths: Span[];
  /** Every varint value (wire type 0), packed ones included when the payload parses as varints. */
  readonly values: Span[];
  /** Every length-delimited payload. */
  readonly payloads: Span[];
}

/**
 * Walks `bytes` as a message, descending into every length-delimited payload that itself
 * parses to its end as a message (embedded messages; strings and raw bytes usually do not).
 */
export function mapFields(bytes: Uint8Array): FieldMap {
  const map: FieldMap = { tags: [], lengths: [], values: [], payloads: [] };
  walk(bytes, 0, bytes.length, map, 0);
  return map;
}

function readVarint(bytes: Uint8Array, at: number, end: number): { value: number; end: number } | undefined {
  let value = 0;
  for (let i = 0; i < 10; i++) {
    if (at + i >= end) return undefined;
    const byte = bytes[at + i];
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return { value, end: at + i + 1 };
  }
  return undefined;
}

/** Records what parses; returns whether the whole range was a well-formed message. */
function walk(bytes: Uint8Array, start: number, end: number, map: FieldMap, depth: number): boolean {
  const found: FieldMap = { tags: [], lengths: [], values: [], payloads: [] };
  const nested: (() => void)[] = [];
  let at = start;
  while (at < end) {
    const t = readVarint(bytes, at, end);
    if (!t || t.value < 8) return false;
    found.tags.push({ start: at, end: t.end });
    at = t.end;
    switch (t.value & 7) {
      case WIRE.VARINT: {
        const v = readVarint(bytes, at, end);
        if (!v) return false;
        found.values.push({ start: at, end: v.end });
        at = v.end;
        break;
      }
      case WIRE.I64: at += 8; break;
      case WIRE.I32: at += 4; break;
      case WIRE.LEN: {
        const length = readVarint(bytes, at, end);
        if (!length || length.end + length.value > end) return false;
        found.lengths.push({ start: at, end: length.end });
        const payload = { start: length.end, end: length.end + length.value };
        found.payloads.push(payload);
        if (depth < 4) nested.push(() => void walk(bytes, payload.start, payload.end, map, depth + 1));
        at = payload.end;
        break;
      }
      default: return false;
    }
    if (at > end) return false;
  }
  for (const key of ['tags', 'lengths', 'values', 'payloads'] as const) map[key].push(...found[key]);
  for (const descend of nested) descend();
  return true;
}
