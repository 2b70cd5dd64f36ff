// Migration 2: the raw accepted events, `events` ordered for per-user time scans, and the
// same rows ordered per item in `events_by_item` (fed by a materialized view), both
// partitioned by UTC day and deduplicated by event_id.
//
// Dedup: ReplacingMergeTree collapses rows with equal ORDER BY keys. The key ends with
// event_id and starts with fields that never differ between copies of one event (user_id,
// event_time; item_id), so copies of an event share the key and partition: exactly one
// survives a merge; before merges, readers dedupe with FINAL or GROUP BY the key.
import { sql, table } from '../sql.js';
import { col, createTable, insertDocs, tableDocs, type ColumnSpec, type Migration, type TableSpec } from './ddl.js';

const EVENT_COLUMNS: readonly ColumnSpec[] = [
  col('event_id', sql`String`, 'Producer-assigned id of the event (1-128 characters); one row per event_id after deduplication.'),
  col('user_id', sql`String`, 'The user who acted; also the Kafka key.'),
  col('event_type', sql`String`, 'view, click, add_to_cart, remove_from_cart, purchase, favorite, search, or another [a-z_]{1,32}.'),
  col('event_time', sql`UInt64`, 'When the event happened (event time): epoch milliseconds, UTC.'),
  col('event_date', sql`Date`, 'UTC day of event_time; the partition key (retention drops whole days).', sql`toDate(toDateTime(intDiv(event_time, 1000), 'UTC'))`),
  col('ingest_time', sql`UInt64`, 'Kafka record timestamp (ingestion time), epoch milliseconds.'),
  col('session_id', sql`Nullable(String)`, 'Session id sent by the client, if any. NULL when absent. (Gap-based sessions: see the sessions view.)'),
  col('item_id', sql`Nullable(String)`, 'The product, if any. NULL when absent.'),
  col('category', sql`Nullable(String)`, 'Product category, dotted path such as electronics.smartphone. NULL when absent.'),
  col('brand', sql`Nullable(String)`, 'Product brand. NULL when absent.'),
  col('price', sql`Nullable(Float64)`, 'Unit price in currency units as sent. NULL when absent. ClickHouse 18.16 parses inserted floats with up to 1 ulp of error, so compute with price_micros, which is exact.'),
  col('price_micros', sql`Nullable(Int64)`, 'Unit price in integer micro-units, floor(price * 1e6 + 0.5): use it for exact money, e.g. sum(price_micros * quantity). NULL when absent.'),
  col('quantity', sql`UInt32`, 'Number of units (>= 1; 1 when the producer omitted it).'),
  col('attributes', sql`Nullable(String)`, 'Free-form flat attributes as JSON object text, read with visitParamExtractString(attributes, \'key\'). NULL when absent.'),
  col('source_partition', sql`UInt32`, 'Partition of topic clickstream.events the event was read from.'),
  col('source_offset', sql`UInt64`, 'Offset of the event within source_partition.'),
  col('inserted_at', sql`UInt64`, 'When the offline sink inserted the batch, epoch milliseconds.', sql`toUInt64(now()) * 1000`),
];

export const EVENTS: TableSpec = {
  name: 'events',
  doc: 'Every accepted clickstream event (valid, not late, not a duplicate), one row per event_id. ReplacingMergeTree: a batch re-delivered after a crash may show duplicates until the next merge, so for exact numbers query with FINAL and a filter on event_date, or GROUP BY the key (user_id, event_time, event_id) as the views do. Ordered by (user_id, event_time, event_id) for per-user time scans; partitioned by UTC day.',
  columns: EVENT_COLUMNS,
  engine: sql`ReplacingMergeTree PARTITION BY event_date ORDER BY (user_id, event_time, event_id)`,
};

export const EVENTS_BY_ITEM: TableSpec = {
  name: 'events_by_item',
  doc: 'The events that have an item_id, the same rows as events but ordered by (item_id, event_time, event_id) for per-item scans (item features, item activity). Filled by the materialized view events_by_item_mv on every insert into events; deduplicated like events (FINAL with an event_date filter, or GROUP BY item_id, event_time, event_id); partitioned by UTC day.',
  columns: EVENT_COLUMNS.map((c) => (c.name === 'item_id' ? col('item_id', sql`String`, 'The product (never empty here: events without item_id are not copied).') : c)),
  engine: sql`ReplacingMergeTree PARTITION BY event_date ORDER BY (item_id, event_time, event_id)`,
};

const MV_NAME = 'events_by_item_mv';
const MV_DOC = 'Materialized view copying each row inserted into events that has an item_id into events_by_item. It holds no data itself.';

export const migration: Migration = {
  version: 2,
  name: 'events',
  statements: (db) => {
    const q = (name: string) => table(db, name);
    return [
      createTable(db, EVENTS),
      createTable(db, EVENTS_BY_ITEM),
      // `assumeNotNull(item_id) AS item_id` shadows the column in WHERE on 18.16 (aliases are
      // visible everywhere), so the filter is written to hold under both readings:
      // NULL != '' is NULL (dropped) and assumeNotNull(NULL) = '' (dropped). core rejects
      // empty item_ids, so '' never occurs in accepted events.
      sql`CREATE MATERIALIZED VIEW IF NOT EXISTS ${q(MV_NAME)} TO ${q('events_by_item')} AS
SELECT event_id, user_id, event_type, event_time, event_date, ingest_time, session_id,
       assumeNotNull(item_id) AS item_id, category, brand, price, price_micros, quantity, attributes,
       source_partition, source_offset, inserted_at
FROM ${q('events')}
WHERE item_id != ''`,
      insertDocs(db, 2, [tableDocs(EVENTS), tableDocs(EVENTS_BY_ITEM), { object: MV_NAME, kind: 'materialized_view', doc: MV_DOC, columns: [] }]),
    ];
  },
};
