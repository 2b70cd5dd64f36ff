// Which day partitions are expired, pure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dayOfPartitionId, expiredPartitionIds, RetentionError } from './retention.js';

const DAY = 86_400_000;

test('dayOfPartitionId: calendar days only', () => {
  assert.equal(dayOfPartitionId('20240229'), Date.UTC(2024, 1, 29));
  assert.equal(dayOfPartitionId('20230229'), null);
  assert.equal(dayOfPartitionId('202402'), null);
  assert.equal(dayOfPartitionId('all'), null);
  assert.equal(dayOfPartitionId('2024-02-01'), null);
});

test('a day is expired once all of it is older than now - days', () => {
  const now = Date.UTC(2024, 0, 10, 6); // 2024-01-10 06:00
  // horizon (3 days) = 2024-01-07 06:00: 01-06 ended at 01-07 00:00 <= horizon; 01-07 did not end yet.
  assert.deepEqual(expiredPartitionIds(['20240107', '20240105', '20240106', '20240110', '202401', 'x'], 3, now), ['20240105', '20240106']);
  assert.deepEqual(expiredPartitionIds(['20240106'], 3, Date.UTC(2024, 0, 10)), ['20240106'], 'exactly at the boundary');
  assert.deepEqual(expiredPartitionIds(['20240107'], 3, Date.UTC(2024, 0, 10) + 0), []);
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => expiredPartitionIds([], bad, now), RetentionError);
});

test('property: expired iff the day ends at or before the horizon', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 50_000 * DAY }), (dayNo, days, now) => {
    const id = new Date(dayNo * DAY).toISOString().slice(0, 10).replace(/-/g, '');
    const expired = expiredPartitionIds([id], days, now).length === 1;
    assert.equal(expired, (dayNo + 1) * DAY <= now - days * DAY);
  }));
});
