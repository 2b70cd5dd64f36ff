// Window and tile math: the bucketing function, tile sizes per window, window bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DAY, HOUR, MINUTE, SECOND, describeWindow, fixedWindowBounds, floorTo, formatDuration, sessionTileMs, tileMsFor, windowSpanMs } from './windows.js';

test('floorTo aligns to the Unix epoch in UTC, negative times included', () => {
  const t = Date.UTC(2024, 4, 17, 13, 47, 12, 345);
  assert.equal(floorTo(t, MINUTE), Date.UTC(2024, 4, 17, 13, 47));
  assert.equal(floorTo(t, 5 * MINUTE), Date.UTC(2024, 4, 17, 13, 45));
  assert.equal(floorTo(t, HOUR), Date.UTC(2024, 4, 17, 13));
  assert.equal(floorTo(t, DAY), Date.UTC(2024, 4, 17));
  assert.equal(floorTo(7 * DAY + 1, 7 * DAY), 7 * DAY); // weeks start on Thursday 1970-01-01
  assert.equal(floorTo(-1, MINUTE), -MINUTE);
  assert.equal(floorTo(-MINUTE, MINUTE), -MINUTE);
  fc.assert(fc.property(fc.integer({ min: -1e13, max: 1e13 }), fc.integer({ min: 1, max: 10 * DAY }), (x, size) => {
    const f = floorTo(x, size);
    assert.ok(f <= x && x < f + size);
    assert.equal(Math.abs(f % size), 0);
  }), { numRuns: 1000 });
});

test('one tile size per window: hop, size, slide; small tiles below the gap for sessions', () => {
  assert.equal(tileMsFor({ kind: 'sliding', sizeMs: DAY, hopMs: 5 * MINUTE }), 5 * MINUTE);
  assert.equal(tileMsFor({ kind: 'tumbling', sizeMs: 10 * MINUTE }), 10 * MINUTE);
  assert.equal(tileMsFor({ kind: 'hopping', sizeMs: 30 * MINUTE, slideMs: 5 * MINUTE }), 5 * MINUTE);
  assert.equal(tileMsFor({ kind: 'session', gapMs: 30 * MINUTE }), MINUTE);
  assert.equal(tileMsFor({ kind: 'recency', horizonMs: 7 * DAY }), MINUTE);
  assert.deepStrictEqual([MINUTE + 1, MINUTE, 30 * SECOND, 10 * SECOND, 2 * SECOND, SECOND, 2].map(sessionTileMs),
    [MINUTE, 10 * SECOND, 10 * SECOND, SECOND, SECOND, 1, 1]);
  fc.assert(fc.property(fc.integer({ min: 2, max: 10 * DAY }), (gap) => sessionTileMs(gap) < gap), { numRuns: 1000 });
  assert.equal(windowSpanMs({ kind: 'session', gapMs: MINUTE }), DAY);
  assert.equal(windowSpanMs({ kind: 'session', gapMs: MINUTE, lookbackMs: HOUR }), HOUR);
});

test('window bounds of DESIGN §4', () => {
  const T = Date.UTC(2024, 0, 1, 10, 27, 30);
  const at = (h: number, m: number, s = 0): number => Date.UTC(2024, 0, 1, h, m, s);
  assert.deepStrictEqual(fixedWindowBounds({ kind: 'sliding', sizeMs: HOUR, hopMs: 5 * MINUTE }, T), { start: at(9, 25), end: T });
  assert.deepStrictEqual(fixedWindowBounds({ kind: 'tumbling', sizeMs: 10 * MINUTE }, T), { start: at(10, 10), end: at(10, 20) });
  assert.deepStrictEqual(fixedWindowBounds({ kind: 'hopping', sizeMs: 30 * MINUTE, slideMs: 5 * MINUTE }, T), { start: at(9, 55), end: at(10, 25) });
  assert.deepStrictEqual(fixedWindowBounds({ kind: 'tumbling', sizeMs: 10 * MINUTE }, at(10, 20)), { start: at(10, 10), end: at(10, 20) });
});

test('durations read as DESIGN writes them', () => {
  assert.deepStrictEqual([DAY, 7 * DAY, 2 * DAY, HOUR, 90 * SECOND, 1500].map(formatDuration), ['24h', '7d', '2d', '1h', '90s', '1500ms']);
  assert.equal(describeWindow({ kind: 'hopping', sizeMs: 30 * MINUTE, slideMs: 5 * MINUTE }), 'hopping 30m, slide 5m');
});
