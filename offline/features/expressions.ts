// One feature definition -> the ClickHouse expression of its value at query time `_T`,
// aggregated over the (entity, T) group of joined events. This is the one allowed second
// implementation of DESIGN §4 (core/reference.ts is the oracle; tests compare the two), and
// it is generated from the same definitions: filter and value come from core's selectorOf,
// window bounds mirror core/windows.ts, finalisation mirrors core/aggregators.ts
// finalizeTile (same IEEE operations in the same order, so results are identical doubles):
//   sum = sum_micros / scale, avg = sum_micros / count / scale, min/max = micros / scale,
//   session duration = (last - first) / 1000, recency = (T - last) / 1000, ratio = num / den.
// Empty results are the defaults a LEFT JOIN gives an unmatched row (0, NULL, []), so a
// label without any event needs no special case.
import { selectorOf } from '../../core/features/series.js';
import {
  isRatio, outputType, valueKind, valueScale, type FeatureDefinition, type TileFeature,
} from '../../core/features/definition.js';
import { DEFAULT_SESSION_LOOKBACK_MS } from '../../core/windows.js';
import { inList, int64, join, sql, str, type Sql } from '../sql.js';
import { COL, hasColumn, valueColumn } from './source.js';

/** The query-time column of the joined labels (Int64 epoch ms). */
export const T_COL = sql`_T`;

export interface ExprOptions {
  /**
   * 'bounded': session features look back their window's lookbackMs (default 24h) and flag
   * labels whose active session may have begun earlier; 'unbounded': all history (exact).
   */
  sessions: 'bounded' | 'unbounded';
  lookup: (name: string) => FeatureDefinition;
}

export function timeColumn(def: TileFeature): Sql {
  return (def.time ?? 'event') === 'ingestion' ? COL.it : COL.t;
}

/**
 * floor_size(x) aligned to the epoch, also for negative x (core/windows.ts floorTo). The
 * divisor is cast to Int64: ClickHouse types `Int64 % UInt16` as Int16, so 49207 would wrap.
 */
export function floorSql(x: Sql, sizeMs: number): Sql {
  const n = sql`toInt64(${int64(sizeMs)})`;
  return sql`(${x} - (((${x}) % ${n}) + ${n}) % ${n})`;
}

export function sessionScanMs(def: TileFeature): number {
  return def.window.kind === 'session' ? (def.window.lookbackMs ?? DEFAULT_SESSION_LOOKBACK_MS) : 0;
}

/** How far before T the feature can look (ms), or null for all history. */
export function lookbackMs(def: TileFeature, opts: ExprOptions): number | null {
  const w = def.window;
  switch (w.kind) {
    case 'sliding': return w.sizeMs + w.hopMs;
    case 'tumbling': return 2 * w.sizeMs;
    case 'hopping': return w.sizeMs + w.slideMs;
    case 'recency': return w.horizonMs;
    case 'session': return opts.sessions === 'unbounded' ? null : sessionScanMs(def);
  }
}

/** Event type and required-field filter of the feature (core's canonical selector). */
export function scopeCondition(def: TileFeature): Sql {
  const sel = selectorOf(def);
  const parts: Sql[] = [];
  if (sel.eventTypes !== null) parts.push(sql`${COL.type} IN ${inList(sel.eventTypes.map((t) => str(t)))}`);
  for (const f of sel.requires) parts.push(sql`${hasColumn(f)} = 1`);
  return parts.length === 0 ? sql`1` : join(parts, sql` AND `);
}

/**
 * [start, end) of the window at T (DESIGN §4), as SQL over T; null for sessions (their
 * extent depends on the events). Shared by the paired conditions and the ranked path's
 * markers, so both paths read one definition.
 */
export function windowBounds(def: TileFeature): { start: Sql; end: Sql } | null {
  const w = def.window;
  switch (w.kind) {
    case 'sliding': return { start: floorSql(sql`${T_COL} - ${int64(w.sizeMs)}`, w.hopMs), end: T_COL };
    case 'tumbling': case 'hopping': {
      const end = floorSql(T_COL, w.kind === 'tumbling' ? w.sizeMs : w.slideMs);
      return { start: sql`${end} - ${int64(w.sizeMs)}`, end };
    }
    case 'recency': return { start: sql`${T_COL} - ${int64(w.horizonMs)}`, end: T_COL };
    case 'session': return null;
  }
}

/** The half-open window of DESIGN §4 at T, over the feature's time column. */
export function windowCondition(def: TileFeature, opts: ExprOptions): Sql {
  const t = timeColumn(def);
  const bounds = windowBounds(def);
  if (bounds !== null) return sql`${t} >= ${bounds.start} AND ${t} < ${bounds.end}`;
  return opts.sessions === 'unbounded' ? sql`${t} < ${T_COL}` : sql`${t} >= ${T_COL} - ${int64(sessionScanMs(def))} AND ${t} < ${T_COL}`;
}

