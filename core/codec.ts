// The tile codec: the one contract between tile writers (stream worker, backfill) and
// readers (online store reader). All tiles of one entity and one tile size live in one
// Redis HASH; every tile of every series in it is a handful of flat fields:
//
//   <tile>:<series>:<part>[:<member>]
//   tile    floor(tileStart / tileMs) in base 36 (the hash's tile size gives the unit)
//   series  the 5-character series id (features/series.ts)
//   part    hi  max event time in the tile (ms)        op max      (before tsum)
//           lo  min event time in the tile (ms)        op min      (before tsum)
//           n   event count                            op incr     (before tsum)
//           s   sum of scaled values (micros for money) op incr     sum, avg
//           v   min or max scaled value                op min/max  min, max
//           d:<member>  1 per distinct value           op setnx    distinct
//           k:<member>  count per value                op incr     top_k
//           l   JSON [[time, event_id, user_id, value], ...], N most recent  op topn  last_n
//           t   `<hi>,<hi - lo>[,<n>[,<s>]]` (n, s empty or left out when absent): hi, lo,
//               n and s of the tile in one field. The backfill sets it whole (plain sets
//               into cleared tiles); the online writer merges `<hi>,<hi - lo>[,<n>]` into it
//               (op tsum, core/ops.ts: hi max, lo min, n summed) and keeps s a separate
//               exact incr. Tiles written before tsum hold separate hi, lo and n fields,
//               so a reader merges all: hi max, lo min, n and s summed. Redis's work is per
//               field and per op: a backfill stored ~5 fields per event, 2 of them hi and
//               lo (BENCHMARKS.md, "Backfill: one summary field per tile"), and an online
//               write made 3 ops per series and tile for hi, lo and n ("Online writes:
//               one summary op per tile").
// Fields starting with '_' are the store's own metadata and are ignored here.
import { isEmptyTile, type Tile } from './aggregators.js';
import { parseRecentItems, type HashFields, type TileOp } from './ops.js';
import { keepMostRecent } from './ordering.js';
import type { Series } from './features/series.js';

/** Bump when the layout above changes; the store puts it in its key names. */
export const CODEC_VERSION = 2;

/** Decoded tiles of one entity: series id -> tile start (ms) -> IR. */
export type TileSet = Map<string, Map<number, Tile>>;

export type TilePart = 'hi' | 'lo' | 'n' | 's' | 'v' | 'd' | 'k' | 'l' | 't';
const PARTS: ReadonlySet<string> = new Set<TilePart>(['hi', 'lo', 'n', 's', 'v', 'd', 'k', 'l', 't']);

export class TileCodecError extends Error {
  override name = 'TileCodecError';
}

/** `<tile>:<series>`: the prefix of every field of one tile of one series. */
export function tilePrefix(tileStart: number, tileMs: number, seriesId: string): string {
  if (tileStart % tileMs !== 0) throw new RangeError(`tile start ${tileStart} is not a multiple of ${tileMs}`);
  return `${(tileStart / tileMs).toString(36)}:${seriesId}`;
}

export interface ParsedField {
  tileIndex: number;
  seriesId: string;
  part: TilePart;
  member?: string;
}

/** Splits a field name; undefined for store metadata ('_...'); throws when malformed. */
export function parseField(field: string): ParsedField | undefined {
  if (field.startsWith('_')) return undefined;
  const a = field.indexOf(':');
  const b = field.indexOf(':', a + 1);
  if (a <= 0 || b < 0) throw new TileCodecError(`malformed tile field ${JSON.stringify(field)}`);
  const c = field.indexOf(':', b + 1);
  const tileText = field.slice(0, a);
  const tileIndex = parseInt(tileText, 36);
  const part = field.slice(b + 1, c < 0 ? undefined : c);
  const withMember = part === 'd' || part === 'k';
  if (!/^-?[0-9a-z]+$/.test(tileText) || !Number.isSafeInteger(tileIndex) || !PARTS.has(part) || withMember !== c >= 0) {
    throw new TileCodecError(`malformed tile field ${JSON.stringify(field)}`);
  }
  const parsed: ParsedField = { tileIndex, seriesId: field.slice(a + 1, b), part: part as TilePart };
  if (withMember) parsed.member = field.slice(c + 1);
  return parsed;
}

type TileSeries = Pick<Series, 'id' | 'ir' | 'limit' | 'tileMs'>;

/**
 * One tile's fields in write order, each with the op that adds it into the hash (ops.ts),
 * all but the last-N list (topn carries items, not a value): the one field list that
 * encodeTileOps, encodeTileWire and encodeTileSets put in their forms: hi, lo and n as one
 * tsum of the `t` field and s as an incr, or with `summary` all four as the one `t` field
 * (a plain set: only into cleared tiles). A set or
 * map of one member (the common case in a batch) is not copied to be sorted.
 */
