// The point-in-time feature query: labels (id, entity, T) in, one row per label out with
// every requested feature as of T (events strictly before T only: no leakage).
//
// One pass, no ASOF JOIN (18.16 has none), no window functions:
//   deduplicated events of the labelled entities in [min T - lookback, max T)
//     ALL INNER JOIN the labels USING (entity, time bucket)   (labels: the small, hashed side)
//     WHERE t < T AND t >= T - lookback                        (the largest window of the set)
//     GROUP BY label with one conditional aggregate per feature (countIf, sumIf,
//     uniqExactIf, groupArrayIf + arraySort for last-N / top-K / sessions)
//   then labels ANY LEFT JOIN that USING (label id): labels without events get the join's
//   defaults, which are exactly the empty values (0, NULL, []).
// Cost is the number of joined (event, label) pairs, so:
// - labels and events also meet on a time bucket (B = lookback / 4; an event is copied into
//   the buckets of every T it can matter to), so a label only meets events from about
//   lookback + B before it, however long the span of all labels is;
// - the label is grouped by a numeric id instead of (String, T).
import type { Entity, FeatureDefinition } from '../../core/features/definition.js';
import { ident, int64, join, sql, type Sql } from '../sql.js';
import { featureExpression, lookbackMs, sessionFlag, T_COL, type ExprOptions } from './expressions.js';
import { COL, sourceNeeds, sourceQuery, tileFeaturesOf } from './source.js';

export interface FeatureQueryOptions {
  db: string;
  entity: Entity;
  /** requested features, all of `entity` */
  defs: readonly FeatureDefinition[];
  lookup: (name: string) => FeatureDefinition;
  /** subquery with columns _lid UInt64 (unique per row), _eid String, _T Int64 */
  labels: Sql;
  minT: number;
  maxT: number;
  sessions: ExprOptions['sessions'];
  /** config.events.maxFutureMs: bounds event_time given ingest_time (ingestion-time features) */
  maxFutureMs: number;
}

export const LABEL_KEY = sql`_lid`;
export const LABEL_ID = sql`_eid`;
export const LABEL_T = T_COL;
/** UInt8 column: 1 when a session feature of the row must be recomputed with sessions 'unbounded' */
export const FLAG = sql`_flag`;
const BUCKET = sql`_bk`;
/** Buckets per lookback: more means fewer wasted pairs but more copies of each event. */
const BUCKETS_PER_LOOKBACK = 4;

/** The largest lookback on one time basis; null = unbounded; undefined = no feature on it. */
function maxLookback(values: readonly (number | null)[]): number | null | undefined {
  if (values.length === 0) return undefined;
  return values.includes(null) ? null : Math.max(...(values as number[]));
}

export function featureQuery(o: FeatureQueryOptions): Sql {
  if (o.defs.length === 0) throw new RangeError('no features requested');
  for (const def of o.defs) {
    if (def.entity !== o.entity) throw new RangeError(`${def.name} is a ${def.entity} feature, not a ${o.entity} feature`);
  }
  const opts: ExprOptions = { sessions: o.sessions, lookup: o.lookup };
  const tiles = tileFeaturesOf(o.defs, o.lookup);
  const byEvent = maxLookback(tiles.filter((d) => (d.time ?? 'event') === 'event').map((d) => lookbackMs(d, opts)));
  const byIngest = maxLookback(tiles.filter((d) => d.time === 'ingestion').map((d) => lookbackMs(d, opts)));
  const widest = maxLookback([byEvent, byIngest].filter((x): x is number | null => x !== undefined)) ?? null;

  const within = (t: Sql, lb: number | null): Sql => (lb === null ? sql`${t} < ${LABEL_T}` : sql`${t} < ${LABEL_T} AND ${t} >= ${LABEL_T} - ${int64(lb)}`);
  const conditions: Sql[] = [];
  if (byEvent !== undefined) conditions.push(within(COL.t, byEvent));
  if (byIngest !== undefined) conditions.push(within(COL.it, byIngest));
  const where = conditions.length === 1 ? (conditions[0] as Sql) : sql`(${join(conditions, sql`) OR (`)})`;

  const aggregates = o.defs.map((def) => sql`${featureExpression(def, opts)} AS ${ident(def.name)}`);
  const flags = tiles.map((d) => sessionFlag(d, opts)).filter((f): f is Sql => f !== null);
  const flag = flags.length === 0 ? sql`toUInt8(0)` : sql`toUInt8(${join(flags, sql` OR `)})`;

  // Buckets only pay off when the labels span more than the lookback (event time only:
  // ingest_time is not bounded by event_time from above).
  const bucketMs = byIngest === undefined && widest !== null && o.maxT - o.minT > widest
    ? Math.ceil(widest / BUCKETS_PER_LOOKBACK) : null;
  const source = sourceQuery(o.db, sourceNeeds(o.entity, tiles), sql`SELECT ${LABEL_ID} FROM (${o.labels})`, {
    from: widest === null ? null : o.minT - widest,
    to: o.maxT,
    maxFutureMs: o.maxFutureMs,
  });
  const labelCols = [LABEL_KEY, LABEL_ID, LABEL_T];
  let events = source;
  let joinKey = LABEL_ID;
  if (bucketMs !== null && widest !== null) {
    const B = sql`toInt64(${int64(bucketMs)})`;
    const first = sql`intDiv(${COL.t}, ${B})`;
    events = sql`SELECT *, arrayJoin(arrayMap(_k -> toInt64(${first} + _k), range(toUInt64(intDiv(${COL.t} + ${int64(widest)}, ${B}) - ${first} + 1)))) AS ${BUCKET}
FROM (${source})`;
    labelCols.push(sql`toInt64(intDiv(${LABEL_T}, ${B})) AS ${BUCKET}`);
    joinKey = sql`${LABEL_ID}, ${BUCKET}`;
  }

  return sql`SELECT ${LABEL_KEY}, ${join(o.defs.map((def) => ident(def.name)))}, ${FLAG}
FROM (SELECT ${LABEL_KEY} FROM (${o.labels}))
ANY LEFT JOIN
(
  SELECT ${LABEL_KEY}, ${join(aggregates, sql`,\n    `)}, ${flag} AS ${FLAG}
  FROM (${events})
  ALL INNER JOIN (SELECT ${join(labelCols)} FROM (${o.labels})) USING (${joinKey})
  WHERE ${where}
  GROUP BY ${LABEL_KEY}, ${LABEL_T}
) USING ${LABEL_KEY}`;
}
