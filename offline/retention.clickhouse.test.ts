// Retention against real tables: whole expired day partitions are dropped (events,
// events_by_item, rejected_events), newer ones kept; tables not partitioned by day are
// refused; finished days are compacted to one part.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import type { ClickEvent } from '../core/event.js';
import { makeDlqRecord } from '../core/event.js';
import { migrate } from './migrate.js';
import { execute, insertRows, selectRows } from './query.js';
import { dlqRecordToRow } from './rejected-table.js';
import { applyRetention, compactClosedDays, dropPartitionsOlderThan, RetentionError } from './retention.js';
import { sql, str, table } from './sql.js';
import { createTestDatabase, insertEvents, type TestDatabase } from './test-support.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2024, 3, 20, 9, 30); // 2024-04-20 09:30 UTC

let t: TestDatabase;
let ch: ClickHouseClient;
before(async () => {
  t = await createTestDatabase('retention');
  await migrate(t.admin, t.db);
  ch = t.client();
});
after(async () => t.drop());

/** Events at 12:00 on each of the 10 days before NOW's day, and two on NOW's day. */
function events(): ClickEvent[] {
  const out: ClickEvent[] = [];
  for (let d = 1; d <= 10; d++) out.push({ event_id: `d${d}`, user_id: 'u', event_type: 'view', event_time: Date.UTC(2024, 3, 20 - d, 12), ingest_time: 0, quantity: 1, item_id: 'i' });
  out.push({ event_id: 'today', user_id: 'u', event_type: 'view', event_time: Date.UTC(2024, 3, 20, 1), ingest_time: 0, quantity: 1 });
  return out;
}

async function days(name: string): Promise<string[]> {
  const rows = await selectRows<{ d: string }>(ch, sql`SELECT DISTINCT toString(event_date) AS d FROM ${table(t.db, name)} ORDER BY d`);
  return rows.map((r) => r.d);
}

test('drops exactly the days that ended at least `days` days ago, and reports them', async () => {
  await insertEvents(ch, t.db, events());
  // horizon = NOW - 3 days = 2024-04-17 09:30: days up to 04-16 are entirely older.
  const dropped = await dropPartitionsOlderThan(ch, `${t.db}.events`, 3, NOW);
  assert.deepEqual(dropped.map((d) => d.day), ['2024-04-10', '2024-04-11', '2024-04-12', '2024-04-13', '2024-04-14', '2024-04-15', '2024-04-16']);
  assert.ok(dropped.every((d) => d.table === 'events' && d.rows === 1 && d.bytes > 0 && /^\d{8}$/.test(d.partitionId)));
  assert.deepEqual(await days('events'), ['2024-04-17', '2024-04-18', '2024-04-19', '2024-04-20']);
  assert.deepEqual(await dropPartitionsOlderThan(ch, `${t.db}.events`, 3, NOW), [], 'idempotent');
  assert.equal((await days('events_by_item')).length, 10, 'events_by_item is a table of its own: applyRetention prunes it too');
});

test('applyRetention prunes events, events_by_item and rejected_events; an unqualified name uses the client database', async () => {
  const records = [5, 1].map((d, i) => dlqRecordToRow(makeDlqRecord('bad_json', 'x', {
    topic: 'clickstream.events', partition: 0, offset: String(i), timestamp: NOW - d * DAY, value: '{',
  })));
  await insertRows(ch, table(t.db, 'rejected_events'), records);
  const dropped = await applyRetention(ch, t.db, 2, NOW);
  assert.deepEqual([...new Set(dropped.map((d) => d.table))].sort(), ['events', 'events_by_item', 'rejected_events']);
  assert.deepEqual(await days('events'), ['2024-04-18', '2024-04-19', '2024-04-20']);
  assert.deepEqual(await days('events_by_item'), ['2024-04-18', '2024-04-19']);
  const [left] = await selectRows<{ n: string }>(ch, sql`SELECT count() AS n FROM ${table(t.db, 'rejected_events')}`);
  assert.equal(Number(left?.n), 1);
  const again = await dropPartitionsOlderThan(ch, 'events', 1, NOW);
  assert.deepEqual(again.map((d) => d.day), ['2024-04-18']);
});

test('refuses bad input and tables not partitioned by day', async () => {
  await execute(ch, sql`CREATE TABLE ${table(t.db, 'monthly')} (d Date, x UInt8) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY x`);
  await assert.rejects(dropPartitionsOlderThan(ch, `${t.db}.monthly`, 3, NOW), /not partitioned by day/);
  await assert.rejects(dropPartitionsOlderThan(ch, `${t.db}.labels`, 3, NOW), /not partitioned by day/);
  await assert.rejects(dropPartitionsOlderThan(ch, `${t.db}.nope`, 3, NOW), /does not exist/);
  await assert.rejects(dropPartitionsOlderThan(ch, "events'; DROP TABLE x; --", 3, NOW), RetentionError);
  await assert.rejects(dropPartitionsOlderThan(ch, 'events', 0, NOW), RetentionError);
  await execute(ch, sql`CREATE TABLE ${table(t.db, 'daily2')} (d Date, x UInt8) ENGINE = MergeTree PARTITION BY toYYYYMMDD(d) ORDER BY x`);
  await execute(ch, sql`INSERT INTO ${table(t.db, 'daily2')} VALUES (${str('2024-01-01')}, 1), (${str('2024-04-19')}, 2)`);
  assert.deepEqual((await dropPartitionsOlderThan(ch, `${t.db}.daily2`, 1, NOW)).map((d) => d.day), ['2024-01-01']);
});

test('compactClosedDays merges finished days to one part and removes duplicates', async () => {
  const evs = events().filter((e) => e.event_time >= NOW - 2 * DAY);
  await insertEvents(ch, t.db, evs);
  await insertEvents(ch, t.db, evs); // duplicates in new parts
  const compacted = await compactClosedDays(ch, `${t.db}.events`, NOW);
  assert.ok(compacted.length >= 1);
  assert.ok(compacted.every((c) => c.parts > 1 && c.partitionId < '20240420'), 'today is left alone');
  const [r] = await selectRows<{ n: string; u: string }>(ch, sql`
    SELECT count() AS n, uniqExact(event_id) AS u FROM ${table(t.db, 'events')} WHERE event_date < ${str('2024-04-20')}`);
  assert.equal(r?.n, r?.u);
});
