// The sink's TabSeparated lines are eventToRow's rows: byte for byte once UTF-8 encoded,
// for arbitrary events (hostile strings, lone surrogates, huge prices, odd positions), and
// the same EventRowError where eventToRow refuses a value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ClickEvent } from '../../core/event.js';
import { clickEventArb, compact } from '../event-arbitraries.js';
import { EVENT_COLUMNS, eventToRow, EventRowError, MAX_STORABLE_TIME_MS } from '../events-table.js';
import { anyUtf16 } from '../sql-arbitraries.js';
import { encodeEventLine, insertedAtSuffix, LINE_COLUMNS, rowLine, tsvString } from './row-encoder.js';

const bytes = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

function reference(e: ClickEvent, partition: number, offset: number): string | EventRowError {
  try {
    return rowLine(eventToRow(e, { partition, offset }, 0));
  } catch (error) {
    if (error instanceof EventRowError) return error;
    throw error;
  }
}

function same(e: ClickEvent, partition: number, offset: number): void {
  const want = reference(e, partition, offset);
  if (want instanceof EventRowError) {
    assert.throws(() => encodeEventLine(e, partition, offset), (err: Error) => err instanceof EventRowError && err.message === want.message);
    return;
  }
  assert.equal(bytes(encodeEventLine(e, partition, offset)), bytes(want));
}

test('columns: the events columns, inserted_at last', () => {
  assert.deepEqual([...LINE_COLUMNS].sort(), [...EVENT_COLUMNS].sort());
  assert.equal(LINE_COLUMNS.at(-1), 'inserted_at');
  assert.equal(insertedAtSuffix(1_700_000_000_123), '\t1700000000123\n');
  assert.throws(() => insertedAtSuffix(MAX_STORABLE_TIME_MS + 1), RangeError);
});

test('a line per event: fields, NULLs, escapes', () => {
  const line = encodeEventLine({
    event_id: 'e\t1', user_id: 'u\\1', event_type: 'view', event_time: Date.UTC(2024, 0, 2, 3), ingest_time: Date.UTC(2024, 0, 2, 3, 0, 1),
    quantity: 2, price: 19.99, item_id: 'i\n1', attributes: { device: 'm\r' },
  }, 3, 42);
  assert.deepEqual(line.split('\t'), [
    'e\\t1', 'u\\\\1', 'view', String(Date.UTC(2024, 0, 2, 3)), '2024-01-02', String(Date.UTC(2024, 0, 2, 3, 0, 1)),
    '\\N', 'i\\n1', '\\N', '\\N', '19.99', '19990000', '2', '{"device":"m\\\\r"}', '3', '42',
  ]);
  assert.equal(tsvString('a\0b'), 'a\\0b');
});

test('equal to rowLine(eventToRow(...)) for arbitrary events and positions', () => {
  fc.assert(fc.property(clickEventArb, fc.nat(), fc.nat({ max: 1_000 }), (raw, offset, partition) => same(compact(raw), partition, offset)), { numRuns: 3_000 });
});

test('equal to eventToRow also where it repairs or refuses values', () => {
  const hostile = fc.record({
    event_id: anyUtf16, user_id: anyUtf16, category: anyUtf16, key: anyUtf16, value: anyUtf16,
    price: fc.oneof(fc.double({ noNaN: true, min: 0 }), fc.constantFrom(1e13, 9.3e12, 1e300, Number.MAX_VALUE)),
    event_time: fc.oneof(fc.integer({ min: 0, max: MAX_STORABLE_TIME_MS }), fc.constantFrom(-1, MAX_STORABLE_TIME_MS + 1, 0.5)),
    quantity: fc.oneof(fc.integer({ min: 1, max: 2 ** 32 - 1 }), fc.constantFrom(0, 2 ** 32, 1.5)),
    partition: fc.oneof(fc.nat({ max: 2 ** 32 - 1 }), fc.constantFrom(-1, 2 ** 32)),
    offset: fc.oneof(fc.nat(), fc.constantFrom(-1, 2 ** 53, 0.5)),
  });
  fc.assert(fc.property(hostile, (h) => {
    const e: ClickEvent = {
      event_id: h.event_id, user_id: h.user_id, event_type: 'view', event_time: h.event_time, ingest_time: 1, quantity: h.quantity,
      category: h.category, price: h.price + 0, attributes: { [h.key]: h.value, n: 1.5, b: true, z: null },
    };
    same(e, h.partition, h.offset);
  }), { numRuns: 3_000 });
});
