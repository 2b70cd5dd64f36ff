// Migration 3: `rejected_events`, fed from topic clickstream.dlq. Keyed by the source
// record's position, so replaying the DLQ (or a re-delivered sink batch) dedupes.
import { sql } from '../sql.js';
import { col, createTable, insertDocs, tableDocs, type Migration, type TableSpec } from './ddl.js';

export const REJECTED_EVENTS: TableSpec = {
  name: 'rejected_events',
  doc: 'Every record the pipeline did not accept (topic clickstream.dlq): invalid JSON or schema, too large, too far in the future, late, or duplicate, with the machine-readable reason and the original bytes. One row per source record (source_topic, source_partition, source_offset); ReplacingMergeTree, so query with FINAL for exact counts. Partitioned by the UTC day of the record timestamp.',
  columns: [
    col('reason', sql`String`, 'Machine-readable reason: empty, too_large, bad_encoding, bad_json, not_object, schema, future_time, late, duplicate.'),
    col('detail', sql`String`, 'Human-readable explanation, e.g. the offending field for schema.'),
    col('source_topic', sql`String`, 'Topic the rejected record came from (clickstream.events).'),
    col('source_partition', sql`UInt32`, 'Partition of the rejected record.'),
    col('source_offset', sql`UInt64`, 'Offset of the rejected record; with source_topic and source_partition, the dedup key.'),
    col('record_timestamp', sql`UInt64`, 'Kafka timestamp of the rejected record, epoch milliseconds.'),
    col('record_date', sql`Date`, 'UTC day of record_timestamp; the partition key.', sql`toDate(toDateTime(intDiv(record_timestamp, 1000), 'UTC'))`),
    col('record_key', sql`Nullable(String)`, 'Kafka key of the rejected record as text (normally the user_id). NULL when it had none.'),
    col('event_id', sql`Nullable(String)`, 'event_id found in the original JSON, best effort. NULL when not readable.'),
    col('user_id', sql`Nullable(String)`, 'user_id found in the original JSON, best effort. NULL when not readable.'),
    col('event_type', sql`Nullable(String)`, 'event_type found in the original JSON, best effort. NULL when not readable.'),
    col('event_time', sql`Nullable(UInt64)`, 'event_time found in the original JSON, epoch ms, best effort. NULL when not readable.'),
    col('original', sql`String`, 'The original record value as text: exact when original_is_utf8 = 1, otherwise with invalid bytes replaced by U+FFFD.'),
    col('original_is_utf8', sql`UInt8`, '1 when the original bytes were valid UTF-8 (then original holds them exactly).'),
    col('original_base64', sql`String`, 'The exact original bytes, base64, when they were not valid UTF-8; \'\' otherwise.'),
    col('original_size', sql`UInt32`, 'Size of the original value in bytes.'),
    col('dlq_partition', sql`UInt32`, 'Partition of clickstream.dlq the rejection was read from.'),
    col('dlq_offset', sql`UInt64`, 'Offset of the rejection within dlq_partition.'),
    col('inserted_at', sql`UInt64`, 'When the sink inserted the row, epoch milliseconds.', sql`toUInt64(now()) * 1000`),
  ],
  engine: sql`ReplacingMergeTree PARTITION BY record_date ORDER BY (source_topic, source_partition, source_offset)`,
};

export const migration: Migration = {
  version: 3,
  name: 'rejected_events',
  statements: (db) => [createTable(db, REJECTED_EVENTS), insertDocs(db, 3, [tableDocs(REJECTED_EVENTS)])],
};
