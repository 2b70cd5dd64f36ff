// For *.clickhouse.test.ts: a private database per test file (tessera_test_<pid>_<n>), so
// tests never touch real data or each other, dropped afterwards.
import type { ClickHouseClient } from '@clickhouse/client';
import { loadConfig, type Config } from '../config/config.js';
import { createClickHouse } from './clickhouse-client.js';
import type { ClickEvent } from '../core/event.js';
import { eventToRow, EVENTS_TABLE } from './events-table.js';
import { execute, insertRows } from './query.js';
import { ident, sql, table } from './sql.js';

export interface TestDatabase {
  config: Config;
  db: string;
  /** bound to no database: can create and drop databases */
  admin: ClickHouseClient;
  /** bound to the test database (call after it exists, e.g. after migrate) */
  client: () => ClickHouseClient;
  drop: () => Promise<void>;
}

let counter = 0;

export async function createTestDatabase(tag: string): Promise<TestDatabase> {
  const config = loadConfig();
  const db = `tessera_test_${tag}_${process.pid}_${Date.now() % 1e6}_${counter++}`;
  const admin = createClickHouse(config, { database: null });
  await execute(admin, sql`CREATE DATABASE IF NOT EXISTS ${ident(db)}`);
  let bound: ClickHouseClient | undefined;
  return {
    config,
    db,
    admin,
    client: () => (bound ??= createClickHouse(config, { database: db })),
    drop: async () => {
      await execute(admin, sql`DROP DATABASE IF EXISTS ${ident(db)}`);
      await bound?.close();
      await admin.close();
    },
  };
}

/** Inserts events into db.events (one JSONEachRow INSERT), offsets 0, 1, 2, ... unless given. */
export async function insertEvents(client: ClickHouseClient, db: string, events: readonly ClickEvent[], firstOffset = 0): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((e, i) => eventToRow(e, { partition: 0, offset: firstOffset + i }));
  await insertRows(client, table(db, EVENTS_TABLE), rows);
}