function visitTileFields(p: string, series: TileSeries, tile: Tile, summary: boolean, emit: (op: 'incr' | 'max' | 'min' | 'setnx' | 'tsum' | 'set', field: string, value: string) => void): void {
  if (summary) emit('set', `${p}:t`, summaryOf(tile));
  else {
    const times = `${tile.hi},${tile.hi - tile.lo}`;
    emit('tsum', `${p}:t`, tile.n === undefined ? times : `${times},${tile.n}`);
    if (tile.s !== undefined) emit('incr', `${p}:s`, tile.s.toString());
  }
  if (tile.v !== undefined) emit(series.ir === 'min' ? 'min' : 'max', `${p}:v`, tile.v.toString());
  if (tile.d !== undefined) for (const member of tile.d.size > 1 ? [...tile.d].sort() : tile.d) emit('setnx', `${p}:d:${member}`, '1');
  if (tile.k !== undefined) {
    for (const [member, count] of tile.k.size > 1 ? [...tile.k].sort((x, y) => (x[0] < y[0] ? -1 : 1)) : tile.k) emit('incr', `${p}:k:${member}`, String(count));
  }
}

/**
 * The tile's hi carried by one field of encodeTileSets' output (`hi`, or the `t` summary,
 * which starts with it); undefined for the other fields.
 */
export function hiOfSetField(field: string, value: string): number | undefined {
  if (field.endsWith(':hi')) return Number(value);
  if (field.endsWith(':t')) return Number(value.slice(0, value.indexOf(',')));
  return undefined;
}

/** The `t` field's value: `<hi>,<hi - lo>[,<n>[,<s>]]`. */
function summaryOf(tile: Tile): string {
  const times = `${tile.hi},${tile.hi - tile.lo}`;
  if (tile.s !== undefined) return `${times},${tile.n ?? ''},${tile.s}`;
  return tile.n !== undefined ? `${times},${tile.n}` : times;
}

/** The ops that add one tile's IR into the hash (commutative; see ops.ts). Empty tiles write nothing. */
export function encodeTileOps(series: TileSeries, tileStart: number, tile: Tile): TileOp[] {
  if (isEmptyTile(tile)) return [];
  const p = tilePrefix(tileStart, series.tileMs, series.id);
  const ops: TileOp[] = [];
  visitTileFields(p, series, tile, false, (op, field, value) => ops.push(op === 'incr' ? { op, field, by: value } : { op, field, value }));
  if (tile.l !== undefined) ops.push({ op: 'topn', field: `${p}:l`, n: series.limit, items: [...tile.l] });
  return ops;
}

/**
 * encodeTileOps straight into the store's wire form (core/ops.ts opsToArgv: per op its
 * name, field and value), appended to `out`: the online worker sends these strings as
 * they are, without an op object per field in between. Same ops, same order.
 */
export function encodeTileWire(series: TileSeries, tileStart: number, tile: Tile, out: string[]): void {
  if (isEmptyTile(tile)) return;
  const p = tilePrefix(tileStart, series.tileMs, series.id);
  visitTileFields(p, series, tile, false, (op, field, value) => out.push(op, field, value));
  if (tile.l !== undefined) out.push('topn', `${p}:l`, String(series.limit), JSON.stringify(tile.l));
}

/**
 * What encodeTileOps' ops store into absent fields, as plain sets (core/ops.ts
 * asSetsOnCleared of them, built without the commutative ops in between), except that hi,
 * lo, n and s are the one `t` field: the backfill's writes, whose fields the same atomic
 * write clears first. Decodes to the same tile (tested). Appended to `out`.
 */
export function encodeTileSets(series: TileSeries, tileStart: number, tile: Tile, out: TileOp[]): void {
  if (isEmptyTile(tile)) return;
  const p = tilePrefix(tileStart, series.tileMs, series.id);
  visitTileFields(p, series, tile, true, (_op, field, value) => out.push({ op: 'set', field, value }));
  if (tile.l !== undefined) out.push({ op: 'set', field: `${p}:l`, value: JSON.stringify(keepMostRecent(tile.l, series.limit)) });
}

/**
 * Decodes one hash (tile size tileMs) into IRs, adding to `into` (so an entity's hashes
 * of several tile sizes decode into one TileSet; series ids already include the tile size).
 * Needs no registry: series no longer defined decode too, and are simply never read.
 */
