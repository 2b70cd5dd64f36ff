// The tile cache's bounds and recency order (pure; the Redis side is in
// tile-cache.redis.test.ts and tile-cache-fuzz.redis.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { evaluateSnapshot } from '../core/evaluate.js';
import { MAX_SNAPSHOTS, TileCache, type CachedTiles } from './tile-cache.js';

const entry = (bytes: number, version = 'v'): CachedTiles => ({ tiles: new Map(), clocks: new Map(), anyKey: true, versions: [version], bytes });
const snapshot = evaluateSnapshot([], new Map(), 0);

test('CLOCK: the oldest entry goes first unless it was hit since, by entries', () => {
  const c = new TileCache({ maxEntries: 2, maxBytes: 1e9 });
  c.set('a', entry(1));
  c.set('b', entry(1));
  const a = c.peek('a') as CachedTiles;
  c.touch(a); // a confirmed by Redis: a second chance
  c.set('c', entry(1));
  assert.deepEqual(['a', 'b', 'c'].map((k) => c.peek(k) !== undefined), [true, false, true]);
  assert.equal(c.evictions, 1);
});

test('bounded by approximate bytes; an entry larger than the bound is not kept', () => {
  const c = new TileCache({ maxEntries: 100, maxBytes: 1000 });
  c.set('a', entry(400));
  c.set('b', entry(400));
  c.set('c', entry(400));
  assert.equal(c.peek('a'), undefined);
  assert.equal(c.bytes, 800);
  c.set('huge', entry(1001));
  assert.equal(c.peek('huge'), undefined);
  assert.equal(c.size, 2);
});

test('touch of an entry that was replaced meanwhile keeps the newer one', () => {
  const c = new TileCache({ maxEntries: 10, maxBytes: 1e9 });
  const old = entry(1, 'v1');
  c.set('a', old);
  c.set('a', entry(1, 'v2'));
  c.touch(old);
  assert.deepEqual(c.peek('a')?.versions, ['v2']);
});

test('off when either bound is 0', () => {
  for (const [maxEntries, maxBytes] of [[0, 100], [100, 0]] as const) {
    const c = new TileCache({ maxEntries, maxBytes });
    assert.equal(c.enabled, false);
    c.set('a', entry(1));
    assert.equal(c.size, 0);
  }
});

test('property: the bounds always hold and the byte count matches the entries kept', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 500 }),
    fc.array(fc.tuple(fc.constantFrom('set', 'touch', 'delete', 'snapshot'), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 300 }))),
    (maxEntries, maxBytes, ops) => {
      const c = new TileCache({ maxEntries, maxBytes });
      const kept = new Map<string, number>();
      const base = new Map<CachedTiles, number>();
      for (const [op, k, bytes] of ops) {
        const key = `k${k}`;
        const e = c.peek(key);
        if (op === 'set') { const fresh = entry(bytes); base.set(fresh, bytes); c.set(key, fresh); }
        else if (op === 'delete') c.delete(key);
        else if (op === 'touch') { if (e) c.touch(e); }
        // snapshots of a few name lists (more than MAX_SNAPSHOTS), replacing and adding
        else if (e) c.keepSnapshot(key, e, `names${bytes % (MAX_SNAPSHOTS + 2)}`, snapshot, bytes);
      }
      for (let k = 0; k <= 12; k++) {
        const e = c.peek(`k${k}`);
        if (!e) continue;
        kept.set(`k${k}`, e.bytes);
        // an entry's bytes: its tiles plus exactly the snapshots it keeps
        const snaps = [...(e.snapshots?.values() ?? [])];
        assert.ok(snaps.length <= MAX_SNAPSHOTS);
        assert.equal(e.bytes, (base.get(e) ?? NaN) + snaps.reduce((a, x) => a + x.bytes, 0));
      }
      assert.ok(c.size <= maxEntries && c.bytes <= maxBytes);
      assert.equal(c.size, kept.size);
      assert.equal(c.bytes, [...kept.values()].reduce((a, b) => a + b, 0));
    },
  ));
});
