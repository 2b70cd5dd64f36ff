// DLQ record -> rejected_events row, pure: exact original bytes (text or base64), best-effort
// event fields, never throws.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { makeDlqRecord, REJECT_REASONS, type DlqRecord } from '../core/event.js';
import { dlqRecordToRow, rejectedOriginalBytes } from './rejected-table.js';

const source = { topic: 'clickstream.events', partition: 2, offset: '42', timestamp: Date.UTC(2024, 4, 1, 12) };

test('a late event keeps its bytes as text and its identifying fields', () => {
  const value = JSON.stringify({ event_id: 'e9', user_id: 'u1', event_type: 'view', event_time: '2024-05-01T11:00:00Z' });
  const row = dlqRecordToRow(makeDlqRecord('late', 'event_time 60 min behind', { ...source, key: 'u1', value }), { partition: 0, offset: '7' }, 5);
  assert.equal(row.reason, 'late');
  assert.equal(row.original, value);
  assert.equal(row.original_is_utf8, 1);
  assert.equal(row.original_base64, '');
  assert.equal(row.original_size, Buffer.byteLength(value));
  assert.equal(row.record_key, 'u1');
  assert.equal(row.record_date, '2024-05-01');
  assert.deepEqual([row.event_id, row.user_id, row.event_type, row.event_time], ['e9', 'u1', 'view', Date.UTC(2024, 4, 1, 11)]);
  assert.deepEqual([row.source_partition, row.source_offset, row.dlq_partition, row.dlq_offset, row.inserted_at], [2, '42', 0, '7', 5]);
});

test('binary values keep exact bytes in base64; a null value is empty', () => {
  const bytes = new Uint8Array([0xff, 0xfe, 0x00, 0x7b]);
  const row = dlqRecordToRow(makeDlqRecord('bad_encoding', 'not UTF-8', { ...source, value: bytes }));
  assert.equal(row.original_is_utf8, 0);
  assert.deepEqual(rejectedOriginalBytes(row), bytes);
  assert.equal(row.original_size, 4);
  assert.equal(row.event_id, null);
  const empty = dlqRecordToRow(makeDlqRecord('empty', 'tombstone', { ...source, value: null }));
  assert.equal(empty.original, '');
  assert.equal(empty.record_key, null);
});

test('any bytes, any record: exact bytes back, never throws', () => {
  fc.assert(fc.property(
    fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ unit: 'binary', maxLength: 30 }).map((s) => new TextEncoder().encode(s))),
    fc.constantFrom(...REJECT_REASONS), fc.integer({ min: -5, max: 5e12 }), fc.string({ maxLength: 20 }),
    (value, reason, timestamp, detail) => {
      const record: DlqRecord = makeDlqRecord(reason, detail, { ...source, timestamp, value });
      const row = dlqRecordToRow(record);
      assert.deepEqual(rejectedOriginalBytes(row), value);
      assert.match(row.record_date, /^\d{4}-\d{2}-\d{2}$/);
      assert.ok(row.record_timestamp >= 0);
    }), { numRuns: 2_000 });
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]);
  assert.deepEqual(rejectedOriginalBytes(dlqRecordToRow(makeDlqRecord('schema', 'x', { ...source, value: bom }))), bom, 'a BOM is kept');
});
