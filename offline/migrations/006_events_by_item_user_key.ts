// Migration 6: `events_by_item` deduplicates by (item_id, event_time, event_id, user_id).
//
// Why: the contract only makes (user_id, event_id) unique, so two users' events may share
// an event_id (offline/features/source.ts). With the 002 key (item_id, event_time,
// event_id) a merge kept one of two such events on the same item at the same time, and
// item_daily_activity (which grouped by that key) counted one. Both now include user_id.
//
// How, with statements that ClickHouse 18.16 and current ClickHouse both accept (no
// EXCHANGE TABLES, no ALTER ... ORDER BY on a key prefix change), each idempotent so that a
// run interrupted anywhere is completed by the next run:
//   1. create events_by_item_v6 with the new key;
//   2. drop the view that feeds events_by_item (a materialized view follows its TO table by
//      name on 18.16 but by UUID on current versions, so it cannot survive a rename; it is
//      recreated in 6);
//   3. copy into the new table from `events`, the source of truth of events_by_item (so
//      rows the old key had collapsed come back);
//   4-5. swap the names (RENAME of two tables in one statement), the old table becomes
//      events_by_item_v5 (an empty events_by_item is created first if a run died between
//      the two halves of that RENAME, so the swap can always proceed);
//   6. recreate the view, now feeding the new table;
//   7. copy again what `events` received while no view fed events_by_item (inserts with
//      inserted_at from an hour before the old table's last insert on: generous for clock
//      differences between sinks; copies collapse under the key);
//   8. drop the old table; replace item_daily_activity; new comments (version 6 wins).
// Cost: one INSERT ... SELECT over the events with an item (two, counting the short
// catch-up), measured by migrate.clickhouse.test.ts; inserts into `events` keep working
// throughout. Run it once before starting several sinks: two runners executing 006 at the
// same moment can trip over each other's rename (the failing one reports it; rerun).
import { sql, table } from '../sql.js';
import { EVENTS_BY_ITEM } from './002_events.js';
import { ITEM_DAILY_ACTIVITY } from './004_analyst_views.js';
import { createTable, createView, insertDocs, tableDocs, viewDocs, type Migration, type TableSpec, type ViewSpec } from './ddl.js';

export const EVENTS_BY_ITEM_V6: TableSpec = {
  ...EVENTS_BY_ITEM,
  doc: 'The events that have an item_id, the same rows as events but ordered by (item_id, event_time, event_id, user_id) for per-item scans (item features, item activity). Filled by the materialized view events_by_item_mv on every insert into events; deduplicated like events (FINAL with an event_date filter, or GROUP BY item_id, event_time, event_id, user_id: two users\' events may share an event_id); partitioned by UTC day.',
  engine: sql`ReplacingMergeTree PARTITION BY event_date ORDER BY (item_id, event_time, event_id, user_id)`,
};

export const ITEM_DAILY_ACTIVITY_V6: ViewSpec = {
  ...ITEM_DAILY_ACTIVITY,
  select: (db) => sql`SELECT
  event_date,
  item_id,
  argMaxIf(cat, event_time, isNotNull(cat)) AS category,
  argMaxIf(br, event_time, isNotNull(br)) AS brand,
  count() AS event_count,
  countIf(et = 'view') AS views,
  countIf(et = 'click') AS clicks,
  countIf(et = 'add_to_cart') AS add_to_carts,
  countIf(et = 'purchase') AS purchases,
  sumIf(qty, et = 'purchase') AS units_purchased,
  sumIf(rev, et = 'purchase') AS revenue_micros,
  uniqExact(uid) AS distinct_users,
  uniqExactIf(uid, et = 'view') AS distinct_viewers,
  uniqExactIf(uid, et = 'purchase') AS distinct_buyers
FROM
(
  SELECT event_date, item_id, event_time, event_id, user_id AS uid, any(event_type) AS et, any(category) AS cat, any(brand) AS br,
         any(quantity) AS qty, any(ifNull(price_micros, 0) * quantity) AS rev
  FROM ${table(db, 'events_by_item')}
  GROUP BY event_date, item_id, event_time, event_id, user_id
)
GROUP BY event_date, item_id`,
};

const NEW = 'events_by_item_v6';
const OLD = 'events_by_item_v5';
const MV = 'events_by_item_mv';
/** How far before the old table's last insert the catch-up copy starts (sinks' clocks differ). */
const CATCH_UP_SLACK_MS = sql`3600000`;

/** What the view copies from events (002's select; the alias trap is explained there). */
const itemRows = (db: string) => sql`SELECT event_id, user_id, event_type, event_time, event_date, ingest_time, session_id,
       assumeNotNull(item_id) AS item_id, category, brand, price, price_micros, quantity, attributes,
       source_partition, source_offset, inserted_at
FROM ${table(db, 'events')}
WHERE item_id != ''`;

const COLUMNS = sql`(event_id, user_id, event_type, event_time, event_date, ingest_time, session_id, item_id, category, brand, price, price_micros, quantity, attributes, source_partition, source_offset, inserted_at)`;

export const migration: Migration = {
  version: 6,
  name: 'events_by_item_user_key',
  statements: (db) => {
    const q = (name: string) => table(db, name);
    return [
      createTable(db, { ...EVENTS_BY_ITEM_V6, name: NEW }),
      sql`DROP TABLE IF EXISTS ${q(MV)}`,
      sql`INSERT INTO ${q(NEW)} ${COLUMNS} ${itemRows(db)}`,
      // no-op, unless an earlier run died inside the two-table RENAME below after its first half
      createTable(db, EVENTS_BY_ITEM_V6),
      sql`DROP TABLE IF EXISTS ${q(OLD)}`,
      sql`RENAME TABLE ${q('events_by_item')} TO ${q(OLD)}, ${q(NEW)} TO ${q('events_by_item')}`,
      sql`CREATE MATERIALIZED VIEW IF NOT EXISTS ${q(MV)} TO ${q('events_by_item')} AS
${itemRows(db)}`,
      sql`INSERT INTO ${q('events_by_item')} ${COLUMNS} ${itemRows(db)}
  AND inserted_at + ${CATCH_UP_SLACK_MS} >= (SELECT max(inserted_at) FROM ${q(OLD)})`,
      sql`DROP TABLE IF EXISTS ${q(OLD)}`,
      sql`DROP TABLE IF EXISTS ${q(ITEM_DAILY_ACTIVITY_V6.name)}`,
      createView(db, ITEM_DAILY_ACTIVITY_V6),
      insertDocs(db, 6, [tableDocs(EVENTS_BY_ITEM_V6), viewDocs(ITEM_DAILY_ACTIVITY_V6)]),
    ];
  },
};
