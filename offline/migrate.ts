// The migration runner: applies offline/migrations/ in version order, each once, and
// records it in `schema_migrations` (version, name, checksum, applied_at). An applied
// migration whose statements changed (checksum mismatch), or an applied version this code
// does not know (a newer Tessera migrated the database), stops the run before any change.
//
// ClickHouse has no transactions: every statement is idempotent (IF NOT EXISTS, inserts
// into ReplacingMergeTree), and a migration is recorded only after all its statements
// succeeded, so a run interrupted half-way is completed by the next run.
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../config/config.js';
import { createClickHouse } from './clickhouse-client.js';
import { createTable } from './migrations/ddl.js';
import { SCHEMA_MIGRATIONS } from './migrations/bootstrap.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { execute, selectRows } from './query.js';
import { ident, isIdentifier, sql, str, table, tuple, uint64 } from './sql.js';

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  appliedAt: number;
}

export interface MigrateResult {
  database: string;
  /** migrations this run applied */
  applied: { version: number; name: string }[];
  /** versions that were already applied */
  skipped: number[];
}

export interface MigrateOptions {
  migrations?: readonly Migration[];
  now?: () => number;
  log?: (message: string) => void;
}

/** Rendered for this placeholder, so the checksum does not depend on the database name. */
const CHECKSUM_DB = '__tessera_db__';

export function migrationChecksum(migration: Migration): string {
  const hash = createHash('sha256');
  for (const statement of migration.statements(CHECKSUM_DB)) hash.update(statement.text).update('\n;\n');
  return hash.digest('hex');
}

function checkList(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isSafeInteger(m.version) || m.version <= previous) {
      throw new MigrationError(`migration versions must be increasing integers: ${m.version} after ${previous}`);
    }
    if (!isIdentifier(m.name)) throw new MigrationError(`migration ${m.version}: name ${JSON.stringify(m.name)} must be snake_case`);
    previous = m.version;
  }
}

/** What `schema_migrations` of db records (empty when the table does not exist yet). */
export async function appliedMigrations(client: ClickHouseClient, db: string): Promise<AppliedMigration[]> {
  const [exists] = await selectRows<{ n: number | string }>(client, sql`
    SELECT count() AS n FROM system.tables WHERE database = ${str(db)} AND name = ${str(SCHEMA_MIGRATIONS.name)}`);
  if (Number(exists?.n ?? 0) === 0) return [];
  const rows = await selectRows<{ version: number; name: string; checksums: string[]; applied_at: string }>(client, sql`
    SELECT version, any(name) AS name, groupUniqArray(checksum) AS checksums, toString(min(applied_at)) AS applied_at
    FROM ${table(db, SCHEMA_MIGRATIONS.name)}
    GROUP BY version
    ORDER BY version`);
  return rows.map((r) => {
    if (r.checksums.length !== 1) throw new MigrationError(`migration ${r.version} is recorded with ${r.checksums.length} different checksums`);
    return { version: Number(r.version), name: r.name, checksum: r.checksums[0] ?? '', appliedAt: Number(r.applied_at) };
  });
}

/**
 * Brings database `db` up to the latest schema: creates it if needed, then applies every
 * migration not yet recorded. The client must not be bound to a database that does not
 * exist yet (create it with `createClickHouse(config, { database: null })`, or bound to
 * any existing database): all statements name their database explicitly.
 */
export async function migrate(client: ClickHouseClient, db: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  checkList(migrations);
  if (!isIdentifier(db)) throw new MigrationError(`database name ${JSON.stringify(db)} is not an identifier`);

  try {
    await execute(client, sql`CREATE DATABASE IF NOT EXISTS ${ident(db)}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`cannot create database ${db}: ${message}${/doesn't exist/.test(message) ? ' (the client is bound to a database that does not exist; use createClickHouse(config, { database: null }))' : ''}`);
  }
  await execute(client, createTable(db, SCHEMA_MIGRATIONS));

  const applied = await appliedMigrations(client, db);
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const a of applied) {
    const m = known.get(a.version);
    if (m === undefined) {
      throw new MigrationError(`database ${db} has migration ${a.version} (${a.name}) that this code does not know: it was migrated by a newer Tessera`);
    }
    const checksum = migrationChecksum(m);
    if (checksum !== a.checksum) {
      throw new MigrationError(`migration ${a.version} (${m.name}) changed after it was applied to ${db} (checksum ${a.checksum.slice(0, 12)} in the database, ${checksum.slice(0, 12)} in the code); add a new migration instead of editing an applied one`);
    }
  }

  const done = new Set(applied.map((a) => a.version));
  const result: MigrateResult = { database: db, applied: [], skipped: [...done] };
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    log(`applying migration ${m.version} ${m.name} to ${db}`);
    for (const statement of m.statements(db)) {
      try {
        await execute(client, statement);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new MigrationError(`migration ${m.version} (${m.name}) failed: ${message}\n--- statement ---\n${statement.text}`);
      }
    }
    await execute(client, sql`INSERT INTO ${table(db, SCHEMA_MIGRATIONS.name)} (version, name, checksum, applied_at) VALUES ${tuple([
      uint64(m.version), str(m.name), str(migrationChecksum(m)), uint64(now()),
    ])}`);
    result.applied.push({ version: m.version, name: m.name });
  }
  return result;
}

/** migrate() on the configured database (config.clickhouse.database), with its own client. */
export async function ensureSchema(config: Config, log?: (message: string) => void): Promise<MigrateResult> {
  const client = createClickHouse(config, { database: null });
  try {
    return await migrate(client, config.clickhouse.database, log === undefined ? {} : { log });
  } finally {
    await client.close();
  }
}
