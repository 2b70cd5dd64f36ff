// Reading ClickHouse's RowBinary output format: values back to back, no separators or
// escaping, the same bytes in ClickHouse 18.16 and current versions for the types read
// here. Exact by construction: Float64 is the stored IEEE bits, strings their stored UTF-8
// bytes, integers their little-endian bytes. Cheaper to decode than JSONEachRow (no text
// parsing, no object per row).
//
// A response arrives in network chunks that cut rows anywhere: the reader is handed one
// buffer at a time and its reads throw INCOMPLETE when they run past its end; the caller
// then keeps the unread tail and retries the row with the next chunk.

/** Thrown (one shared instance) when a read runs past the end of the buffer. */
export const INCOMPLETE: Error = new Error('RowBinary row continues in the next chunk');

export class RowBinaryError extends Error {
  override name = 'RowBinaryError';
}

const TWO_32 = 2 ** 32;

/** A read cursor over one buffer of RowBinary bytes. */
export class RowBinaryReader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;

  reset(buf: Buffer): void {
    this.buf = buf;
    this.pos = 0;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): number {
    const at = this.pos;
    if (at + n > this.buf.length) throw INCOMPLETE;
    this.pos = at + n;
    return at;
  }

  uint8(): number {
    return this.buf[this.need(1)] as number;
  }

  uint32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }

  /** A UInt64 that must be a safe integer (epoch ms): a number, exactly. */
  uint64Safe(name: string): number {
    const at = this.need(8);
    const lo = this.buf.readUInt32LE(at);
    const hi = this.buf.readUInt32LE(at + 4);
    if (hi >= 0x200000) throw new RowBinaryError(`${name} does not fit a safe integer`);
    return hi * TWO_32 + lo;
  }

  float64(): number {
    return this.buf.readDoubleLE(this.need(8));
  }

  /** A Nullable(...) prefix: true when the value is NULL (and no value bytes follow). */
  isNull(): boolean {
    const flag = this.uint8();
    if (flag > 1) throw new RowBinaryError(`invalid Nullable flag ${flag}`);
    return flag === 1;
  }

  /** The LEB128 length prefix of a String. */
  private length(): number {
    let n = 0;
    let shift = 0;
    for (;;) {
      const b = this.uint8();
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
      shift += 7;
      if (shift > 49) throw new RowBinaryError('string length prefix too long');
    }
  }

  /** A String as UTF-8 text (what ClickHouse stored; the writers store well-formed UTF-8). */
  string(): string {
    const n = this.length();
    const at = this.need(n);
    return this.buf.toString('utf8', at, at + n);
  }

  /** A String that often repeats (ids, types, categories): equal ASCII bytes give the cached string. */
  stringVia(cache: StringCache): string {
    const n = this.length();
    const at = this.need(n);
    return cache.get(this.buf, at, at + n);
  }
}

/**
 * A fixed-size cache of recently decoded ASCII strings by their bytes, so that a value
 * repeated across rows (a user's id in every row of the user, an event type) is one string
 * rather than one per row: less decoding and far less garbage. A miss replaces the slot.
 * Non-ASCII values are decoded every time (their bytes are not their UTF-16 units).
 */
export class StringCache {
  private readonly keys: (string | undefined)[];
  private readonly mask: number;

  constructor(slots = 4096) {
    if (!Number.isInteger(Math.log2(slots))) throw new RangeError(`slots must be a power of two, got ${slots}`);
    this.keys = new Array<string | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
  }

  get(buf: Buffer, from: number, to: number): string {
    if (to - from > 64) return buf.toString('utf8', from, to);
    let h = 0x811c9dc5;
    for (let i = from; i < to; i++) {
      const b = buf[i] as number;
      if (b >= 0x80) return buf.toString('utf8', from, to);
      h = Math.imul(h ^ b, 0x01000193);
    }
    const slot = (h ^ (h >>> 15)) & this.mask;
    const seen = this.keys[slot];
    if (seen !== undefined && seen.length === to - from) {
      let same = true;
      for (let i = 0; i < seen.length; i++) {
        if (seen.charCodeAt(i) !== buf[from + i]) {
          same = false;
          break;
        }
      }
      if (same) return seen;
    }
    const s = buf.toString('latin1', from, to);
    this.keys[slot] = s;
    return s;
  }
}

/** The last bytes of a response that is not rows, as text: ClickHouse appends its error message. */
function shown(bytes: Buffer): string {
  return JSON.stringify(bytes.subarray(Math.max(0, bytes.length - 400)).toString('utf8'));
}

/**
 * Feeds a stream of RowBinary chunks to `row`, one call per complete row, carrying a row
 * cut by a chunk boundary over to the next chunk. `end` throws if the stream stopped
 * inside a row.
 */
export function rowBinaryRows(row: (r: RowBinaryReader) => void): { push(chunk: Buffer): void; end(): void } {
  const r = new RowBinaryReader();
  let tail: Buffer | undefined;
  return {
    push(chunk) {
      r.reset(tail === undefined ? chunk : Buffer.concat([tail, chunk]));
      tail = undefined;
      let start = 0;
      try {
        while (r.pos < r.buf.length) {
          start = r.pos;
          row(r);
        }
      } catch (e) {
        if (e instanceof RowBinaryError) throw new RowBinaryError(`${e.message}; the bytes from that row on: ${shown(r.buf.subarray(start))}`);
        if (e !== INCOMPLETE) throw e;
        tail = Buffer.from(r.buf.subarray(start));
      }
    },
    end() {
      if (tail !== undefined && tail.length > 0) throw new RowBinaryError(`the response ended inside a row: ${shown(tail)}`);
    },
  };
}
