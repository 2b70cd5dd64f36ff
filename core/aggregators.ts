// The aggregation algebra (Chronon's BaseAggregator): every tile holds an intermediate
// representation (IR); update folds one sample in, merge folds another IR in, finalize
// turns the IR of a whole window into the served value. Stores keep IRs; only readers
// finalize. update and merge are commutative and associative, which is what makes
// tiles order-independent and lets batches be split or merged freely.
import type { Sample } from './sample.js';
import { keepMostRecent, compareCodePoints, compareIntStrings, compareRecentFirst, type RecentItem } from './ordering.js';
import type { FeatureValue, TileAggregation, ValueKind } from './features/definition.js';

/** The IR shape a series keeps. Several aggregations share one (see irKindOf). */
export type IrKind = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'distinct' | 'last_n' | 'top_k';

/**
 * A tile's IR. lo/hi (first/last event time in the tile) are kept for every kind: readers
 * use them to know whether a tile lies wholly before T, and sessions and recency are built
 * from them. Only the parts of the series' kind are set:
 * count: n | sum: s | avg: s, n | min, max: v | distinct: d | top_k: k | last_n: l.
 */
export interface Tile {
  /** earliest event time; +Infinity when empty */
  lo: number;
  /** latest event time; -Infinity when empty */
  hi: number;
  n?: number;
  /** sum of scaled values (micro-units for money) */
  s?: bigint;
  /** min or max of scaled values */
  v?: bigint;
  /** distinct members */
  d?: Set<string>;
  /** member -> count */
  k?: Map<string, number>;
  /** the `limit` most recent entries, most recent first */
  l?: RecentItem[];
}

/** Maps an aggregation to its IR: session and recency features only need counts and times. */
export function irKindOf(agg: TileAggregation): IrKind {
  switch (agg) {
    case 'session_count': case 'session_duration': case 'recency': return 'count';
    default: return agg;
  }
}

export function emptyTile(kind: IrKind): Tile {
  const tile: Tile = { lo: Infinity, hi: -Infinity };
  switch (kind) {
    case 'count': tile.n = 0; break;
    case 'sum': tile.s = 0n; break;
    case 'avg': tile.s = 0n; tile.n = 0; break;
    case 'min': case 'max': break;
    case 'distinct': tile.d = new Set(); break;
    case 'top_k': tile.k = new Map(); break;
    case 'last_n': tile.l = []; break;
  }
  return tile;
}

export function isEmptyTile(tile: Tile): boolean {
  return tile.hi < tile.lo;
}

/** Folds one sample into a tile (mutates it). `limit` is N for last_n. */
export function updateTile(kind: IrKind, limit: number, tile: Tile, sample: Sample): void {
  tile.lo = Math.min(tile.lo, sample.time);
  tile.hi = Math.max(tile.hi, sample.time);
  switch (kind) {
    case 'count': tile.n = (tile.n ?? 0) + 1; break;
    case 'sum': tile.s = (tile.s ?? 0n) + sample.scaled; break;
    case 'avg': tile.s = (tile.s ?? 0n) + sample.scaled; tile.n = (tile.n ?? 0) + 1; break;
    case 'min': tile.v = tile.v === undefined || sample.scaled < tile.v ? sample.scaled : tile.v; break;
    case 'max': tile.v = tile.v === undefined || sample.scaled > tile.v ? sample.scaled : tile.v; break;
    case 'distinct': (tile.d ??= new Set()).add(sample.member); break;
    case 'top_k': {
      const k = (tile.k ??= new Map());
      k.set(sample.member, (k.get(sample.member) ?? 0) + 1);
      break;
    }
    case 'last_n': {
      const item: RecentItem = [String(sample.time), sample.eventId, sample.userId, sample.member];
      tile.l = insertRecent(tile.l ?? [], item, limit);
      break;
    }
  }
}

/**
 * keepMostRecent([...list, item], limit) for a list that is already its own result (sorted,
 * at most limit long), in place: the item goes after every entry that sorts before or
 * equal to it, as the stable sort puts it. No copy and no sort per event.
 */
function insertRecent(list: RecentItem[], item: RecentItem, limit: number): RecentItem[] {
  let at = list.length;
  while (at > 0 && compareRecentFirst(list[at - 1] as RecentItem, item) > 0) at--;
  if (at >= limit) return list;
  list.splice(at, 0, item);
  if (list.length > limit) list.length = limit;
  return list;
}

/** Folds tile `from` into tile `into` (mutates `into`, never `from`). */
export function mergeTile(kind: IrKind, limit: number, into: Tile, from: Tile): void {
  if (isEmptyTile(from)) return;
  into.lo = Math.min(into.lo, from.lo);
  into.hi = Math.max(into.hi, from.hi);
  if (from.n !== undefined) into.n = (into.n ?? 0) + from.n;
  if (from.s !== undefined) into.s = (into.s ?? 0n) + from.s;
  if (from.v !== undefined) {
    const keepMin = kind === 'min';
    if (into.v === undefined || (keepMin ? from.v < into.v : from.v > into.v)) into.v = from.v;
  }
  if (from.d !== undefined) {
    const d = (into.d ??= new Set());
    for (const member of from.d) d.add(member);
  }
  if (from.k !== undefined) {
    const k = (into.k ??= new Map());
    for (const [member, count] of from.k) k.set(member, (k.get(member) ?? 0) + count);
  }
  if (from.l !== undefined) into.l = keepMostRecent([...(into.l ?? []), ...from.l], limit);
}

/** What finalize needs to know about the feature besides its IR. */
export interface FinalizeSpec {
  aggregation: TileAggregation;
  /** N of last_n, K of top_k */
  limit: number;
  /** kind of the value expression (lists decode members with it) */
  valueKind: ValueKind | null;
  /** numeric values are divided by this at the end (1e6 for money) */
  scale: number;
}

function decodeMember(member: string, spec: FinalizeSpec): string | number {
  return spec.valueKind === 'string' || spec.valueKind === null ? member : Number(member) / spec.scale;
}

/**
 * The served value of a window's merged IR at query time T. Empty results follow DESIGN §4:
 * count/sum/distinct 0, avg/min/max/duration/recency null, lists [].
 */
export function finalizeTile(spec: FinalizeSpec, ir: Tile, T: number): FeatureValue {
  const empty = isEmptyTile(ir);
  switch (spec.aggregation) {
    case 'count': case 'session_count': return ir.n ?? 0;
    case 'sum': return Number(ir.s ?? 0n) / spec.scale;
    case 'avg': return empty || !ir.n ? null : Number(ir.s ?? 0n) / ir.n / spec.scale;
    case 'min': case 'max': return ir.v === undefined ? null : Number(ir.v) / spec.scale;
    case 'distinct': return ir.d?.size ?? 0;
    case 'last_n': return (ir.l ?? []).slice(0, spec.limit).map((item) => decodeMember(item[3], spec));
    case 'top_k': {
      const byValue = spec.valueKind === 'string' ? compareCodePoints : compareIntStrings;
      return [...(ir.k ?? new Map<string, number>())]
        .sort((a, b) => b[1] - a[1] || byValue(a[0], b[0]))
        .slice(0, spec.limit)
        .map(([member]) => decodeMember(member, spec));
    }
    case 'session_duration': return empty ? null : (ir.hi - ir.lo) / 1000;
    case 'recency': return empty ? null : (T - ir.hi) / 1000;
  }
}