function condition(def: TileFeature, opts: ExprOptions): Sql {
  return sql`(${scopeCondition(def)}) AND (${windowCondition(def, opts)})`;
}

/** The value column of the feature (Int64 for numbers, String otherwise). */
export function numericValue(def: TileFeature): Sql {
  if (def.value === undefined) throw new Error(`${def.name}: no value expression`);
  return valueColumn(def.value);
}

/** Last-N: most recent first by (time, event_id, user_id, value) desc; value as its decimal for numbers. */
function lastN(def: TileFeature, c: Sql): Sql {
  const expr = def.value;
  if (expr === undefined) throw new Error(`${def.name}: last_n needs a value`);
  const v = valueColumn(expr);
  const n = int64(def.limit ?? 0);
  const recent = (entry: Sql): Sql => sql`arraySlice(arrayReverseSort(groupArrayIf(${entry}, ${c})), 1, ${n})`;
  if (valueKind(expr) === 'string') return sql`arrayMap(_x -> tupleElement(_x, 4), ${recent(sql`(${timeColumn(def)}, ${COL.id}, ${COL.uid}, ${v})`)})`;
  return sql`arrayMap(_x -> tupleElement(_x, 5) / ${int64(valueScale(expr))}, ${recent(sql`(${timeColumn(def)}, ${COL.id}, ${COL.uid}, toString(${v}), ${v})`)})`;
}

/** `s` sorted: 1 where a run of equal elements starts (prev[i] = s[i - 1]; s[1] compares with itself, so position 1 is tested by index). */
export function runStarts(s: Sql): Sql {
  return sql`arrayMap((_x, _p, _i) -> _i = 1 OR _x != _p, ${s}, arrayPopBack(arrayPushFront(${s}, arrayElement(${s}, 1))), arrayEnumerate(${s}))`;
}

/**
 * Top-K by count, ties by value ascending, of an ascending-sorted array of values `s`:
 * equal values are runs, so the first element of each run and the gaps between the runs'
 * starts give (value, count) in one linear pass (no hashing; arrayEnumerateUniq over the
 * strings was most of the cost). Then sort (count desc, value asc) and keep K; numbers are
 * divided by their scale.
 */
export function topKOfSorted(def: TileFeature, s: Sql): Sql {
  const expr = def.value;
  if (expr === undefined) throw new Error(`${def.name}: top_k needs a value`);
  const first = runStarts(s);
  const starts = sql`arrayFilter((_i, _b) -> _b, arrayEnumerate(${s}), ${first})`;
  const counts = sql`arrayMap((_a, _b) -> _b - _a, ${starts}, arrayPopFront(arrayPushBack(${starts}, length(${s}) + 1)))`;
  const counted = sql`arrayMap((_c, _v) -> (_c, _v), ${counts}, arrayFilter((_x, _b) -> _b, ${s}, ${first}))`;
  const ranked = sql`arraySlice(arraySort(_p -> (-toInt64(tupleElement(_p, 1)), tupleElement(_p, 2)), ${counted}), 1, ${int64(def.limit ?? 0)})`;
  return valueKind(expr) === 'string'
    ? sql`arrayMap(_p -> tupleElement(_p, 2), ${ranked})`
    : sql`arrayMap(_p -> tupleElement(_p, 2) / ${int64(valueScale(expr))}, ${ranked})`;
}

/**
 * Top-K of `ids`, rank ids of string values in any order (the ranked path), mapped back
 * through `ranks` (the distinct values ascending, which the ids index). Counted without
 * sorting the window: an element's occurrence number counted from the end
 * (arrayEnumerateUniq of the reversed array) is, at the value's first occurrence, its
 * count; 4-byte ids hash cheaply, where sorting a window's ids was most of the cost.
 */
export function topKOfRankIds(def: TileFeature, ids: Sql, ranks: Sql): Sql {
  const k = def.limit ?? 0;
  const fromEnd = sql`arrayReverse(arrayEnumerateUniq(arrayReverse(${ids})))`;
  const counted = sql`arrayFilter((_p, _f) -> _f = 1, arrayMap((_c, _v) -> (_c, _v), ${fromEnd}, ${ids}), arrayEnumerateUniq(${ids}))`;
  const ranked = sql`arraySlice(arraySort(_p -> (-toInt64(tupleElement(_p, 1)), tupleElement(_p, 2)), ${counted}), 1, ${int64(k)})`;
  // K explicit lookups: a lambda would copy `ranks` per element (and 18.16 cannot read a
  // joined column inside one); positions past the end read 0, sliced off
  const kept = Array.from({ length: k }, (_, i) => sql`arrayElement(${ranks}, tupleElement(arrayElement(${ranked}, ${int64(i + 1)}), 2))`);
  return sql`arraySlice([${join(kept)}], 1, length(${ranked}))`;
}

