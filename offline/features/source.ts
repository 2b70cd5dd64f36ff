// The event side of offline feature queries: deduplicated accepted events of one entity
// kind, with only the columns the requested features read, under internal names.
//
// Why these shapes:
// - `events` / `events_by_item` are ReplacingMergeTrees that may still hold copies of an
//   event until a merge. Copies share the sort key, so LIMIT 1 BY that key (one row of
//   each key, whole) keeps exactly what FINAL would, at memory per key instead of per part
//   (FINAL on 18.16 opens every part with buffers per column). It was GROUP BY the key
//   with any() of every other column: twice the CPU (an aggregate state per column and
//   row), a third of staging a training chunk's events.
// - Item rows are grouped by user_id too: two users' events may share an event_id (the
//   contract only makes (user_id, event_id) unique), and the reference counts both.
// - Every internal name starts with `_`. Feature names cannot (core/features/validate.ts),
//   so a feature column never collides with them; and none equals a table column, which
//   matters on 18.16, where `f(x) AS x` rewrites x everywhere in the query.
// - Presence is a UInt8 column and values come through ifNull: 18.16 turns an aggregate
//   with a Nullable condition (countIf(category = 'x')) into a Nullable result.
import { selectorOf } from '../../core/features/series.js';
import { isRatio, type Entity, type FeatureDefinition, type FilterField, type TileFeature, type ValueExpression } from '../../core/features/definition.js';
import { EVENTS_BY_ITEM_TABLE, EVENTS_TABLE, utcDay } from '../events-table.js';
import { join, sql, str, table, int64, type Sql } from '../sql.js';

/** Internal column names of the deduplicated event source. */
export const COL = {
  eid: sql`_eid`,
  /** event_time, Int64 epoch ms */
  t: sql`_t`,
  /** ingest_time, Int64 epoch ms */
  it: sql`_it`,
  id: sql`_id`,
  uid: sql`_uid`,
  type: sql`_type`,
  /** price_micros (0 when absent), Int64 */
  pm: sql`_pm`,
  qty: sql`_qty`,
} as const;

const HAS: Record<FilterField, Sql> = {
  price: sql`_has_price`, item_id: sql`_has_item_id`, category: sql`_has_category`, brand: sql`_has_brand`, session_id: sql`_has_session_id`,
};
const STRING_VALUE = { item_id: sql`_v_item_id`, category: sql`_v_category`, brand: sql`_v_brand` } as const;

export function hasColumn(field: FilterField): Sql {
  return HAS[field];
}

/** The value expression of an event, over the source columns: Int64 for numbers, String otherwise. */
export function valueColumn(expr: ValueExpression): Sql {
  switch (expr) {
    case 'price': return COL.pm;
    case 'price*quantity': return sql`(${COL.pm} * ${COL.qty})`;
    case 'quantity': return COL.qty;
    case 'user_id': return COL.uid;
    default: return STRING_VALUE[expr];
  }
}

/** What the features need from the source. */
export interface SourceNeeds {
  entity: Entity;
  fields: Set<FilterField>;
  values: Set<ValueExpression>;
  ingestion: boolean;
}

/** Tile features behind the requested names (ratio inputs included), deduplicated. */
export function tileFeaturesOf(defs: readonly FeatureDefinition[], lookup: (name: string) => FeatureDefinition): TileFeature[] {
  const out = new Map<string, TileFeature>();
  for (const def of defs) {
    const inputs = isRatio(def) ? [lookup(def.numerator), lookup(def.denominator)] : [def];
    for (const d of inputs) if (!isRatio(d)) out.set(d.name, d);
  }
  return [...out.values()];
}

export function sourceNeeds(entity: Entity, defs: readonly TileFeature[]): SourceNeeds {
  const needs: SourceNeeds = { entity, fields: new Set(), values: new Set(), ingestion: false };
  for (const def of defs) {
    const sel = selectorOf(def);
    for (const f of sel.requires) needs.fields.add(f);
    if (sel.value !== null) needs.values.add(sel.value);
    if (sel.time === 'ingestion') needs.ingestion = true;
  }
  return needs;
}

