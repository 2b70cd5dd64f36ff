// The point-in-time feature query: labels (id, entity, T) in, one row per label out with
// every requested feature as of T (events strictly before T only: no leakage). No ASOF
// JOIN (18.16 has none), no window functions.
//
// Cost is what each feature's lookback makes it touch, so the features are split into
// groups, each computed by its own subquery, and the groups' rows joined by label id:
// - ranked (ranked.ts): every feature over event time with a bounded window and a lookback
//   longer than RANKED_ABOVE_MS: running sums and ranks, cost per event and per label
//   instead of per (event, label) pair;
// - paired (paired.ts): the rest, by lookback class (the widest lookback of a group at
//   most PAIRED_SPREAD times its narrowest), each a join of events and labels on a time
//   bucket of its own lookback, so a 1-hour distinct count does not ride on a 7-day join.
// Ratios are computed last, from their inputs' columns (which may come from two groups).
// Labels a paired group has no row for get the LEFT JOIN defaults: 0, NULL, [] (the empty
// values, join_use_nulls = 0).
import type { Entity, FeatureDefinition, TileFeature } from '../../core/features/definition.js';
import { isRatio } from '../../core/features/definition.js';
import { HOUR } from '../../core/windows.js';
import { ident, join, sql, type Sql } from '../sql.js';
import { lookbackMs, ratioExpression, T_COL, type ExprOptions } from './expressions.js';
import { maxLookback, pairedGroup } from './paired.js';
import { isRankable, rankedGroup } from './ranked.js';
import { sourceNeeds, sourceQuery, tileFeaturesOf } from './source.js';

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
  /**
   * the deduplicated events, when staged by the caller (a SELECT from a table filled with
   * featureSource(...) of the same options): every group reads it instead of re-reading
   * and re-deduplicating the events table (a superset of a group's range changes no value)
   */
  source?: Sql;
  /** rankable features with a longer lookback take the ranked path (default RANKED_ABOVE_MS; tests force either path) */
  rankedAboveMs?: number;
  /**
   * 'split' (default): ranked and paired-by-lookback groups, for many labels; 'single': every
   * feature in ONE paired join over the widest lookback, for a few labels (a past-T API read,
   * a skew sample), where reading the events once beats splitting the work
   */
  grouping?: 'split' | 'single';
}

/** What a group's subquery needs. */
export interface GroupInput {
  db: string;
  entity: Entity;
  labels: Sql;
  minT: number;
  maxT: number;
  maxFutureMs: number;
  opts: ExprOptions;
  source?: Sql;
}

export const LABEL_KEY = sql`_lid`;
export const LABEL_ID = sql`_eid`;
export const LABEL_T = T_COL;
/** UInt8 column: 1 when a session feature of the row must be recomputed with sessions 'unbounded' */
export const FLAG = sql`_flag`;
/**
 * Rankable features with a longer lookback take the ranked path. A paired label meets
 * ~1.25 x lookback of its entity's events; a ranked label copies its entity's sorted
 * arrays (every event of the widest lookback) and slices them. Measured on the catalog
 * (BENCHMARKS.md "Jobs"): the 1-hour windows are slightly faster paired, the 24-hour and
 * 7-day ones several times faster ranked.
 */
export const RANKED_ABOVE_MS = 3 * HOUR;
/** A paired group's widest lookback is at most this many times its narrowest. */
const PAIRED_SPREAD = 4;

export interface FeatureGroup {
  kind: 'ranked' | 'paired';
  tiles: TileFeature[];
}

