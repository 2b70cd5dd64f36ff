import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRegistry } from '../core/features/registry.js';
import { DAY, HOUR, MINUTE } from '../core/windows.js';
import { END_MARGIN_MS, eventTimeAt, HORIZON_AT, planSoakClock, tileHorizonMs } from './soak-clock.js';

test('the tile horizon of the default catalog is 7 days + lateness + an hourly tile', () => {
  assert.equal(tileHorizonMs(createRegistry({ latenessMs: 10 * MINUTE })), 7 * DAY + 10 * MINUTE + HOUR);
});

test('event time covers the horizon in the first third and stays behind the wall clock', () => {
  const now = Date.UTC(2026, 10, 28, 12);
  const horizonMs = 7 * DAY + 70 * MINUTE;
  for (const minutes of [2, 3, 30, 120]) {
    const durationMs = minutes * MINUTE;
    const c = planSoakClock({ nowMs: now, durationMs, horizonMs });
    assert.ok(c.horizonReachedAfterMs <= durationMs * HORIZON_AT + 1, `${minutes} min: horizon after ${c.horizonReachedAfterMs} ms`);
    for (const f of [0, 0.5, 1]) {
      const wall = now + f * durationMs;
      assert.ok(eventTimeAt(c, now, wall) <= wall - END_MARGIN_MS + 1, `${minutes} min at ${f}: event time ahead of ${wall - END_MARGIN_MS}`);
    }
    assert.ok(eventTimeAt(c, now, now + durationMs) >= eventTimeAt(c, now, now) + horizonMs);
  }
});

test('a run long enough for real time is not accelerated, and a given scale is used as is', () => {
  const now = 1_800_000_000_000;
  const slow = planSoakClock({ nowMs: now, durationMs: 30 * DAY, horizonMs: 7 * DAY });
  assert.equal(slow.timeScale, 1);
  assert.equal(slow.eventStartMs, now);
  const given = planSoakClock({ nowMs: now, durationMs: 30 * MINUTE, horizonMs: 7 * DAY, timeScale: 100 });
  assert.equal(given.timeScale, 100);
  assert.throws(() => planSoakClock({ nowMs: now, durationMs: MINUTE, horizonMs: DAY, timeScale: 0.5 }), RangeError);
});