/** Time range [from, to) of the rows to read; from = null reads all history. */
export interface SourceRange {
  from: number | null;
  to: number;
  /** largest ingest_time - event_time lead the contract allows (max future), for ingestion-time features */
  maxFutureMs: number;
}

/**
 * SELECT of the deduplicated events of entities `ids` (a subquery returning one String
 * column `_eid`) in the range. Reads events for users and events_by_item for items.
 */
export function sourceQuery(db: string, needs: SourceNeeds, ids: Sql, range: SourceRange): Sql {
  const item = needs.entity === 'item';
  const key = item ? sql`item_id` : sql`user_id`;
  const cols: Sql[] = [
    sql`${key} AS ${COL.eid}`, sql`toInt64(event_time) AS ${COL.t}`, sql`event_id AS ${COL.id}`,
    sql`user_id AS ${COL.uid}`, sql`event_type AS ${COL.type}`,
  ];
  if (needs.ingestion) cols.push(sql`toInt64(ingest_time) AS ${COL.it}`);
  const fields = new Set(needs.fields);
  for (const v of needs.values) {
    if (v === 'price' || v === 'price*quantity') fields.add('price');
    if (v === 'item_id' || v === 'category' || v === 'brand') fields.add(v);
  }
  for (const f of fields) {
    const present = item && f === 'item_id' ? sql`1` : sql`isNotNull(${fieldColumn(f)})`;
    cols.push(sql`${present} AS ${HAS[f]}`);
  }
  for (const v of needs.values) {
    if (v === 'item_id' || v === 'category' || v === 'brand') {
      const value = item && v === 'item_id' ? sql`item_id` : sql`ifNull(${fieldColumn(v)}, '')`;
      cols.push(sql`${value} AS ${STRING_VALUE[v]}`);
    }
  }
  if (needs.values.has('price') || needs.values.has('price*quantity')) cols.push(sql`ifNull(price_micros, 0) AS ${COL.pm}`);
  if (needs.values.has('price*quantity') || needs.values.has('quantity')) cols.push(sql`toInt64(quantity) AS ${COL.qty}`);

  const where: Sql[] = [sql`${key} IN (${ids})`];
  const eventRange = (from: number | null, to: number): Sql => (from === null
    ? sql`event_time < ${int64(to)}`
    : sql`event_time >= ${int64(from)} AND event_time < ${int64(to)}`);
  if (needs.ingestion) {
    // ingest_time >= event_time - maxFuture (core's future check), so event_time < to + maxFuture.
    const ingest = range.from === null ? sql`ingest_time < ${int64(range.to)}` : sql`ingest_time >= ${int64(range.from)} AND ingest_time < ${int64(range.to)}`;
    where.push(sql`((${eventRange(range.from, range.to)}) OR (${ingest}))`);
    where.push(sql`event_date <= toDate(${str(utcDay(range.to + range.maxFutureMs))})`);
  } else {
    where.push(eventRange(range.from, range.to));
    // Partition pruning: 18.16 derives nothing from event_time for the event_date partitions.
    if (range.from !== null) where.push(sql`event_date >= toDate(${str(utcDay(Math.max(range.from, 0)))})`);
    where.push(sql`event_date <= toDate(${str(utcDay(range.to))})`);
  }
  const dedup = item ? sql`event_date, item_id, event_time, event_id, user_id` : sql`event_date, user_id, event_time, event_id`;
  return sql`SELECT ${join(cols)}
FROM ${table(db, item ? EVENTS_BY_ITEM_TABLE : EVENTS_TABLE)}
WHERE ${join(where, sql` AND `)}
LIMIT 1 BY ${dedup}`;
}

function fieldColumn(field: FilterField): Sql {
  switch (field) {
    case 'price': return sql`price`;
    case 'item_id': return sql`item_id`;
    case 'category': return sql`category`;
    case 'brand': return sql`brand`;
    case 'session_id': return sql`session_id`;
  }
}
