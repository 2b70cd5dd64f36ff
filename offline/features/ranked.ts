// The ranked path: bounded event-time windows without (event, label) pairs. In the paired
// path a label meets every event of its entity in its lookback (~200 per label for a 7-day
// window of an active user), and last-N / top-K built string arrays from them per label.
// Here the cost is per event plus per label:
//
// 1. Sweep (per entity, integers only): the labels' window bounds ("markers") and the
//    events sorted together by time, a marker before the events at its own time; running
//    sums (arrayCumSum) of each feature's contribution (1 per event in scope, or its
//    value) read at a marker are the sums over the events strictly before it. A window
//    [start, end) is then the difference of the sums at its two markers, exactly (Int64
//    arithmetic, wrapping like sumIf).
// 2. The running count of a feature's in-scope events at a marker is also a rank: the
//    entity's in-scope events sorted by (time, event_id, user_id, value), the last-N order,
//    number 1..n, and the window holds exactly ranks (lo, hi], lo and hi being the counts
//    at its start and end (events at one time are all on one side of a marker). One row
//    per entity holds those sorted arrays; a label slices them: last-N is ranks hi down to
//    max(lo, hi - N) + 1, recency is the time at rank hi, min / max / distinct reduce the
//    slice, sessions run their gap logic on the slice of times, top-K sorts the slice.
////    (A label copies the arrays it reads, cut in time blocks (ranked-arrays.ts); short
//    windows stay paired: query.ts.)
// Every value equals the paired path's (same integers, same IEEE operations in the same
// order); the offline tests compare both with the reference evaluator.
import { valueKind, valueScale, type TileFeature } from '../../core/features/definition.js';
import { ident, int64, join, sql, str, type Sql } from '../sql.js';
import { arrayClasses, arrayColumns, arraysQuery, blockColumn, blockOf, Numbered, Scope } from './ranked-arrays.js';
import {
  lookbackMs, numericValue, scopeCondition, sessionFlag, sessionScanMs, sessionValue, T_COL, topKOfRankIds, topKOfSorted, windowBounds, type ExprOptions,
} from './expressions.js';
import type { GroupInput } from './query.js';
import { COL, sourceNeeds, sourceQuery } from './source.js';

/** [start, end) of the events the feature reads at T; sessions: the bounded scan. */
function rankBounds(def: TileFeature, opts: ExprOptions): { start: Sql; end: Sql } | null {
  if (def.window.kind !== 'session') return windowBounds(def);
  return opts.sessions === 'bounded' ? { start: sql`${T_COL} - ${int64(sessionScanMs(def))}`, end: T_COL } : null;
}

/** Features over event time with a bounded window (every aggregation follows from ranks). */
export function isRankable(def: TileFeature, opts: ExprOptions): boolean {
  return (def.time ?? 'event') === 'event' && rankBounds(def, opts) !== null;
}

