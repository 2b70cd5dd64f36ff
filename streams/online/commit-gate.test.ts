import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CommitGate } from './commit-gate.js';

test('commit gate: only offsets whose writes are old enough leave it, the newest per partition, in order', () => {
  const g = new CommitGate(2_000);
  g.applied(0, '10', 1_000);
  g.applied(0, '20', 2_000);
  g.applied(1, '5', 2_500);
  assert.deepEqual(g.due(2_999), []);
  assert.deepEqual(g.due(3_000), [{ partition: 0, offset: '10' }]);
  assert.deepEqual(g.due(4_600), [{ partition: 0, offset: '20' }, { partition: 1, offset: '5' }]);
  assert.equal(g.size, 0);
});

test('commit gate: drop forgets everything or the partitions not kept; all() empties it', () => {
  const g = new CommitGate(1_000);
  g.applied(0, '1', 0);
  g.applied(1, '2', 0);
  g.applied(2, '3', 0);
  g.drop(new Set([1]));
  assert.deepEqual(g.all(), [{ partition: 1, offset: '2' }]);
  g.applied(3, '4', 0);
  g.drop();
  assert.deepEqual(g.due(10_000), []);
});

test('commit gate property: a committed offset never covers a write younger than the delay, and nothing old stays pending', () => {
  fc.assert(fc.property(fc.array(fc.record({ partition: fc.integer({ min: 0, max: 3 }), gap: fc.integer({ min: 0, max: 800 }), check: fc.boolean() }), { maxLength: 200 }), (steps) => {
    const delay = 1_000;
    const g = new CommitGate(delay);
    const writes: { partition: number; offset: number; at: number }[] = [];
    const committed = new Map<number, number>();
    let now = 0;
    let offset = 0;
    for (const s of steps) {
      now += s.gap;
      offset += 1;
      g.applied(s.partition, String(offset), now);
      writes.push({ partition: s.partition, offset, at: now });
      if (!s.check) continue;
      for (const d of g.due(now)) {
        const o = Number(d.offset);
        assert.ok(o > (committed.get(d.partition) ?? -1), 'commits only move forward');
        committed.set(d.partition, o);
      }
      for (const w of writes) {
        const c = committed.get(w.partition) ?? -1;
        if (w.offset <= c) assert.ok(w.at <= now - delay, 'committed only once old enough');
        else assert.ok(w.at > now - delay, 'an old enough write is committed');
      }
    }
  }), { numRuns: 1_000 });
});
