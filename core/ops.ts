// Tile writes as primitive hash operations. A batch of writes to one Redis HASH (one
// entity, one tile size) is a list of these ops; a generic Lua script applies them in one
// atomic call. applyOps below is their reference semantics, in TypeScript, so the script
// can be tested against it. All ops commute, so writers of one item from different
// partitions never need to coordinate; max, min and setnx are also idempotent (incr and
// topn are not: a write is applied once, which the offset markers ensure).
//
// Semantics (field values are strings; integers are canonical decimal strings):
//   incr  field by       HINCRBY field by   (by: decimal int64; pass the string through untouched)
//   max   field value    set when the field is absent or value > current (numeric compare)
//   min   field value    set when the field is absent or value < current (numeric compare)
//   setnx field value    HSETNX field value
//   topn  field n items  field holds a JSON array of [time, event_id, user_id, value] (all
//                        strings). Union the stored array with items, sort most recent first
//                        (time desc numerically, then event_id, user_id, value desc by
//                        byte-wise comparison), keep the first n (equal entries too), and
//                        store the JSON array. Absent field = [].
//   tsum  field value    the tile summary `t` (core/codec.ts): value `<hi>,<hi - lo>[,<n>]`;
//                        merged into the stored `<hi>,<hi - lo>[,<n>[,<s>]]` (absent: as
//                        given) as hi max, lo min, n summed; a stored s (the backfill's)
//                        is kept as it is. One op instead of max hi, min lo and incr n.
//   set   field value    HSET field value. Not commutative, so only for a field the same
//                        atomic write has just cleared (backfill recomputes whole tiles,
//                        one op per field), where incr, max, min and setnx of the absent
//                        field would store exactly this value: no read, no compare.
// Notes for the Lua script: compare max/min/topn times numerically (all values here are
// non-negative integers below 2^53, so tonumber is exact; or compare by length then
// bytes), compare strings byte-wise (not with `<`, which follows the locale), and decode
// the stored topn JSON with cjson: the stored bytes may differ, the meaning may not.
import { compareIntStrings, keepMostRecent, type RecentItem } from './ordering.js';

export type TileOp =
  | { op: 'incr'; field: string; by: string }
  | { op: 'max'; field: string; value: string }
  | { op: 'min'; field: string; value: string }
  | { op: 'setnx'; field: string; value: string }
  | { op: 'tsum'; field: string; value: string }
  | { op: 'set'; field: string; value: string }
  | { op: 'topn'; field: string; n: number; items: RecentItem[] };

/** A Redis hash as returned by HGETALL. */
export type HashFields = Readonly<Record<string, string>>;

/** Parses a stored topn array; throws on anything else. */
export function parseRecentItems(text: string): RecentItem[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new TypeError('topn field is not a JSON array');
  return parsed.map((item: unknown) => {
    if (!Array.isArray(item) || item.length !== 4 || !item.every((x) => typeof x === 'string')) {
      throw new TypeError(`bad topn entry ${JSON.stringify(item)}`);
    }
    return item as unknown as RecentItem;
  });
}

/** The reference semantics of the ops: returns a new hash, `hash` is not modified. */
export function applyOps(hash: HashFields, ops: readonly TileOp[]): Record<string, string> {
  const out: Record<string, string> = { ...hash };
  for (const op of ops) {
    const current = out[op.field];
    switch (op.op) {
      case 'incr':
        out[op.field] = (BigInt(current ?? '0') + BigInt(op.by)).toString();
        break;
      case 'max':
        if (current === undefined || compareIntStrings(op.value, current) > 0) out[op.field] = op.value;
        break;
      case 'min':
        if (current === undefined || compareIntStrings(op.value, current) < 0) out[op.field] = op.value;
        break;
      case 'setnx':
        if (current === undefined) out[op.field] = op.value;
        break;
      case 'set':
        out[op.field] = op.value;
        break;
      case 'tsum':
        out[op.field] = current === undefined ? op.value : mergeSummary(current, op.value);
        break;
      case 'topn': {
        const stored = current === undefined ? [] : parseRecentItems(current);
        out[op.field] = JSON.stringify(keepMostRecent([...stored, ...op.items], op.n));
        break;
      }
    }
  }
  return out;
}