export function decodeHash(fields: HashFields, tileMs: number, into: TileSet = new Map()): TileSet {
  const parts: string[] = [];
  for (const [field, text] of Object.entries(fields)) {
    if (field.includes('\n') || text.includes('\n')) throw new TileCodecError(`tile field ${JSON.stringify(field)}: newline in a field or value`);
    parts.push(field, text);
  }
  decodePacked(parts.join('\n'), tileMs, into);
  return into;
}

/**
 * decodeHash for a hash packed as `field\nvalue\nfield\nvalue...` ('' = no field), as
 * store/lua/read-tiles.lua sends it: the readers' hot path, and the one implementation of
 * the field grammar's decoding. It scans the string in place: no field or value is cut out
 * unless it is kept (series ids once per run of fields of one series, members, sums), so
 * a hash of a thousand fields costs a few allocations per tile, not several per field.
 * Store metadata fields ('_...') go to onMeta, if given. Returns how many fields and values
 * it read (the caller can compare with what the sender counted).
 */
export function decodePacked(packed: string, tileMs: number, into: TileSet, onMeta?: (field: string, value: string) => void): number {
  const touched: Tile[] = [];
  let lines = 0;
  let seriesId = '';
  let tiles: Map<number, Tile> | undefined;
  let pos = 0;
  while (pos < packed.length) {
    const fieldEnd = packed.indexOf('\n', pos);
    if (fieldEnd < 0) throw new TileCodecError(`tile field ${JSON.stringify(packed.slice(pos, pos + 80))} has no value`);
    let end = packed.indexOf('\n', fieldEnd + 1);
    if (end < 0) end = packed.length;
    lines += 2;
    if (packed.charCodeAt(pos) === UNDERSCORE) {
      onMeta?.(packed.slice(pos, fieldEnd), packed.slice(fieldEnd + 1, end));
      pos = end + 1;
      continue;
    }
    const field: FieldSpan = { text: packed, start: pos, end: fieldEnd };
    const a = packed.indexOf(':', pos);
    const b = a <= pos || a >= fieldEnd ? -1 : packed.indexOf(':', a + 1);
    if (b < 0 || b >= fieldEnd) throw malformed(field);
    if (tiles === undefined || b - a - 1 !== seriesId.length || !packed.startsWith(seriesId, a + 1)) {
      seriesId = packed.slice(a + 1, b);
      tiles = into.get(seriesId);
      if (tiles === undefined) into.set(seriesId, (tiles = new Map()));
    }
    const start = base36(field, pos, a) * tileMs;
    let tile = tiles.get(start);
    if (tile === undefined) {
      tiles.set(start, (tile = { lo: Infinity, hi: -Infinity }));
      touched.push(tile);
    }
    const value: FieldSpan = { text: packed, start: fieldEnd + 1, end };
    decodePart(tile, field, b + 1, value);
    pos = end + 1;
  }
  // Writers always set hi and lo with the rest of a tile, atomically; a tile without them is corrupt.
  for (const tile of touched) if (isEmptyTile(tile)) throw new TileCodecError('tile without hi/lo times');
  return lines;
}

/** A field name or value: text[start, end). */
interface FieldSpan {
  text: string;
  start: number;
  end: number;
}

const UNDERSCORE = '_'.charCodeAt(0);
const [COLON, MINUS, DIGIT_0, DIGIT_9, LOWER_A, LOWER_Z] = [':', '-', '0', '9', 'a', 'z'].map((c) => c.charCodeAt(0)) as [number, number, number, number, number, number];
const PART_CODES = { h: 'h'.charCodeAt(0), i: 'i'.charCodeAt(0), l: 'l'.charCodeAt(0), o: 'o'.charCodeAt(0), n: 'n'.charCodeAt(0), s: 's'.charCodeAt(0), v: 'v'.charCodeAt(0), d: 'd'.charCodeAt(0), k: 'k'.charCodeAt(0), t: 't'.charCodeAt(0) };
const COMMA = ','.charCodeAt(0);

const show = (f: FieldSpan): string => JSON.stringify(f.text.slice(f.start, f.end));
const malformed = (field: FieldSpan): TileCodecError => new TileCodecError(`malformed tile field ${show(field)}`);

/**
 * Adds the part of `tile` named by the field from `at` on (`hi`, `lo`, `n`, `s`, `v`, `l`,
 * `t`, `d:<m>`, `k:<m>`). hi, lo, n and s merge (max, min, sums): a backfilled tile's `t`
 * and the online writer's later separate fields are two parts of one tile; a hash holds
 * each field once, so without `t` this is plain assignment.
 */