function topK(def: TileFeature, c: Sql): Sql {
  return topKOfSorted(def, sql`arraySort(groupArrayIf(${numericValue(def)}, ${c}))`);
}

/** The active session over `a`, the in-scope event times of the window, ascending: its size, last and first event. */
function sessionOver(def: TileFeature, a: Sql) {
  if (def.window.kind !== 'session') throw new Error(`${def.name}: not a session window`);
  const gap = int64(def.window.gapMs);
  const n = sql`length(${a})`;
  const last = sql`arrayElement(${a}, ${n})`;
  const k = sql`arrayReduce('max', arrayMap((_d, _i) -> if(_i = 1 OR _d >= ${gap}, _i, 0), arrayDifference(${a}), arrayEnumerate(${a})))`;
  const active = sql`(${n} > 0 AND ${T_COL} - ${last} < ${gap})`;
  return { n, last, k, first: sql`arrayElement(${a}, ${k})`, active, gap };
}

function sessionTimes(def: TileFeature, opts: ExprOptions): Sql {
  return sql`arraySort(groupArrayIf(${timeColumn(def)}, ${condition(def, opts)}))`;
}

/**
 * 1 when the bounded scan cannot prove the active session began inside it (an unread event
 * less than a gap before its first event could extend it); such labels are recomputed
 * with sessions: 'unbounded'. null for other features. `times`: the window's in-scope
 * event times, ascending (default: aggregated from the joined pairs).
 */
export function sessionFlag(def: TileFeature, opts: ExprOptions, times?: Sql): Sql | null {
  if (def.window.kind !== 'session' || opts.sessions === 'unbounded') return null;
  const s = sessionOver(def, times ?? sessionTimes(def, opts));
  return sql`(${s.active} AND ${s.first} < ${T_COL} - ${int64(sessionScanMs(def))} + ${s.gap})`;
}

/** A session feature's value from the window's in-scope event times, ascending. */
export function sessionValue(def: TileFeature, times: Sql): Sql {
  const s = sessionOver(def, times);
  return def.aggregation === 'session_count' ? sql`if(${s.active}, ${s.n} - ${s.k} + 1, 0)` : sql`if(${s.active}, (${s.last} - ${s.first}) / 1000, NULL)`;
}

export function tileExpression(def: TileFeature, opts: ExprOptions): Sql {
  const c = condition(def, opts);
  const empty = sql`countIf(${c}) = 0`;
  const scale = (): Sql => int64(def.value === undefined ? 1 : valueScale(def.value));
  switch (def.aggregation) {
    case 'count': return sql`countIf(${c})`;
    case 'sum': return sql`sumIf(${numericValue(def)}, ${c}) / ${scale()}`;
    case 'avg': return sql`if(${empty}, NULL, sumIf(${numericValue(def)}, ${c}) / countIf(${c}) / ${scale()})`;
    case 'min': return sql`if(${empty}, NULL, minIf(${numericValue(def)}, ${c}) / ${scale()})`;
    case 'max': return sql`if(${empty}, NULL, maxIf(${numericValue(def)}, ${c}) / ${scale()})`;
    case 'distinct': return sql`uniqExactIf(${numericValue(def)}, ${c})`;
    case 'last_n': return lastN(def, c);
    case 'top_k': return topK(def, c);
    case 'recency': return sql`if(${empty}, NULL, (${T_COL} - maxIf(${timeColumn(def)}, ${c})) / 1000)`;
    case 'session_count': case 'session_duration': return sessionValue(def, sessionTimes(def, opts));
  }
}

/** The served value of any feature (ratios from their inputs' expressions) at _T. */
export function featureExpression(def: FeatureDefinition, opts: ExprOptions): Sql {
  if (!isRatio(def)) return tileExpression(def, opts);
  return ratioExpression(def, opts.lookup, (input) => tileExpression(input, opts));
}

/** A ratio from its inputs' values (`value` gives each input's SQL: its expression or a column holding it). */
export function ratioExpression(def: FeatureDefinition, lookup: (name: string) => FeatureDefinition, value: (input: TileFeature) => Sql): Sql {
  if (!isRatio(def)) throw new Error(`${def.name}: not a ratio`);
  const numDef = lookup(def.numerator);
  const denDef = lookup(def.denominator);
  if (isRatio(numDef) || isRatio(denDef)) throw new Error(`${def.name}: ratio inputs must not be ratios`);
  const [nt, dt] = [outputType(numDef), outputType(denDef)];
  if (nt.list || dt.list) return sql`CAST(NULL AS Nullable(Float64))`; // a list is not a number: null, as the reference says
  const num = value(numDef);
  const den = value(denDef);
  if (!nt.nullable && !dt.nullable) return sql`if(${den} = 0, NULL, ${num} / ${den})`;
  return sql`if(isNull(${num}) OR isNull(${den}) OR ifNull(${den}, 0) = 0, NULL, assumeNotNull(${num}) / assumeNotNull(${den}))`;
}
