// The shared orders: strings by code point (= UTF-8 bytes, like ClickHouse and Lua), integers numerically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareCodePoints, compareIntStrings, compareRecentFirst, keepMostRecent, type RecentItem } from './ordering.js';

const sign = (x: number): number => Math.sign(x);

test('compareCodePoints is UTF-8 byte order', () => {
  assert.ok(compareCodePoints('ｚ', '😀') < 0); // U+FF5A < U+1F600, though '😀' < 'ｚ' in UTF-16 units
  assert.ok(compareCodePoints('a', 'ab') < 0);
  assert.equal(compareCodePoints('é', 'é'), 0);
  fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
    assert.equal(sign(compareCodePoints(a, b)), sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
  }), { numRuns: 5000 });
});

test('compareIntStrings is numeric order', () => {
  fc.assert(fc.property(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), (a, b) => {
    assert.equal(sign(compareIntStrings(a.toString(), b.toString())), a < b ? -1 : a > b ? 1 : 0);
  }), { numRuns: 2000 });
});

test('most recent first: time desc, then event_id, user_id, value desc; equal entries kept (two events), n kept', () => {
  const items: RecentItem[] = [['9', 'a', 'u', 'x'], ['10', 'a', 'u', 'x'], ['10', 'b', 'u', 'y'], ['10', 'b', 'v', 'z'], ['10', 'a', 'u', 'x']];
  assert.deepStrictEqual(keepMostRecent(items, 10), [['10', 'b', 'v', 'z'], ['10', 'b', 'u', 'y'], ['10', 'a', 'u', 'x'], ['10', 'a', 'u', 'x'], ['9', 'a', 'u', 'x']]);
  assert.deepStrictEqual(keepMostRecent(items, 1), [['10', 'b', 'v', 'z']]);
  assert.equal(compareRecentFirst(['1', 'a', 'u', 'x'], ['1', 'a', 'u', 'x']), 0);
});