/** A `t` summary split into hi, lo, n and s (n, s undefined when absent or empty). */
function splitSummary(text: string): { hi: number; lo: number; n?: number; s?: string } {
  const [hi, width, n, s] = text.split(',');
  const out: { hi: number; lo: number; n?: number; s?: string } = { hi: Number(hi), lo: Number(hi) - Number(width) };
  if (n !== undefined && n !== '') out.n = Number(n);
  if (s !== undefined) out.s = s;
  return out;
}

/** tsum's merge: `incoming` (`<hi>,<hi - lo>[,<n>]`) into the stored summary `current`. */
export function mergeSummary(current: string, incoming: string): string {
  const a = splitSummary(current);
  const b = splitSummary(incoming);
  const hi = Math.max(a.hi, b.hi);
  const lo = Math.min(a.lo, b.lo);
  const n = a.n === undefined && b.n === undefined ? undefined : (a.n ?? 0) + (b.n ?? 0);
  const times = `${hi},${hi - lo}`;
  if (a.s !== undefined) return `${times},${n ?? ''},${a.s}`;
  return n === undefined ? times : `${times},${n}`;
}

/**
 * The ops that store `ops`' result into fields that are all absent: the value each op
 * would store there, as a plain set (topn: its items sorted, deduplicated and cut here,
 * as applyOps stores them). For backfill writes, whose fields the same write clears first.
 */
export function asSetsOnCleared(ops: readonly TileOp[]): TileOp[] {
  return ops.map((op) => {
    switch (op.op) {
      case 'incr': return { op: 'set', field: op.field, value: op.by };
      case 'max': case 'min': case 'setnx': case 'set': case 'tsum': return { op: 'set', field: op.field, value: op.value };
      case 'topn': return { op: 'set', field: op.field, value: JSON.stringify(keepMostRecent(op.items, op.n)) };
    }
  });
}

/**
 * Flat wire form for a Lua script's ARGV: per op its name, the field, then
 *   incr: by | max, min, setnx, tsum, set: value | topn: n, JSON array of items;
 * except that the set ops come last as ONE entry, 'mset', count, then their fields and
 * values joined by '\n' (a backfill write sets thousands of fields: one string instead of
 * three per field saves the client most of its allocations and the script most of its
 * ARGV strings). A set whose field or value holds a '\n' goes as a plain 'set'.
 */
export function opsToArgv(ops: readonly TileOp[]): string[] {
  const argv: string[] = [];
  const packed: string[] = [];
  for (const op of ops) {
    switch (op.op) {
      case 'incr': argv.push('incr', op.field, op.by); break;
      case 'max': case 'min': case 'setnx': case 'tsum': argv.push(op.op, op.field, op.value); break;
      case 'set':
        if (op.field.includes('\n') || op.value.includes('\n')) argv.push('set', op.field, op.value);
        else packed.push(op.field, op.value);
        break;
      case 'topn': argv.push('topn', op.field, String(op.n), JSON.stringify(op.items)); break;
    }
  }
  if (packed.length > 0) argv.push('mset', String(packed.length / 2), packed.join('\n'));
  return argv;
}

/** Inverse of opsToArgv (for tests and tooling). */
export function argvToOps(argv: readonly string[]): TileOp[] {
  const ops: TileOp[] = [];
  let i = 0;
  const next = (): string => {
    const value = argv[i++];
    if (value === undefined) throw new TypeError('truncated op list');
    return value;
  };
  while (i < argv.length) {
    const op = next();
    const field = next();
    if (op === 'mset') {
      const parts = next().split('\n');
      if (parts.length !== 2 * Number(field)) throw new TypeError('mset: count and fields disagree');
      for (let k = 0; k < parts.length; k += 2) ops.push({ op: 'set', field: parts[k] as string, value: parts[k + 1] as string });
      continue;
    }
    switch (op) {
      case 'incr': ops.push({ op, field, by: next() }); break;
      case 'max': case 'min': case 'setnx': case 'tsum': case 'set': ops.push({ op, field, value: next() }); break;
      case 'topn': {
        const n = Number(next());
        ops.push({ op, field, n, items: parseRecentItems(next()) });
        break;
      }
      default: throw new TypeError(`unknown op ${JSON.stringify(op)}`);
    }
  }
  return ops;
}
