/**
 * The hand-off of batches between the event loop and a session worker through shared memory.
 *
 * A MessagePort costs both threads far more than the copy it carries: measured on a 2-vCPU AMD
 * EPYC with the worker idle 1 ms between batches, a postMessage round trip took 130 µs of the
 * event loop's CPU and 90 µs of the worker's, against 87 and 21 µs when the batch travels
 * through a SharedArrayBuffer, the worker sleeps in Atomics.wait and the event loop hears back
 * through Atomics.waitAsync (docs/architecture.md). So numeric tensors travel here; string
 * tensors, a batch that outgrows the arena, and every other command still go by message.
 *
 * One request is outstanding at a time (the caller queues): the event loop writes the input
 * arena, sets VIA and bumps REQUEST; the worker runs, writes the output arena (or posts a
 * message), sets REPLY_VIA and stores the request's number in DONE.
 */
import type { WireTensor } from './worker-protocol';
import type { NumericArray, OrtType } from '../tensor/datatype';

/** Slots of the control block (Int32). */
export const REQUEST = 0;
export const DONE = 1;
/** How the current request came: SHARED (in the input arena) or MESSAGE (take it from the port). */
export const VIA = 2;
/** How the current reply went: SHARED (in the output arena) or MESSAGE (posted). */
export const REPLY_VIA = 3;
export const SHARED = 0;
export const MESSAGE = 1;

export interface SharedChannel {
  readonly control: SharedArrayBuffer;
  readonly input: SharedArrayBuffer;
  readonly output: SharedArrayBuffer;
}

/** Enough for a batch of 64 rows of a few hundred FP32 features either way; outgrown arenas are replaced. */
export const INITIAL_ARENA_BYTES = 256 * 1024;
/** Larger batches go by message rather than pin more shared memory per instance. */
export const MAX_ARENA_BYTES = 64 * 1024 * 1024;

export function createChannel(): SharedChannel {
  return { control: new SharedArrayBuffer(4 * 4), input: new SharedArrayBuffer(INITIAL_ARENA_BYTES), output: new SharedArrayBuffer(INITIAL_ARENA_BYTES) };
}

type ArrayType = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => NumericArray;

const ARRAYS: Partial<Record<OrtType, ArrayType>> = {
  bool: Uint8Array,
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  uint64: BigUint64Array,
  int64: BigInt64Array,
  float16: Uint16Array,
  float32: Float32Array,
  float64: Float64Array,
};

interface TensorEntry {
  readonly name: string;
  readonly type: OrtType;
  readonly dims: readonly number[];
  readonly offset: number;
  readonly length: number;
}

/** What travels in an arena beside the tensors: the header is JSON, a few hundred bytes. */
interface Header<M> {
  readonly meta: M;
  readonly tensors: readonly TensorEntry[];
}

const align8 = (n: number): number => (n + 7) & ~7;

/** Where each tensor goes in an arena, and the bytes it all takes. */
export interface ArenaLayout {
  readonly header: Buffer;
  readonly dataStart: number;
  readonly entries: readonly TensorEntry[];
  readonly bytes: number;
}

/** The layout of these tensors and meta, or undefined when one cannot travel through shared memory (strings, a type with no typed array). */
export function layOut<M>(meta: M, tensors: Record<string, WireTensor>): ArenaLayout | undefined {
  const entries: TensorEntry[] = [];
  let dataBytes = 0;
  for (const name in tensors) {
    const t = tensors[name];
    if (Array.isArray(t.data) || ARRAYS[t.type] === undefined) return undefined;
    const data = t.data as NumericArray;
    entries.push({ name, type: t.type, dims: t.dims, offset: dataBytes, length: data.length });
    dataBytes += align8(data.byteLength);
  }
  const header = Buffer.from(JSON.stringify({ meta, tensors: entries } satisfies Header<M>), 'utf8');
  const dataStart = align8(8 + header.length);
  return { header, dataStart, entries, bytes: dataStart + dataBytes };
}

/** Writes a layout that fits (layout.bytes <= arena.byteLength) into the arena. */
export function writeArena(arena: SharedArrayBuffer, layout: ArenaLayout, tensors: Record<string, WireTensor>): void {
  const bytes = new Uint8Array(arena);
  new DataView(arena).setUint32(0, layout.header.length, true);
  bytes.set(layout.header, 8);
  for (const e of layout.entries) {
    const data = tensors[e.name].data as NumericArray;
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), layout.dataStart + e.offset);
  }
}

/** Reads what writeArena wrote, copying each tensor out: ONNX Runtime refuses shared memory, and the arena is reused by the next batch. */
export function readArena<M>(arena: SharedArrayBuffer): { meta: M; tensors: Record<string, WireTensor> } {
  const headerLength = new DataView(arena).getUint32(0, true);
  const header = JSON.parse(Buffer.from(arena, 8, headerLength).toString('utf8')) as Header<M>;
  const dataStart = align8(8 + headerLength);
  const tensors: Record<string, WireTensor> = {};
  for (const e of header.tensors) {
    const shared = new ARRAYS[e.type]!(arena, dataStart + e.offset, e.length);
    tensors[e.name] = { type: e.type, dims: e.dims, data: shared.slice() };
  }
  return { meta: header.meta, tensors };
}

/** The next arena size for `needed` bytes: the next power of two, or undefined past MAX_ARENA_BYTES. */
export function grownArena(needed: number): SharedArrayBuffer | undefined {
  if (needed > MAX_ARENA_BYTES) return undefined;
  let size = INITIAL_ARENA_BYTES;
  while (size < needed) size *= 2;
  return new SharedArrayBuffer(size);
}
