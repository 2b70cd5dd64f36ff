// The local ClickHouse takes an INSERT and answers a SELECT through the client module,
// with SQL that 18.16 and current ClickHouse both accept.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadConfig } from '../config/config.js';
import { createClickHouse, pingClickHouse } from './clickhouse-client.js';

const config = loadConfig();
const ch = createClickHouse(config);
const table = `test_client_${process.pid}_${Date.now()}`;
after(async () => {
  await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
  await ch.close();
});

test('ping', async () => {
  assert.equal(await pingClickHouse(config.clickhouse.url), true);
  assert.equal(await pingClickHouse('http://127.0.0.1:1'), false);
});

test('insert a batch and select it back, partitioned by day, deduplicated by key', async () => {
  await ch.command({
    query: `CREATE TABLE ${table} (event_id String, user_id String, event_time UInt64, event_date Date)
            ENGINE = ReplacingMergeTree PARTITION BY event_date ORDER BY (user_id, event_time, event_id)`,
  });
  const rows = Array.from({ length: 1000 }, (_, i) => ({
    event_id: `e${i % 900}`, user_id: `u${(i % 900) % 7}`, event_time: 1_700_000_000_000 + (i % 900) * 1000, event_date: '2023-11-14',
  }));
  await ch.insert({ table, values: rows, format: 'JSONEachRow' });
  const res = await ch.query({ query: `SELECT count() AS n, uniqExact(event_id) AS ids FROM ${table}`, format: 'JSONEachRow' });
  const [row] = await res.json<{ n: string; ids: string }>();
  assert.equal(Number(row?.n), 1000);
  assert.equal(Number(row?.ids), 900);
  await ch.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  const res2 = await ch.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' });
  assert.equal(Number((await res2.json<{ n: string }>())[0]?.n), 900);
});

test('the server is the one the stack installed (18.16 locally) and runs in UTC', async () => {
  const res = await ch.query({ query: 'SELECT version() AS v, timezone() AS tz', format: 'JSONEachRow' });
  const [row] = await res.json<{ v: string; tz: string }>();
  assert.match(row?.v ?? '', /^\d+\.\d+/);
  assert.match(row?.tz ?? '', /^(Etc\/)?UTC$/);
});
