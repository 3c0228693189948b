/**
 * Mutations of encoded ModelInferRequests, each drawn from a seeded PRNG so that a case is
 * the same bytes on every run: blind ones (bit flips, byte insertion and deletion, truncation,
 * splicing two requests) and aimed ones (a tag, a length or a varint value rewritten where
 * mapFields found it), plus wholly random and randomly structured messages.
 */
import { lenField, mapFields, tag, varint, varintField, type Span } from './proto-bytes';

export type Random = () => number;

export const int = (rng: Random, below: number): number => Math.floor(rng() * below);
export const pick = <T>(rng: Random, items: readonly T[]): T => items[int(rng, items.length)];

function randomBytes(rng: Random, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = int(rng, 256);
  return out;
}

function replace(bytes: Buffer, span: Span, by: Buffer): Buffer {
  return Buffer.concat([bytes.subarray(0, span.start), by, bytes.subarray(span.end)]);
}

/** A varint worth putting where another was: edge values, overlong and unterminated encodings. */
function oddVarint(rng: Random): Buffer {
  switch (int(rng, 8)) {
    case 0: return varint(0);
    case 1: return varint(int(rng, 300));
    case 2: return varint(2n ** 63n - 1n);
    case 3: return varint(2n ** 64n - 1n); // int64 -1
    case 4: return varint(2 ** 31 + int(rng, 2 ** 31));
    case 5: return Buffer.concat([Buffer.alloc(1 + int(rng, 12), 0xff), Buffer.from([int(rng, 128)])]); // overlong
    case 6: return Buffer.alloc(1 + int(rng, 4), 0x80); // never ends
    default: return varint(2 ** 53 + int(rng, 1000));
  }
}

export interface Mutation {
  readonly name: string;
  apply(bytes: Buffer, rng: Random, others: readonly Buffer[]): Buffer;
}

const aimed = (name: string, spans: (map: ReturnType<typeof mapFields>) => Span[], by: (rng: Random, old: Buffer) => Buffer): Mutation => ({
  name,
  apply: (bytes, rng) => {
    const found = spans(mapFields(bytes));
    if (found.length === 0) return bytes;
    const span = pick(rng, found);
    return replace(bytes, span, by(rng, bytes.subarray(span.start, span.end)));
  },
});

/** Strings the server looks up: datatypes, model, tensor and parameter names, versions. */
const DICTIONARY = [
  'BOOL', 'UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'UINT64', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES', 'BF16',
  'stock_scorer', 'type_echo', 'digit_cnn', 'features', 'score', 'standardized', 'in_bytes', 'out_fp32', 'in_bool',
  'priority', 'timeout', '1', '0', '-1', '',
].map((s) => Buffer.from(s));

