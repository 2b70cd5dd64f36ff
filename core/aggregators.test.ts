// updateTile's last_n keeps its list in place (insertRecent): it must equal sorting all the
// tile's samples most recent first and keeping N, ties and equal entries included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { emptyTile, updateTile } from './aggregators.js';
import { keepMostRecent, type RecentItem } from './ordering.js';
import type { Sample } from './sample.js';

const sampleArb = fc.record({
  time: fc.integer({ min: 0, max: 20 }),
  eventId: fc.constantFrom('a', 'b', 'c'),
  userId: fc.constantFrom('u', 'v'),
  member: fc.constantFrom('1', '2', 'x'),
  scaled: fc.constant(0n),
});

test('last_n: updateTile one sample at a time equals keepMostRecent of all samples', () => {
  fc.assert(fc.property(fc.array(sampleArb, { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), (samples: Sample[], limit) => {
    const tile = emptyTile('last_n');
    for (const s of samples) updateTile('last_n', limit, tile, s);
    const all: RecentItem[] = samples.map((s) => [String(s.time), s.eventId, s.userId, s.member]);
    assert.deepStrictEqual(tile.l, keepMostRecent(all, limit));
  }), { numRuns: 2000 });
});
