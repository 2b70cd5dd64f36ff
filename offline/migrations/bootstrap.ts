// `schema_migrations`: created by the runner itself before any migration (so it is not
// one), records which migrations were applied, with the checksum of their statements.
import { sql } from '../sql.js';
import { col, type TableSpec } from './ddl.js';

export const SCHEMA_MIGRATIONS: TableSpec = {
  name: 'schema_migrations',
  doc: 'Applied schema migrations (offline/migrations/), one row per version. The runner refuses to start when the checksum of an applied migration differs from the code.',
  columns: [
    col('version', sql`UInt32`, 'Migration number; applied in increasing order.'),
    col('name', sql`String`, 'Migration name.'),
    col('checksum', sql`String`, 'sha256 of the migration statements (rendered for a placeholder database).'),
    col('applied_at', sql`UInt64`, 'When it was applied, epoch ms.'),
  ],
  engine: sql`ReplacingMergeTree(applied_at) ORDER BY version`,
};