export const MUTATIONS: readonly Mutation[] = [
  {
    name: 'bit-flip',
    apply: (bytes, rng) => {
      if (bytes.length === 0) return bytes;
      const out = Buffer.from(bytes);
      for (let n = 1 + int(rng, 4); n > 0; n--) out[int(rng, out.length)] ^= 1 << int(rng, 8);
      return out;
    },
  },
  {
    name: 'byte-insert',
    apply: (bytes, rng) => {
      const at = int(rng, bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), randomBytes(rng, 1 + int(rng, 8)), bytes.subarray(at)]);
    },
  },
  {
    name: 'byte-delete',
    apply: (bytes, rng) => {
      const at = int(rng, bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + int(rng, 8))]);
    },
  },
  { name: 'truncate', apply: (bytes, rng) => bytes.subarray(0, int(rng, bytes.length)) },
  {
    name: 'splice',
    apply: (bytes, rng, others) => {
      const other = pick(rng, others);
      return Buffer.concat([bytes.subarray(0, int(rng, bytes.length + 1)), other.subarray(int(rng, other.length + 1))]);
    },
  },
  {
    name: 'duplicate-field',
    apply: (bytes, rng) => {
      const map = mapFields(bytes);
      if (map.payloads.length === 0) return bytes;
      // A tag, its length and its payload, copied to another place at the same level or not.
      const payload = pick(rng, map.payloads);
      const length = map.lengths.find((l) => l.end === payload.start);
      const start = map.tags.find((t) => t.end === length?.start)?.start ?? payload.start;
      const field = bytes.subarray(start, payload.end);
      const at = int(rng, bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), field, bytes.subarray(at)]);
    },
  },
  aimed('varint-value', (m) => m.values, (rng) => oddVarint(rng)),
  // A string or bytes payload (its length rewritten to match) swapped for a dictionary word.
  {
    name: 'payload-swap',
    apply: (bytes, rng) => {
      const map = mapFields(bytes);
      const payload = map.payloads.length > 0 ? pick(rng, map.payloads) : undefined;
      const length = payload && map.lengths.find((l) => l.end === payload.start);
      if (!payload || !length) return bytes;
      const word = pick(rng, DICTIONARY);
      return Buffer.concat([bytes.subarray(0, length.start), varint(word.length), word, bytes.subarray(payload.end)]);
    },
  },
  aimed('length-field', (m) => m.lengths, (rng, old) => {
    let length = 0;
    for (let i = 0; i < old.length; i++) length += (old[i] & 0x7f) * 2 ** (7 * i);
    const choices = [length + 1, Math.max(0, length - 1), 0, length + 1 + int(rng, 64), 2 ** 31, 2 ** 32 + length];
    return int(rng, 5) === 0 ? oddVarint(rng) : varint(pick(rng, choices));
  }),
  aimed('tag', (m) => m.tags, (rng, old) => {
    const value = old[0] & 0x7f;
    switch (int(rng, 4)) {
      case 0: return varint((value & ~7) | int(rng, 8)); // another wire type
      case 1: return varint(int(rng, 16) * 8 + (value & 7)); // another field number
      case 2: return oddVarint(rng);
      default: return tag(1 + int(rng, 2 ** 20), int(rng, 6));
    }
  }),
];

/** 0 to 63 random bytes. */
export function randomMessage(rng: Random): Buffer {
  return randomBytes(rng, int(rng, 64));
}

/** Random fields of ModelInferRequest's numbers and wire types, nested now and then: protobuf, rarely a sensible request. */
export function structuredMessage(rng: Random, depth = 0): Buffer {
  const parts: Buffer[] = [];
  for (let n = int(rng, 6); n > 0; n--) {
    const field = 1 + int(rng, 8);
    switch (int(rng, 4)) {
      case 0: parts.push(varintField(field, int(rng, 2) ? int(rng, 20) : BigInt.asUintN(64, BigInt(int(rng, 2 ** 31)) * 2n ** 33n))); break;
      case 1: parts.push(lenField(field, Buffer.from(pick(rng, ['stock_scorer', 'type_echo', 'features', 'FP32', 'BYTES', 'in_int8', '', 'priority'])))); break;
      case 2: parts.push(lenField(field, depth < 3 ? structuredMessage(rng, depth + 1) : randomBytes(rng, int(rng, 16)))); break;
      default: parts.push(lenField(field, randomBytes(rng, int(rng, 40)))); break;
    }
  }
  return Buffer.concat(parts);
}

export interface Mutated {
  readonly bytes: Buffer;
  /** The steps taken, for the report of a failing case. */
  readonly steps: string[];
}

/** One to three mutations of `seed` chained, or now and then a random or structured message. */
export function mutateMessage(rng: Random, seed: Buffer, seeds: readonly Buffer[]): Mutated {
  const roll = rng();
  if (roll < 0.05) return { bytes: randomMessage(rng), steps: ['random'] };
  if (roll < 0.1) return { bytes: structuredMessage(rng), steps: ['structured'] };
  let bytes = seed;
  const steps: string[] = [];
  for (let n = 1 + int(rng, 3); n > 0; n--) {
    const mutation = pick(rng, MUTATIONS);
    bytes = mutation.apply(bytes, rng, seeds);
    steps.push(mutation.name);
  }
  return { bytes, steps };
}