/** SELECT _lid and one column per feature (named by `column`); every label gets a row. */
export function rankedGroup(o: GroupInput, tiles: readonly TileFeature[], column: (def: TileFeature) => Sql, flag: Sql): Sql {
  const lookback = Math.max(...tiles.map((d) => lookbackMs(d, o.opts) ?? Number.POSITIVE_INFINITY));
  if (!Number.isFinite(lookback) || !tiles.every((d) => isRankable(d, o.opts))) throw new Error('rankedGroup: features must be rankable with a bounded lookback');
  const source = o.source ?? sourceQuery(o.db, sourceNeeds(o.entity, tiles), sql`SELECT _eid FROM (${o.labels})`, {
    from: o.minT - lookback, to: o.maxT, maxFutureMs: o.maxFutureMs,
  });
  const sums = new Numbered();
  const bounds = new Numbered();
  const scopes = new Map<string, Scope>();
  const classOf = arrayClasses(tiles.map((d) => lookbackMs(d, o.opts) as number), o.maxT - o.minT);
  // (running sum, marker) pairs read per label, each a column _m<k> of the sweep
  const cellPairs: Array<[number, number]> = [];
  const cell = (sum: number, bound: number): Sql => {
    let k = cellPairs.findIndex(([a, b]) => a === sum && b === bound);
    if (k < 0) k = cellPairs.push([sum, bound]) - 1;
    return ident(`_m${k}`);
  };

  const flags: Sql[] = [];
  const values = tiles.map((def) => {
    const b = rankBounds(def, o.opts) as { start: Sql; end: Sql };
    const [start, end] = [bounds.add(b.start), bounds.add(b.end)];
    const scope = scopeCondition(def);
    const rank = sums.add(sql`if(${scope}, toInt64(1), toInt64(0))`);
    const read = (sum: number): { lo: Sql; hi: Sql } => ({ lo: cell(sum, start), hi: cell(sum, end) });
    const { lo, hi } = read(rank);
    const n = sql`(${hi} - ${lo})`;
    const scale = int64(def.value === undefined ? 1 : valueScale(def.value));
    const total = (): Sql => {
      const s = read(sums.add(sql`if(${scope}, toInt64(${numericValue(def)}), toInt64(0))`));
      return sql`(${s.hi} - ${s.lo})`;
    };
    // dense: per entity, 1, 2, ... by first appearance (arrayEnumerateDense), a bijection
    // of its values, so distinct counts hash integers and a label copies 4-byte ids; no
    // global dictionary (scalar subqueries re-read the events and were slower, measured)
    // rank: per entity, the rank of each value among its distinct values sorted, so a label
    // counts 4-byte integers ordered like the strings (top-K on strings: the per-label
    // string sort was ~80% of the user group's time), and maps the K it keeps back through
    // the sorted distinct values (`_s`)
    // The arrays of the feature's scope in its lookback class; `base`: the rank before
    // their first element (ranked-arrays.ts), so rank r is at position r - base.
    const cls = classOf(lookbackMs(def, o.opts) as number);
    const key = `${cls.index}|${scope.text}`;
    let sc = scopes.get(key);
    if (sc === undefined) scopes.set(key, (sc = new Scope(scopes.size, scope, cls)));
    const own = sc;
    const base = own.base;
    const sorted = (element: Sql, variant: '' | '_d' | '_r' | '_s' = ''): Sql => {
      const name = `_a${own.index}_${own.values.add(element)}${variant}`;
      own.columns.add(name);
      return ident(name);
    };
    const slice = (element: Sql, variant: '' | '_d' | '_r' = ''): Sql => sql`arraySlice(${sorted(element, variant)}, ${lo} - ${base} + 1, ${n})`;
    if (def.window.kind === 'session') flags.push(sessionFlag(def, o.opts, slice(COL.t)) as Sql);
    switch (def.aggregation) {
      case 'count': return n;
      case 'min': case 'max': return sql`if(${n} = 0, NULL, arrayReduce(${str(def.aggregation)}, ${slice(numericValue(def))}) / ${scale})`;
      case 'distinct': return sql`arrayReduce('uniqExact', ${slice(numericValue(def), '_d')})`;
      case 'session_count': case 'session_duration': return sessionValue(def, slice(COL.t));
      case 'sum': return sql`${total()} / ${scale}`;
      case 'avg': return sql`if(${n} = 0, NULL, ${total()} / ${n} / ${scale})`;
      case 'recency': return sql`if(${n} = 0, NULL, (${T_COL} - arrayElement(${sorted(COL.t)}, ${hi} - ${base})) / 1000)`;
      case 'last_n': {
        const from = sql`greatest(${lo}, ${hi} - ${int64(def.limit ?? 0)})`;
        const recent = sql`arrayReverse(arraySlice(${sorted(numericValue(def))}, ${from} - ${base} + 1, ${hi} - ${from}))`;
        return def.value !== undefined && valueKind(def.value) === 'string' ? recent : sql`arrayMap(_x -> _x / ${scale}, ${recent})`;
      }
      case 'top_k': {
        if (def.value === undefined || valueKind(def.value) !== 'string') return topKOfSorted(def, sql`arraySort(${slice(numericValue(def))})`);
        const values = sorted(numericValue(def), '_s');
        return topKOfRankIds(def, slice(numericValue(def), '_r'), values);
      }
    }
  });

  const sweep = sweepQuery(o, source, sums.items, bounds.items, cellPairs.map(([i, j]) => sql`anyIf(_c${int64(i)}, _j = ${int64(j)}) AS ${cell(i, j)}`));
  const selected = [...tiles.map((def, i) => sql`${values[i] as Sql} AS ${column(def)}`),
    sql`${flags.length === 0 ? sql`toUInt8(0)` : sql`toUInt8(${join(flags, sql` OR `)})`} AS ${flag}`];
  // the label rows, then one ANY LEFT JOIN per class of arrays (18.16 joins once per SELECT;
  // its SELECT * repeats USING columns, so every level names its columns)
  const used = [...scopes.values()].filter((sc) => sc.columns.size > 0); // counts and sums read no array
  const classes = [...new Map(used.map((sc) => [sc.cls.index, sc.cls] as const)).values()];
  const blocked = classes.filter((c) => c.blockMs !== null);
  let columns = [sql`_lid`, sql`_eid`, T_COL, ...cellPairs.map(([i, j]) => cell(i, j)), ...blocked.map(blockColumn)];
  let rows = sql`SELECT _lid, _eid, ${T_COL}, ${join(cellPairs.map(([i, j]) => cell(i, j)))}${blocked.length === 0 ? sql`` : sql`, ${join(blocked.map(blockOf))}`} FROM (${sweep})`;
  for (const c of classes) {
    const own = used.filter((sc) => sc.cls === c);
    columns = [...columns, ...arrayColumns(own).map((name) => ident(name))];
    const key = c.blockMs === null ? sql`_eid` : sql`_eid, ${blockColumn(c)}`;
    rows = sql`SELECT ${join(columns)} FROM (${rows}) ANY LEFT JOIN (${arraysQuery(source, o.labels, c, own)}) USING (${key})`;
  }
  return sql`SELECT _lid, ${join(selected, sql`,\n    `)} FROM (${rows})`;
}

