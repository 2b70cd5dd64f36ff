// Migration 5: `feature_values`, where backfill and training jobs write computed features,
// and `labels`, the default table of training labels (any table with `entity_id String`
// and `ts UInt64` works as a labels table; see offline/labels.ts).
import { sql } from '../sql.js';
import { col, createTable, insertDocs, tableDocs, type Migration, type TableSpec } from './ddl.js';

export const FEATURE_VALUES: TableSpec = {
  name: 'feature_values',
  doc: 'Feature values computed by jobs (backfill, training datasets, consistency checks): the value of one feature for one entity as of a time. A recomputation of the same (entity, entity_id, feature, as_of) replaces the older one (ReplacingMergeTree by computed_at; read with FINAL). Partitioned by the UTC day of as_of.',
  columns: [
    col('entity', sql`String`, 'Entity kind: user or item.'),
    col('entity_id', sql`String`, 'The user_id or item_id.'),
    col('feature', sql`String`, 'Feature name from the catalog, e.g. user_views_1h.'),
    col('as_of', sql`UInt64`, 'The time T the value is valid at (events strictly before T count), epoch ms.'),
    col('as_of_date', sql`Date`, 'UTC day of as_of; the partition key.', sql`toDate(toDateTime(intDiv(as_of, 1000), 'UTC'))`),
    col('value', sql`String`, 'The value as JSON text: a number, null, or a list (last-N, top-K); read numbers with toFloat64OrNull(value).'),
    col('job_id', sql`String`, 'The job that computed it.'),
    col('computed_at', sql`UInt64`, 'When it was computed, epoch ms; the newest computation wins.'),
  ],
  engine: sql`ReplacingMergeTree(computed_at) PARTITION BY as_of_date ORDER BY (entity, entity_id, feature, as_of)`,
};

export const LABELS: TableSpec = {
  name: 'labels',
  doc: 'Default table of training labels. A training dataset reads (entity_id, ts) rows from a labels table and adds every requested feature as of ts, using only events strictly before ts (no leakage); every other column is carried through. Any table with entity_id String and ts UInt64 (epoch ms) columns can be used instead.',
  columns: [
    col('dataset', sql`String`, 'Name of the label set, so one table can hold several.'),
    col('entity_id', sql`String`, 'The user_id or item_id the label is about.'),
    col('ts', sql`UInt64`, 'Label time, epoch ms: features are computed as of ts (events before ts only).'),
    col('label', sql`Float64`, 'The target value (e.g. 1 = purchased in the next hour, 0 = not).'),
  ],
  engine: sql`MergeTree ORDER BY (dataset, entity_id, ts)`,
};

export const migration: Migration = {
  version: 5,
  name: 'feature_values_labels',
  statements: (db) => [
    createTable(db, FEATURE_VALUES),
    createTable(db, LABELS),
    insertDocs(db, 5, [tableDocs(FEATURE_VALUES), tableDocs(LABELS)]),
  ],
};
