// Migration 1: `table_docs`, the comments of every table, view and column (ClickHouse 18.16
// has no table COMMENT clause), and the docs of the runner's own `schema_migrations`.
import { sql } from '../sql.js';
import { col, createTable, DOCS_TABLE, insertDocs, tableDocs, type Migration, type TableSpec } from './ddl.js';
import { SCHEMA_MIGRATIONS } from './bootstrap.js';

export const TABLE_DOCS: TableSpec = {
  name: DOCS_TABLE,
  doc: 'The comment of every Tessera table and view (object row, column = \'\') and of each of their columns. Read with FINAL: a later migration may replace a comment (higher version wins).',
  columns: [
    col('object', sql`String`, 'Table or view name.'),
    col('column', sql`String`, 'Column name; \'\' for the row describing the object itself.'),
    col('kind', sql`String`, 'table, view or materialized_view for object rows; column for column rows.'),
    col('doc', sql`String`, 'The comment.'),
    col('version', sql`UInt32`, 'Migration that wrote the comment; the highest version wins.'),
  ],
  engine: sql`ReplacingMergeTree(version) ORDER BY (object, column)`,
};

export const migration: Migration = {
  version: 1,
  name: 'table_docs',
  statements: (db) => [
    createTable(db, TABLE_DOCS),
    insertDocs(db, 1, [tableDocs(TABLE_DOCS), tableDocs(SCHEMA_MIGRATIONS)]),
  ],
};