/**
 * Per label: _lid, _eid, _T and the running sums at its markers (`cells`). The sort key
 * is 2 * time + 1 for events and 2 * bound for markers, so a marker precedes the events at
 * its own time; markers are the even keys.
 */
function sweepQuery(o: GroupInput, source: Sql, sums: readonly Sql[], bounds: readonly Sql[], cells: readonly Sql[]): Sql {
  // 18.16's UNION ALL refuses a constant on one side where the other has a column: materialize.
  const zeros = sums.map((_, i) => sql`materialize(toInt64(0)) AS _d${int64(i)}`);
  const contributions = sums.map((s, i) => sql`materialize(${s}) AS _d${int64(i)}`);
  const tupled = sql`(_x, _lid, _j, ${T_COL}, ${join(sums.map((_, i) => sql`_d${int64(i)}`))})`;
  const running = sums.map((_, i) => sql`arrayCumSum(arrayMap(_q -> tupleElement(_q, ${int64(i + 5)}), _s)) AS _c${int64(i)}`);
  const marks = array(bounds);
  return sql`SELECT _lid, any(_eid) AS _eid, any(_T0) AS ${T_COL}, ${join(cells)}
  FROM (
    SELECT _eid, tupleElement(_e, 2) AS _lid, tupleElement(_e, 3) AS _j, tupleElement(_e, 4) AS _T0, ${join(sums.map((_, i) => sql`_c${int64(i)}`))}
    FROM (
      SELECT _eid, arraySort(groupArray(${tupled})) AS _s
      FROM (
        SELECT _eid, ${COL.t} * 2 + 1 AS _x, materialize(toUInt64(0)) AS _lid, materialize(toUInt16(0)) AS _j, materialize(toInt64(0)) AS ${T_COL}, ${join(contributions)} FROM (${source})
        UNION ALL
        SELECT _eid, _b * 2 AS _x, _lid, toUInt16(_jb - 1) AS _j, ${T_COL}, ${join(zeros)}
        FROM (${o.labels}) ARRAY JOIN ${marks} AS _b, arrayEnumerate(${marks}) AS _jb
      )
      GROUP BY _eid
    )
    ARRAY JOIN _s AS _e, ${join(running)}
    WHERE tupleElement(_e, 1) % 2 = 0
  )
  GROUP BY _lid`;
}

function array(items: readonly Sql[]): Sql {
  return sql`[${join(items)}]`;
}
