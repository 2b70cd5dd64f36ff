// MessagePack arrays of strings for replace-entity.lua (cmsgpack.unpack there): the
// backfill's field lists and tile lists, packed without msgpackr's per-character loop
// when every string is ASCII.
import { pack } from 'msgpackr';

/** MessagePack string headers as one-byte characters, by length (fixstr below 32, then str8). */
const STR_HEADER: string[] = Array.from({ length: 256 }, (_, n) => (n < 32 ? String.fromCharCode(0xa0 | n) : `\xd9${String.fromCharCode(n)}`));
/** Their UTF-8 lengths as characters (a character >= 0x80 takes two bytes). */
const STR_HEADER_UTF8: number[] = STR_HEADER.map((h) => Buffer.byteLength(h, 'utf8'));

/**
 * msgpackr's pack of an array of strings, for arrays of ASCII strings shorter than 65,536
 * (field names and values): each string behind its MessagePack header as
 * one-byte characters, joined and written by one latin1 copy, instead of msgpackr's
 * per-character loop. A non-ASCII character would make a different UTF-8 length than the
 * one counted (each character counted as one byte), which sends the array to msgpackr.
 */
export function packStrings(strings: readonly string[]): Buffer {
  const n = strings.length;
  const parts: string[] = new Array<string>(2 * n + 1);
  parts[0] = String.fromCharCode(0xdd, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  let utf8 = Buffer.byteLength(parts[0], 'utf8');
  for (let i = 0; i < n; i++) {
    const s = strings[i] as string;
    const len = s.length;
    if (len < 256) {
      parts[2 * i + 1] = STR_HEADER[len] as string;
      utf8 += (STR_HEADER_UTF8[len] as number) + len;
    } else if (len < 65536) {
      // str16 (last-N lists)
      const header = String.fromCharCode(0xda, len >>> 8, len & 0xff);
      parts[2 * i + 1] = header;
      utf8 += Buffer.byteLength(header, 'utf8') + len;
    } else return pack(strings);
    parts[2 * i + 2] = s;
  }
  const text = parts.join('');
  if (Buffer.byteLength(text, 'utf8') !== utf8) return pack(strings);
  return Buffer.from(text, 'latin1');
}
