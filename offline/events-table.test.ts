// ClickEvent <-> events row mapping, pure: round trips through the JSON ClickHouse would
// send back (64-bit integers as strings), money rule, bounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ClickEvent } from '../core/event.js';
import { toMicros } from '../core/features/definition.js';
import { clickEventArb, compact } from './event-arbitraries.js';
import { EVENT_COLUMNS, eventToRow, EventRowError, priceMicros, rowToEvent, splitByDay, utcDay, type StoredEventRow } from './events-table.js';

/** What JSONEachRow output would look like for a stored row. */
function asStored(row: ReturnType<typeof eventToRow>): StoredEventRow {
  return JSON.parse(JSON.stringify({ ...row, event_time: String(row.event_time), ingest_time: String(row.ingest_time), inserted_at: String(row.inserted_at) })) as StoredEventRow;
}

const base: ClickEvent = { event_id: 'e1', user_id: 'u1', event_type: 'purchase', event_time: Date.UTC(2024, 0, 2, 23, 59, 59, 999), ingest_time: Date.UTC(2024, 0, 3), quantity: 3, price: 19.99, item_id: 'i1' };

test('eventToRow: every column, the UTC day, micros, source position', () => {
  const row = eventToRow(base, { partition: 4, offset: '12345678901234567' }, 1_700_000_000_000);
  assert.deepEqual(Object.keys(row), [...EVENT_COLUMNS]);
  assert.equal(row.event_date, '2024-01-02');
  assert.equal(row.price_micros, '19990000');
  assert.equal(row.session_id, null);
  assert.equal(row.attributes, null);
  assert.equal(row.source_offset, '12345678901234567');
  assert.equal(row.inserted_at, 1_700_000_000_000);
  assert.equal(eventToRow(base, { partition: 0, offset: 7n }).source_offset, '7');
  assert.equal(eventToRow(base, { partition: 0, offset: 7 }).source_offset, '7');
});

test('round trip: rowToEvent(stored(eventToRow(e))) = e for random events', () => {
  fc.assert(fc.property(clickEventArb, fc.nat(), (raw, offset) => {
    const e = compact(raw);
    const back = rowToEvent(asStored(eventToRow(e, { partition: 1, offset })));
    assert.deepEqual(back, e);
  }), { numRuns: 2_000 });
});

test('priceMicros follows core\'s money rule and stays in Int64', () => {
  fc.assert(fc.property(fc.double({ min: 0, max: 9e12, noNaN: true }), (p) => {
    assert.equal(priceMicros(p), BigInt(toMicros(p)).toString());
  }));
  assert.equal(priceMicros(0.0000005), '1');
  assert.equal(priceMicros(undefined), null);
  assert.equal(priceMicros(1e13), null, 'beyond Int64: NULL rather than a wrong number');
});

test('bounds: times, offsets, partitions, quantity', () => {
  assert.throws(() => eventToRow({ ...base, event_time: -1 }, { partition: 0, offset: 0 }), EventRowError);
  assert.throws(() => eventToRow({ ...base, event_time: Date.UTC(2106, 0, 1) }, { partition: 0, offset: 0 }), EventRowError);
  assert.throws(() => eventToRow({ ...base, event_time: 1.5 }, { partition: 0, offset: 0 }), EventRowError);
  assert.throws(() => eventToRow(base, { partition: -1, offset: 0 }), EventRowError);
  assert.throws(() => eventToRow(base, { partition: 0, offset: '-1' }), EventRowError);
  assert.throws(() => eventToRow(base, { partition: 0, offset: '18446744073709551616' }), EventRowError);
  assert.throws(() => eventToRow({ ...base, quantity: 0 }, { partition: 0, offset: 0 }), EventRowError);
});

test('lone surrogates are replaced, as any UTF-8 encoder would (ClickHouse refuses them in JSON)', () => {
  const row = eventToRow({ ...base, user_id: 'u\uD800', attributes: { 'k\uDC00': 'v\uD800' } }, { partition: 0, offset: 0 });
  assert.equal(row.user_id, 'u\uFFFD');
  assert.equal(row.attributes, JSON.stringify({ 'k\uFFFD': 'v\uFFFD' }));
});

test('utcDay', () => {
  assert.equal(utcDay(0), '1970-01-01');
  assert.equal(utcDay(Date.UTC(2024, 1, 29, 23, 59, 59, 999)), '2024-02-29');
  assert.equal(utcDay(Date.UTC(2024, 2, 1)), '2024-03-01');
});

test('splitByDay: at most maxDays days per batch, nothing lost, one batch when it fits', () => {
  fc.assert(fc.property(fc.array(fc.record({ event_date: fc.constantFrom('2024-01-01', '2024-01-02', '2024-01-03', '2024-02-01', '2023-12-31'), n: fc.nat() })), fc.integer({ min: 1, max: 6 }), (rows, maxDays) => {
    const batches = splitByDay(rows, maxDays);
    for (const b of batches) assert.ok(new Set(b.map((r) => r.event_date)).size <= maxDays);
    assert.equal(batches.flat().length, rows.length);
    assert.deepEqual(new Set(batches.flat()), new Set(rows));
    if (new Set(rows.map((r) => r.event_date)).size <= maxDays) assert.equal(batches.length, rows.length === 0 ? 0 : 1);
  }));
  assert.throws(() => splitByDay([], 0), RangeError);
});
