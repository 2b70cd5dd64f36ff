// Row mappings against the real server: random events (hostile strings, prices, attributes)
// inserted with JSONEachRow come back equal; DLQ rows keep their exact bytes and dedupe on
// replay.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { ClickHouseClient } from '@clickhouse/client';
import { makeDlqRecord } from '../core/event.js';
import { toMicros } from '../core/features/definition.js';
import { clickEventArb, compact } from './event-arbitraries.js';
import { EVENT_COLUMNS, eventToRow, rowSource, rowToEvent, splitByDay, type StoredEventRow } from './events-table.js';
import { migrate } from './migrate.js';
import { insertRows, selectRows } from './query.js';
import { dlqRecordToRow, rejectedOriginalBytes, type RejectedRow } from './rejected-table.js';
import { ident, join, sql, table } from './sql.js';
import { createTestDatabase, type TestDatabase } from './test-support.js';

/** Equal, or within 2 ulp: ClickHouse 18.16's text parser rounds some inserted floats wrongly. */
function sameFloat(a: number, b: number): boolean {
  return Object.is(a, b) || Math.abs(a - b) <= Math.max(Math.abs(b) * 4.5e-16, 2.3e-308); // subnormals read as 0
}

let t: TestDatabase;
let ch: ClickHouseClient;
before(async () => {
  t = await createTestDatabase('rows');
  await migrate(t.admin, t.db);
  ch = t.client();
});
after(async () => t.drop());

test('1,000 random events round-trip through events (and events_by_item) exactly', async () => {
  // Times squeezed into 12 days (plus the extremes core accepts), so reading back with FINAL
  // stays cheap on 18.16; split so one INSERT touches at most 5 day partitions.
  const start = Date.UTC(2024, 5, 1);
  const events = fc.sample(clickEventArb, { numRuns: 1_000, seed: 99 }).map((e, i) => compact({
    ...e, event_id: `${i}:${e.event_id}`, event_time: i === 0 ? 946_684_800_000 : i === 1 ? 4_102_444_799_999 : start + (e.event_time % (10 * 86_400_000)),
  }));
  const rows = events.map((e, i) => eventToRow(e, { partition: i % 6, offset: String(10_000_000_000 + i) }));
  const batches = splitByDay(rows, 5);
  assert.ok(batches.length >= 3);
  for (const batch of batches) await insertRows(ch, table(t.db, 'events'), batch);
  const cols = join(EVENT_COLUMNS.map((c) => ident(c)));
  const stored = await selectRows<StoredEventRow>(ch, sql`SELECT ${cols} FROM ${table(t.db, 'events')} FINAL`);
  assert.equal(stored.length, events.length);
  const byId = new Map(stored.map((r) => [r.event_id, r]));
  events.forEach((e, i) => {
    const r = byId.get(e.event_id);
    assert.ok(r, `event ${JSON.stringify(e.event_id)} stored`);
    const back = rowToEvent(r);
    if (back.price !== undefined && e.price !== undefined) {
      assert.ok(sameFloat(back.price, e.price), `price ${back.price} vs ${e.price}`);
      back.price = e.price;
    }
    assert.deepEqual(back, e);
    assert.deepEqual(rowSource(r), { partition: i % 6, offset: String(10_000_000_000 + i) });
    assert.equal(String(r.price_micros ?? 'null'), String(rows[i]?.price_micros ?? 'null'));
    assert.equal(r.event_date, rows[i]?.event_date);
  });
  const byItem = await selectRows<StoredEventRow>(ch, sql`SELECT ${cols} FROM ${table(t.db, 'events_by_item')} FINAL`);
  assert.equal(byItem.length, events.filter((e) => e.item_id !== undefined).length);
  for (const r of byItem) assert.deepEqual(rowToEvent(r), rowToEvent(byId.get(r.event_id) as StoredEventRow));
});

test('price_micros is exact; price may be 1 ulp off (18.16 parses inserted floats imprecisely)', async () => {
  const prices = [1.995407, 19.99, 0.1, 1e-7, 123456.789012, 4.5e9, 0];
  const events = prices.map((price, i) => ({ event_id: `p${i}`, user_id: 'money', event_type: 'purchase', event_time: Date.UTC(2024, 5, 1), ingest_time: 0, quantity: 1, price }));
  await insertRows(ch, table(t.db, 'events'), events.map((e, i) => eventToRow(e, { partition: 0, offset: i })));
  const rows = await selectRows<{ event_id: string; price: number; price_micros: string }>(ch, sql`
    SELECT event_id, price, price_micros FROM ${table(t.db, 'events')} WHERE user_id = 'money' ORDER BY event_id`);
  for (const r of rows) {
    const price = prices[Number(r.event_id.slice(1))] ?? NaN;
    assert.equal(r.price_micros, BigInt(toMicros(price)).toString());
    assert.ok(sameFloat(r.price, price), `${r.price} vs ${price}`);
  }
});

test('DLQ rows keep the exact original bytes and dedupe when the DLQ is replayed', async () => {
  const source = { topic: 'clickstream.events', partition: 3, timestamp: Date.UTC(2024, 4, 1) };
  const values: (Uint8Array | string | null)[] = [
    '{"event_id":"e1","user_id":"u1","event_type":"view","event_time":1714521600000}', '{not json', null,
    new Uint8Array([0xff, 0x00, 0xc3, 0x28]), 'x'.repeat(70_000), '\u0000\'"\\😀',
  ];
  const records = values.map((value, i) => makeDlqRecord(i === 0 ? 'late' : 'bad_json', `detail ${i}`, { ...source, offset: String(i), key: i === 0 ? 'u1' : null, value }));
  const rows = records.map((r, i) => dlqRecordToRow(r, { partition: 0, offset: String(i) }));
  await insertRows(ch, table(t.db, 'rejected_events'), rows);
  await insertRows(ch, table(t.db, 'rejected_events'), rows); // replay
  const stored = await selectRows<RejectedRow>(ch, sql`SELECT * FROM ${table(t.db, 'rejected_events')} FINAL ORDER BY source_offset`);
  assert.equal(stored.length, values.length);
  stored.forEach((r, i) => {
    const v = values[i] ?? null;
    const expected = v === null ? new Uint8Array() : typeof v === 'string' ? new TextEncoder().encode(v) : v;
    assert.deepEqual(rejectedOriginalBytes(r), expected);
    assert.equal(Number(r.original_size), expected.byteLength);
  });
  assert.equal(stored[0]?.user_id, 'u1');
  assert.equal(stored[0]?.record_key, 'u1');
  assert.equal(Number(stored[0]?.event_time), 1714521600000);
});
