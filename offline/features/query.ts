// The point-in-time feature query: labels (entity id, T) in, one row per label out with
// every requested feature as of T (events strictly before T only: no leakage).
//
// One pass, no ASOF JOIN (18.16 has none), no window functions:
//   deduplicated events of the labelled entities, in [min T - lookback, max T)
//     ALL INNER JOIN the distinct labels USING entity      (labels are the small, hashed side)
//     WHERE t < T AND t >= T - lookback                      (the largest window of the set)
//     GROUP BY (entity, T) with one conditional aggregate per feature (countIf, sumIf,
//     uniqExactIf, groupArrayIf + arraySort for last-N / top-K / sessions)
//   then labels ANY LEFT JOIN that USING (entity, T): labels without events get the join's
//   defaults, which are exactly the empty values (0, NULL, []).
// The caller provides the labels as a subquery with columns `_eid String, _T Int64`
// (an array literal, or a staged table for large sets) and their min/max T.
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
  /** subquery with columns _eid String, _T Int64 */
  labels: Sql;
  minT: number;
  maxT: number;
  sessions: ExprOptions['sessions'];
  /** config.events.maxFutureMs: bounds event_time given ingest_time (ingestion-time features) */
  maxFutureMs: number;
}

export const LABEL_ID = sql`_eid`;
export const LABEL_T = T_COL;
/** UInt8 column: 1 when a session feature of the row must be recomputed with sessions 'unbounded' */
export const FLAG = sql`_flag`;

/** The largest lookback of the features on one time basis; null = unbounded; undefined = none on it. */
function maxLookback(values: readonly (number | null)[]): number | null | undefined {
  if (values.length === 0) return undefined;
  return values.includes(null) ? null : Math.max(...(values as number[]));
}

export function featureQuery(o: FeatureQueryOptions): Sql {
  for (const def of o.defs) {
    if (def.entity !== o.entity) throw new RangeError(`${def.name} is a ${def.entity} feature, not a ${o.entity} feature`);
  }
  if (o.defs.length === 0) throw new RangeError('no features requested');
  const opts: ExprOptions = { sessions: o.sessions, lookup: o.lookup };
  const tiles = tileFeaturesOf(o.defs, o.lookup);
  const needs = sourceNeeds(o.entity, tiles);
  const byEvent = maxLookback(tiles.filter((d) => (d.time ?? 'event') === 'event').map((d) => lookbackMs(d, opts)));
  const byIngest = maxLookback(tiles.filter((d) => d.time === 'ingestion').map((d) => lookbackMs(d, opts)));

  const within = (t: Sql, lb: number | null): Sql => (lb === null
    ? sql`${t} < ${LABEL_T}`
    : sql`${t} < ${LABEL_T} AND ${t} >= ${LABEL_T} - ${int64(lb)}`);
  const conditions: Sql[] = [];
  if (byEvent !== undefined) conditions.push(within(COL.t, byEvent));
  if (byIngest !== undefined) conditions.push(within(COL.it, byIngest));
  const lookbacks = [byEvent, byIngest].filter((x): x is number | null => x !== undefined);
  const widest = maxLookback(lookbacks); // never undefined: every tile feature has a time basis
  const source = sourceQuery(o.db, needs, sql`SELECT ${LABEL_ID} FROM (${o.labels})`, {
    from: widest === null || widest === undefined ? null : o.minT - widest,
    to: o.maxT,
    maxFutureMs: o.maxFutureMs,
  });

  const flags = tiles.map((d) => sessionFlag(d, opts)).filter((f): f is Sql => f !== null);
  const flag = flags.length === 0 ? sql`toUInt8(0)` : sql`toUInt8(${join(flags, sql` OR `)})`;
  const aggregates = o.defs.map((def) => sql`${featureExpression(def, opts)} AS ${ident(def.name)}`);
  const names = o.defs.map((def) => ident(def.name));

  return sql`SELECT ${LABEL_ID}, ${LABEL_T}, ${join(names)}, ${FLAG}
FROM (${o.labels})
ANY LEFT JOIN
(
  SELECT ${LABEL_ID}, ${LABEL_T}, ${join(aggregates, sql`,\n    `)}, ${flag} AS ${FLAG}
  FROM (${source})
  ALL INNER JOIN (SELECT DISTINCT ${LABEL_ID}, ${LABEL_T} FROM (${o.labels})) USING ${LABEL_ID}
  WHERE ${conditions.length === 1 ? (conditions[0] as Sql) : sql`(${join(conditions, sql`) OR (`)})`}
  GROUP BY ${LABEL_ID}, ${LABEL_T}
) USING (${LABEL_ID}, ${LABEL_T})`;
}
