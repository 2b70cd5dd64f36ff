// The paired path: every feature of a group aggregated over the joined (event, label) pairs.
//
//   deduplicated events of the labelled entities in [min T - lookback, max T)
//     ALL INNER JOIN the labels USING (entity, time bucket)   (labels: the small, hashed side)
//     WHERE t < T AND t >= T - lookback                        (the group's largest window)
//     GROUP BY label with one conditional aggregate per feature (countIf, sumIf,
//     uniqExactIf, groupArrayIf + arraySort for last-N / top-K / sessions)
// Labels without events get no row here; the caller's LEFT JOIN gives them the defaults,
// which are exactly the empty values (0, NULL, []).
// Cost is the number of joined (event, label) pairs, so:
// - the caller groups features by lookback, so a 1-hour count does not ride on a 7-day join;
// - labels and events also meet on a time bucket (B = lookback / 4; a label is copied into
//   the buckets of every event time it can read), so a label only meets events from about
//   lookback + B before it, however long the span of all labels is;
// - the label is grouped by a numeric id instead of (String, T).
import type { TileFeature } from '../../core/features/definition.js';
import { int64, join, sql, type Sql } from '../sql.js';
import { lookbackMs, sessionFlag, T_COL, tileExpression } from './expressions.js';
import { COL, sourceNeeds, sourceQuery } from './source.js';
import type { GroupInput } from './query.js';

const BUCKET = sql`_bk`;
/** Buckets per lookback: more means fewer wasted pairs but more copies of each event. */
const BUCKETS_PER_LOOKBACK = 4;

/** The largest lookback on one time basis; null = unbounded; undefined = no feature on it. */
export function maxLookback(values: readonly (number | null)[]): number | null | undefined {
  if (values.length === 0) return undefined;
  return values.includes(null) ? null : Math.max(...(values as number[]));
}

/**
 * SELECT _lid, one column per feature (named by `column`), and `flag` (UInt8: a session
 * feature of the row must be recomputed with sessions 'unbounded').
 */
export function pairedGroup(o: GroupInput, tiles: readonly TileFeature[], column: (def: TileFeature) => Sql, flag: Sql): Sql {
  const byEvent = maxLookback(tiles.filter((d) => (d.time ?? 'event') === 'event').map((d) => lookbackMs(d, o.opts)));
  const byIngest = maxLookback(tiles.filter((d) => d.time === 'ingestion').map((d) => lookbackMs(d, o.opts)));
  const widest = maxLookback([byEvent, byIngest].filter((x): x is number | null => x !== undefined)) ?? null;

  const within = (t: Sql, lb: number | null): Sql => (lb === null ? sql`${t} < ${T_COL}` : sql`${t} < ${T_COL} AND ${t} >= ${T_COL} - ${int64(lb)}`);
  const conditions: Sql[] = [];
  if (byEvent !== undefined) conditions.push(within(COL.t, byEvent));
  if (byIngest !== undefined) conditions.push(within(COL.it, byIngest));
  const where = conditions.length === 1 ? (conditions[0] as Sql) : sql`(${join(conditions, sql`) OR (`)})`;

  const aggregates = tiles.map((def) => sql`${tileExpression(def, o.opts)} AS ${column(def)}`);
  const flags = tiles.map((d) => sessionFlag(d, o.opts)).filter((f): f is Sql => f !== null);
  const flagged = flags.length === 0 ? sql`toUInt8(0)` : sql`toUInt8(${join(flags, sql` OR `)})`;

  // Buckets only pay off when the labels span more than the lookback (event time only:
  // ingest_time is not bounded by event_time from above).
  const bucketMs = byIngest === undefined && widest !== null && o.maxT - o.minT > widest
    ? Math.ceil(widest / BUCKETS_PER_LOOKBACK) : null;
  const source = o.source ?? sourceQuery(o.db, sourceNeeds(o.entity, tiles), sql`SELECT _eid FROM (${o.labels})`, {
    from: widest === null ? null : o.minT - widest,
    to: o.maxT,
    maxFutureMs: o.maxFutureMs,
  });
  const labelCols = [sql`_lid`, sql`_eid`, T_COL];
  let events = source;
  let joinKey = sql`_eid`;
  if (bucketMs !== null && widest !== null) {
    // An event is in the one bucket of its time; a label is copied into every bucket that
    // [T - widest, T) touches (intDiv is monotonic, so an event of the window is in one of
    // them, and in one only). Copying the labels rather than the events: a training chunk
    // has ~10 events per label with 10M events, and the copies were the join's probes.
    const B = sql`toInt64(${int64(bucketMs)})`;
    const first = sql`intDiv(${T_COL} - ${int64(widest)}, ${B})`;
    events = sql`SELECT *, toInt64(intDiv(${COL.t}, ${B})) AS ${BUCKET} FROM (${source})`;
    labelCols.push(sql`arrayJoin(arrayMap(_k -> toInt64(${first} + _k), range(toUInt64(intDiv(${T_COL}, ${B}) - ${first} + 1)))) AS ${BUCKET}`);
    joinKey = sql`_eid, ${BUCKET}`;
  }
  return sql`SELECT _lid, ${join(aggregates, sql`,\n    `)}, ${flagged} AS ${flag}
  FROM (${events})
  ALL INNER JOIN (SELECT ${join(labelCols)} FROM (${o.labels})) USING (${joinKey})
  WHERE ${where}
  GROUP BY _lid, ${T_COL}`;
}
