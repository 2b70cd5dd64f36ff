// The tile cache's bounds and recency order (pure; the Redis side is in
// tile-cache.redis.test.ts and tile-cache-fuzz.redis.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TileCache, type CachedTiles } from './tile-cache.js';

const entry = (bytes: number, version = 'v'): CachedTiles => ({ tiles: new Map(), clocks: new Map(), anyKey: true, versions: [version], bytes });

test('least recently used entries go first, by entries', () => {
  const c = new TileCache({ maxEntries: 2, maxBytes: 1e9 });
  c.set('a', entry(1));
  c.set('b', entry(1));
  const a = c.peek('a') as CachedTiles;
  c.touch('a', a); // a confirmed by Redis: now the most recent
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
  c.touch('a', old);
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
    fc.array(fc.tuple(fc.constantFrom('set', 'touch', 'delete'), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 300 }))),
    (maxEntries, maxBytes, ops) => {
      const c = new TileCache({ maxEntries, maxBytes });
      const kept = new Map<string, number>();
      for (const [op, k, bytes] of ops) {
        const key = `k${k}`;
        if (op === 'set') c.set(key, entry(bytes));
        else if (op === 'delete') c.delete(key);
        else { const e = c.peek(key); if (e) c.touch(key, e); }
      }
      for (let k = 0; k <= 12; k++) { const e = c.peek(`k${k}`); if (e) kept.set(`k${k}`, e.bytes); }
      assert.ok(c.size <= maxEntries && c.bytes <= maxBytes);
      assert.equal(c.size, kept.size);
      assert.equal(c.bytes, [...kept.values()].reduce((a, b) => a + b, 0));
    },
  ));
});