function decodePart(tile: Tile, field: FieldSpan, at: number, value: FieldSpan): void {
  const { text } = field;
  const length = field.end - at;
  const second = length > 1 ? text.charCodeAt(at + 1) : -1;
  switch (text.charCodeAt(at)) {
    case PART_CODES.h: if (length === 2 && second === PART_CODES.i) { tile.hi = Math.max(tile.hi, integer(value, field)); return; } break;
    case PART_CODES.l:
      if (length === 2 && second === PART_CODES.o) { tile.lo = Math.min(tile.lo, integer(value, field)); return; }
      if (length === 1) {
        try { tile.l = parseRecentItems(text.slice(value.start, value.end)); } catch (err) { throw new TileCodecError(`${show(field)}: ${(err as Error).message}`); }
        return;
      }
      break;
    case PART_CODES.n: if (length === 1) { tile.n = (tile.n ?? 0) + integer(value, field); return; } break;
    case PART_CODES.s: if (length === 1) { tile.s = (tile.s ?? 0n) + bigint(value, field); return; } break;
    case PART_CODES.t: if (length === 1) { decodeSummary(tile, field, value); return; } break;
    case PART_CODES.v: if (length === 1) { tile.v = bigint(value, field); return; } break;
    case PART_CODES.d: if (second === COLON) { (tile.d ??= new Set()).add(text.slice(at + 2, field.end)); return; } break;
    case PART_CODES.k: if (second === COLON) { (tile.k ??= new Map()).set(text.slice(at + 2, field.end), integer(value, field)); return; } break;
  }
  throw malformed(field);
}

/** Merges a `t` value (`<hi>,<hi - lo>[,<n>[,<s>]]`, n and s possibly empty) into the tile. */
function decodeSummary(tile: Tile, field: FieldSpan, value: FieldSpan): void {
  const { text } = value;
  const cuts: number[] = [];
  for (let i = value.start; i < value.end; i++) if (text.charCodeAt(i) === COMMA) cuts.push(i);
  if (cuts.length < 1 || cuts.length > 3) throw new TileCodecError(`${show(field)}: not a tile summary: ${show(value)}`);
  const span = (k: number): FieldSpan => ({ text, start: k === 0 ? value.start : (cuts[k - 1] as number) + 1, end: cuts[k] ?? value.end });
  const hi = integer(span(0), field);
  const width = integer(span(1), field);
  if (width < 0) throw new TileCodecError(`${show(field)}: lo after hi: ${show(value)}`);
  tile.hi = Math.max(tile.hi, hi);
  tile.lo = Math.min(tile.lo, hi - width);
  const n = span(2);
  if (cuts.length >= 2 && n.end > n.start) tile.n = (tile.n ?? 0) + integer(n, field);
  if (cuts.length === 3) tile.s = (tile.s ?? 0n) + bigint(span(3), field);
}

/** The tile index (base 36, optional '-') at text[from, to). */
function base36(field: FieldSpan, from: number, to: number): number {
  const { text } = field;
  const negative = text.charCodeAt(from) === MINUS;
  let i = negative ? from + 1 : from;
  if (i >= to) throw malformed(field);
  let v = 0;
  for (; i < to; i++) {
    const c = text.charCodeAt(i);
    const d = c >= DIGIT_0 && c <= DIGIT_9 ? c - DIGIT_0 : c >= LOWER_A && c <= LOWER_Z ? c - LOWER_A + 10 : -1;
    if (d < 0) throw malformed(field);
    v = v * 36 + d;
  }
  if (v > Number.MAX_SAFE_INTEGER) throw malformed(field);
  return negative ? -v : v;
}

/** True when the span is a canonical decimal integer: optional '-', then digits. */
function isInteger(s: FieldSpan): boolean {
  let i = s.text.charCodeAt(s.start) === MINUS ? s.start + 1 : s.start;
  if (i >= s.end) return false;
  for (; i < s.end; i++) {
    const c = s.text.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) return false;
  }
  return true;
}

function integer(value: FieldSpan, field: FieldSpan): number {
  let v = 0;
  if (isInteger(value)) {
    const negative = value.text.charCodeAt(value.start) === MINUS;
    for (let i = negative ? value.start + 1 : value.start; i < value.end; i++) v = v * 10 + value.text.charCodeAt(i) - DIGIT_0;
    if (v <= Number.MAX_SAFE_INTEGER) return negative ? -v : v;
  }
  throw new TileCodecError(`${show(field)}: not an integer: ${show(value)}`);
}

function bigint(value: FieldSpan, field: FieldSpan): bigint {
  if (!isInteger(value)) throw new TileCodecError(`${show(field)}: not an integer: ${show(value)}`);
  return BigInt(value.text.slice(value.start, value.end));
}
