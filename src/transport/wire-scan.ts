/**
 * Protobuf's wire format read only as far as counting needs: tags, varints, lengths. Used before a
 * decoder builds objects, to refuse a message that would make too many (infer-request-census.ts,
 * unread-requests.ts).
 */
export const VARINT = 0;
const I64 = 1;
export const LEN = 2;
const I32 = 5;

/** Thrown by a scan when the bytes are not protobuf; whoever reads them next says why. */
export const NOT_PROTOBUF = Symbol('not protobuf');

/** A cursor over protobuf wire bytes, for counting fields without decoding them (no allocation). */
export class WireScan {
  constructor(readonly buf: Uint8Array, public pos: number, public end: number) {}

  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw NOT_PROTOBUF;
      const byte = this.buf[this.pos++];
      // Lengths and tags fit 32 bits; a longer varint is skipped whole, its value unused.
      if (shift < 35) value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw NOT_PROTOBUF;
  }

  /** Narrows the scan to a length-delimited payload; leave() with what it returns restores it. */
  enter(): number {
    const length = this.varint();
    if (length > this.end - this.pos) throw NOT_PROTOBUF;
    const outer = this.end;
    this.end = this.pos + length;
    return outer;
  }

  /** Past the payload entered, back in the message around it. */
  leave(outer: number): void {
    this.pos = this.end;
    this.end = outer;
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === LEN) this.leave(this.enter());
    else if (wireType === I64 || wireType === I32) {
      const size = wireType === I64 ? 8 : 4;
      if (size > this.end - this.pos) throw NOT_PROTOBUF;
      this.pos += size;
    } else throw NOT_PROTOBUF; // groups: protobufjs reports them
  }

  /** Varints in a packed field: one per byte below 0x80. */
  packedCount(): number {
    const outer = this.enter();
    let count = 0;
    for (let at = this.pos; at < this.end; at++) if (this.buf[at] < 0x80) count++;
    this.leave(outer);
    return count;
  }
}

/** Whether `bytes` hold more than `limit` top-level fields; false for bytes that are not protobuf (their reader says why). */
export function fieldsPast(bytes: Uint8Array, limit: number): boolean {
  const s = new WireScan(bytes, 0, bytes.length);
  try {
    for (let fields = 0; s.pos < s.end; fields++) {
      if (fields === limit) return true;
      s.skip(s.varint() & 7);
    }
  } catch (err) {
    if (err !== NOT_PROTOBUF) throw err;
  }
  return false;
}