/** The tile features behind the request, split into ranked and paired-by-lookback groups. */
export function featureGroups(tiles: readonly TileFeature[], opts: ExprOptions, rankedAboveMs?: number): FeatureGroup[] {
  const lb = (d: TileFeature): number => lookbackMs(d, opts) ?? Number.POSITIVE_INFINITY;
  const byLookback = tiles.filter((d) => isRankable(d, opts) && lb(d) > (rankedAboveMs ?? RANKED_ABOVE_MS));
  // By default, when every feature left for the paired path is rankable and reads no array
  // (counts, sums, averages), they are ranked too: that costs two markers per label in the
  // sweep, while a paired join meets every event of the chunk (~10 per label in the
  // 10M-event bench: the item set's paired 1-hour count was a quarter of its query). With
  // any other paired feature the join is paid anyway, and the markers would be extra.
  const arrayFree = (d: TileFeature): boolean => isRankable(d, opts) && (d.aggregation === 'count' || d.aggregation === 'sum' || d.aggregation === 'avg');
  const rest = tiles.filter((d) => !byLookback.includes(d));
  const ranked = rankedAboveMs === undefined && rest.every(arrayFree) ? [...tiles] : byLookback;
  const paired = tiles.filter((d) => !ranked.includes(d)).sort((a, b) => lb(a) - lb(b));
  const groups: FeatureGroup[] = ranked.length > 0 ? [{ kind: 'ranked', tiles: ranked }] : [];
  let narrowest = 0;
  for (const d of paired) {
    const last = groups.at(-1);
    if (last?.kind === 'paired' && lb(d) <= narrowest * PAIRED_SPREAD) last.tiles.push(d);
    else {
      groups.push({ kind: 'paired', tiles: [d] });
      narrowest = lb(d);
    }
  }
  return groups;
}

/** The deduplicated events every group of featureQuery(o) reads, for the caller to stage once (o.source). */
export function featureSource(o: FeatureQueryOptions): Sql {
  const opts: ExprOptions = { sessions: o.sessions, lookup: o.lookup };
  const tiles = tileFeaturesOf(o.defs, o.lookup);
  const widest = maxLookback(tiles.map((d) => lookbackMs(d, opts))) ?? null;
  return sourceQuery(o.db, sourceNeeds(o.entity, tiles), sql`SELECT _eid FROM (${o.labels})`, {
    from: widest === null ? null : o.minT - widest, to: o.maxT, maxFutureMs: o.maxFutureMs,
  });
}

export function featureQuery(o: FeatureQueryOptions): Sql {
  if (o.defs.length === 0) throw new RangeError('no features requested');
  for (const def of o.defs) {
    if (def.entity !== o.entity) throw new RangeError(`${def.name} is a ${def.entity} feature, not a ${o.entity} feature`);
  }
  const opts: ExprOptions = { sessions: o.sessions, lookup: o.lookup };
  const tiles = tileFeaturesOf(o.defs, o.lookup);
  const column = (def: TileFeature): Sql => ident(`_f${tiles.indexOf(def)}`);
  const input: GroupInput = { db: o.db, entity: o.entity, labels: o.labels, minT: o.minT, maxT: o.maxT, maxFutureMs: o.maxFutureMs, opts, ...(o.source === undefined ? {} : { source: o.source }) };

  // labels ANY LEFT JOIN group 0 ANY LEFT JOIN group 1 ..., nested (18.16 joins once per SELECT)
  let rows = sql`SELECT ${LABEL_KEY} FROM (${o.labels})`;
  const columns: Sql[] = [LABEL_KEY];
  const flags: Sql[] = [];
  const groups = o.grouping === 'single' ? [{ kind: 'paired' as const, tiles: [...tiles] }] : featureGroups(tiles, opts, o.rankedAboveMs);
  groups.forEach((g, i) => {
    const flag = ident(`_flag${i}`);
    const sub = g.kind === 'ranked' ? rankedGroup(input, g.tiles, column, flag) : pairedGroup(input, g.tiles, column, flag);
    columns.push(...g.tiles.map(column), flag);
    flags.push(flag);
    rows = sql`SELECT ${join(columns)} FROM (${rows}) ANY LEFT JOIN (${sub}) USING ${LABEL_KEY}`;
  });
  const byName = (name: string): TileFeature => tiles.find((t) => t.name === name) as TileFeature;
  const values = o.defs.map((def) => {
    const value = isRatio(def) ? ratioExpression(def, o.lookup, (input) => column(byName(input.name))) : column(byName(def.name));
    return sql`${value} AS ${ident(def.name)}`;
  });
  const flag = flags.length === 0 ? sql`toUInt8(0)` : sql`toUInt8(${join(flags, sql` OR `)})`;
  return sql`SELECT ${LABEL_KEY}, ${join(values)}, ${flag} AS ${FLAG}
FROM (${rows})`;
}
