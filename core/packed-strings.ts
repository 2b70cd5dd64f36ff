// One MessagePack array of strings, written straight into bytes: the backfill's field list
// of one tile hash (field, value, field, value, ...) and its tile index entries, which
// store/lua/replace-entity.lua splits with Redis's cmsgpack. Built as the fields are
// visited, without a TileOp object, a field array and a generic packer in between (those
// were ~a third of the backfill job's encoding CPU and much of its garbage).
//
// Only the forms cmsgpack and msgpackr both read: array32 (0xdd) around the whole list,
// and each string as str8 (0xd9) when its UTF-8 bytes surely fit in 255, else str32 (0xdb).
// The header is chosen before the string is written: str8 when 3 x UTF-16 length < 256.
import { Buffer } from 'node:buffer';

const ARRAY32 = 0xdd;
const STR8 = 0xd9;
const STR32 = 0xdb;

export class PackedStringsError extends Error {
  override name = 'PackedStringsError';
}

/** Appends strings into one MessagePack array; `finish` copies it out and starts the next. */
export class PackedStrings {
  private buf = Buffer.allocUnsafe(1 << 16);
  private pos = 5;
  private n = 0;

  /** strings written since the last finish */
  get count(): number {
    return this.n;
  }

  add(s: string): void {
    const len = s.length;
    this.room(5 + 3 * len);
    const buf = this.buf;
    let at = this.pos;
    const short = 3 * len < 256;
    const start = at + (short ? 2 : 5);
    let end = start;
    // ASCII fast path (field names and numbers); anything else through the UTF-8 writer.
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        end = start + buf.write(s, start, 'utf8');
        break;
      }
      buf[end++] = c;
    }
    const bytes = end - start;
    if (short) {
      buf[at++] = STR8;
      buf[at] = bytes;
    } else {
      buf[at] = STR32;
      buf.writeUInt32BE(bytes, at + 1);
    }
    this.pos = end;
    this.n += 1;
  }

  /** The array of every string added since the last finish, as a new Buffer. */
  finish(): Buffer {
    const buf = this.buf;
    buf[0] = ARRAY32;
    buf.writeUInt32BE(this.n, 1);
    const out = Buffer.allocUnsafe(this.pos);
    buf.copy(out, 0, 0, this.pos);
    this.pos = 5;
    this.n = 0;
    return out;
  }

  private room(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + bytes));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

/** The strings of a PackedStrings array (tests, and the store's slow paths). */
export function unpackStrings(bytes: Uint8Array): string[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 5 || buf[0] !== ARRAY32) throw new PackedStringsError('not a packed string array');
  const n = buf.readUInt32BE(1);
  const out: string[] = [];
  let at = 5;
  for (let i = 0; i < n; i++) {
    const tag = buf[at];
    let len: number;
    if (tag === STR8 && at + 2 <= buf.length) {
      len = buf[at + 1] as number;
      at += 2;
    } else if (tag === STR32 && at + 5 <= buf.length) {
      len = buf.readUInt32BE(at + 1);
      at += 5;
    } else throw new PackedStringsError(`string ${i}: unexpected byte ${tag}`);
    if (at + len > buf.length) throw new PackedStringsError(`string ${i}: truncated`);
    out.push(buf.toString('utf8', at, at + len));
    at += len;
  }
  if (at !== buf.length) throw new PackedStringsError('bytes after the array');
  return out;
}
