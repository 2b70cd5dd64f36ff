// The tile codec: the one contract between tile writers (stream worker, backfill) and
// readers (online store reader). All tiles of one entity and one tile size live in one
// Redis HASH; every tile of every series in it is a handful of flat fields:
//
//   <tile>:<series>:<part>[:<member>]
//   tile    floor(tileStart / tileMs) in base 36 (the hash's tile size gives the unit)
//   series  the 5-character series id (features/series.ts)
//   part    hi  max event time in the tile (ms)        op max      every series
//           lo  min event time in the tile (ms)        op min      every series
//           n   event count                            op incr     count, avg
//           s   sum of scaled values (micros for money) op incr     sum, avg
//           v   min or max scaled value                op min/max  min, max
//           d:<member>  1 per distinct value           op setnx    distinct
//           k:<member>  count per value                op incr     top_k
//           l   JSON [[time, event_id, user_id, value], ...], N most recent  op topn  last_n
// Fields starting with '_' are the store's own metadata and are ignored here.
import { isEmptyTile, type Tile } from './aggregators.js';
import { parseRecentItems, type HashFields, type TileOp } from './ops.js';
import type { Series } from './features/series.js';

/** Bump when the layout above changes; the store puts it in its key names. */
export const CODEC_VERSION = 1;

/** Decoded tiles of one entity: series id -> tile start (ms) -> IR. */
export type TileSet = Map<string, Map<number, Tile>>;

export type TilePart = 'hi' | 'lo' | 'n' | 's' | 'v' | 'd' | 'k' | 'l';
const PARTS: ReadonlySet<string> = new Set<TilePart>(['hi', 'lo', 'n', 's', 'v', 'd', 'k', 'l']);

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

/** The ops that add one tile's IR into the hash (commutative; see ops.ts). Empty tiles write nothing. */
export function encodeTileOps(series: Pick<Series, 'id' | 'ir' | 'limit' | 'tileMs'>, tileStart: number, tile: Tile): TileOp[] {
  if (isEmptyTile(tile)) return [];
  const p = tilePrefix(tileStart, series.tileMs, series.id);
  const ops: TileOp[] = [
    { op: 'max', field: `${p}:hi`, value: String(tile.hi) },
    { op: 'min', field: `${p}:lo`, value: String(tile.lo) },
  ];
  if (tile.n !== undefined) ops.push({ op: 'incr', field: `${p}:n`, by: String(tile.n) });
  if (tile.s !== undefined) ops.push({ op: 'incr', field: `${p}:s`, by: tile.s.toString() });
  if (tile.v !== undefined) ops.push({ op: series.ir === 'min' ? 'min' : 'max', field: `${p}:v`, value: tile.v.toString() });
  for (const member of [...(tile.d ?? [])].sort()) ops.push({ op: 'setnx', field: `${p}:d:${member}`, value: '1' });
  for (const [member, count] of [...(tile.k ?? [])].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    ops.push({ op: 'incr', field: `${p}:k:${member}`, by: String(count) });
  }
  if (tile.l !== undefined) ops.push({ op: 'topn', field: `${p}:l`, n: series.limit, items: [...tile.l] });
  return ops;
}

function integer(text: string, field: string): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) throw new TileCodecError(`${field}: not an integer: ${JSON.stringify(text)}`);
  return value;
}

function bigint(text: string, field: string): bigint {
  if (!/^-?\d+$/.test(text)) throw new TileCodecError(`${field}: not an integer: ${JSON.stringify(text)}`);
  return BigInt(text);
}

/**
 * Decodes one hash (tile size tileMs) into IRs, adding to `into` (so an entity's hashes
 * of several tile sizes decode into one TileSet; series ids already include the tile size).
 * Needs no registry: series no longer defined decode too, and are simply never read.
 */
export function decodeHash(fields: HashFields, tileMs: number, into: TileSet = new Map()): TileSet {
  const list: string[] = [];
  for (const [field, text] of Object.entries(fields)) list.push(field, text);
  return decodeFieldList(list, tileMs, into);
}

/**
 * decodeHash for a flat [field, value, field, value, ...] list (what HGETALL sends on the
 * wire): the readers' hot path. Every field is checked as parseField does; the work per
 * field is a few indexOf/slice calls, since the `<tile>:<series>` prefix is resolved to its
 * tile once per tile, not once per field.
 */
export function decodeFieldList(list: readonly string[], tileMs: number, into: TileSet = new Map()): TileSet {
  if (list.length % 2 !== 0) throw new TileCodecError(`odd field list (${list.length} entries)`);
  const byPrefix = new Map<string, Tile>();
  const touched: Tile[] = [];
  for (let i = 0; i < list.length; i += 2) {
    const field = list[i] as string;
    const text = list[i + 1] as string;
    if (field.charCodeAt(0) === UNDERSCORE) continue; // store metadata
    const a = field.indexOf(':');
    const b = a <= 0 ? -1 : field.indexOf(':', a + 1);
    if (b < 0) throw malformed(field);
    const prefix = field.slice(0, b);
    let tile = byPrefix.get(prefix);
    if (tile === undefined) {
      tile = tileOf(field, a, b, tileMs, into, touched);
      byPrefix.set(prefix, tile);
    }
    const c = field.indexOf(':', b + 1);
    const part = c < 0 ? field.slice(b + 1) : field.slice(b + 1, c);
    if ((part === 'd' || part === 'k') !== c >= 0) throw malformed(field);
    switch (part) {
      case 'hi': tile.hi = integer(text, field); break;
      case 'lo': tile.lo = integer(text, field); break;
      case 'n': tile.n = integer(text, field); break;
      case 's': tile.s = bigint(text, field); break;
      case 'v': tile.v = bigint(text, field); break;
      case 'd': (tile.d ??= new Set()).add(field.slice(c + 1)); break;
      case 'k': (tile.k ??= new Map()).set(field.slice(c + 1), integer(text, field)); break;
      case 'l':
        try { tile.l = parseRecentItems(text); } catch (err) { throw new TileCodecError(`${field}: ${(err as Error).message}`); }
        break;
      default: throw malformed(field);
    }
  }
  // Writers always set hi and lo with the rest of a tile, atomically; a tile without them is corrupt.
  for (const tile of touched) if (isEmptyTile(tile)) throw new TileCodecError('tile without hi/lo times');
  return into;
}

const UNDERSCORE = '_'.charCodeAt(0);
const TILE_TEXT = /^-?[0-9a-z]+$/;

const malformed = (field: string): TileCodecError => new TileCodecError(`malformed tile field ${JSON.stringify(field)}`);

/** The tile of the field's `<tile>:<series>` prefix (colons at a and b), created when new. */
function tileOf(field: string, a: number, b: number, tileMs: number, into: TileSet, touched: Tile[]): Tile {
  const tileText = field.slice(0, a);
  const tileIndex = parseInt(tileText, 36);
  if (!TILE_TEXT.test(tileText) || !Number.isSafeInteger(tileIndex)) throw malformed(field);
  const seriesId = field.slice(a + 1, b);
  let tiles = into.get(seriesId);
  if (tiles === undefined) into.set(seriesId, (tiles = new Map()));
  const start = tileIndex * tileMs;
  let tile = tiles.get(start);
  if (tile === undefined) {
    tiles.set(start, (tile = { lo: Infinity, hi: -Infinity }));
    touched.push(tile);
  }
  return tile;
}
