// The API's tile cache against the real Redis and the real writers: a cached entity is
// served from the cache only when read-tiles.lua says its tiles are unchanged, and every
// way tiles change (an online write, a backfill rewrite, a delete, an expiry, a hash
// written again after a delete) makes the next read a full one. Every reading is compared
// with an uncached read of the same moment.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { ClickEvent } from '../core/event.js';
import { createRegistry } from '../core/features/registry.js';
import { acceptedEvents, dropPrefix, testConfig, testPrefix } from '../api/test-support.js';
import { cacheHarness, type CacheHarness } from './cache-support.js';
import { createRedis } from './redis-client.js';

const registry = createRegistry({ latenessMs: 10 * 60_000 });
const NOW = Date.now();
let redis: Redis;
let events: ClickEvent[];
let user: string;
const prefixes: string[] = [];

before(() => {
  redis = createRedis(testConfig());
  events = acceptedEvents('tile-cache', NOW - 2 * 3600_000, 2 * 3600 - 120, { users: 3, items: 5, rate: 0.05 });
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.user_id, (counts.get(e.user_id) ?? 0) + 1);
  user = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  assert.ok((counts.get(user) ?? 0) > 20, 'a user with events');
});
after(async () => {
  for (const p of prefixes) await dropPrefix(redis, p);
  await redis.quit();
});

let h: CacheHarness;
beforeEach(() => {
  const prefix = testPrefix('cache');
  prefixes.push(prefix);
  h = cacheHarness(redis, prefix, registry);
});

/** Reads the user with both readers at T; asserts they agree; returns the cached reading and which lookup it was. */
async function readUser(T = Date.now()): Promise<{ values: Record<string, unknown>; result: string }> {
  const before = { ...h.lookups };
  const { cached, uncached } = h.readBoth('user', [user], T, Date.now());
  const [c, u] = await Promise.all([cached, uncached]);
  assert.deepEqual(c, u, 'cached reading differs from an uncached one at the same T');
  const result = (['hit', 'stale', 'cold'] as const).find((r) => h.lookups[r] > before[r]) ?? 'none';
  return { values: c[0]?.values ?? {}, result };
}

const half = (): [ClickEvent[], ClickEvent[]] => {
  const mid = Math.floor(events.length / 2);
  return [events.slice(0, mid), events.slice(mid)];
};

test('an unchanged entity is served from the cache, and evaluated at each request\'s T', async () => {
  await h.write(events);
  assert.equal((await readUser()).result, 'cold');
  assert.equal((await readUser()).result, 'hit');
  // Time moves: the same cached tiles, evaluated at other times, still equal uncached reads.
  for (const T of [NOW - 3600_000, NOW - 600_000, NOW + 3600_000, NOW + 8 * 86_400_000]) assert.equal((await readUser(T)).result, 'hit');
  assert.equal(h.cache.size, 1);
});

test('an online write invalidates', async () => {
  const [first, rest] = half();
  await h.write(first);
  const before = await readUser();
  assert.equal((await readUser()).result, 'hit');
  await h.write(rest.filter((e) => e.user_id === user));
  const afterWrite = await readUser();
  assert.equal(afterWrite.result, 'stale');
  assert.notDeepEqual(afterWrite.values, before.values, 'the write changed some feature');
  assert.equal((await readUser()).result, 'hit');
});

test('writes to other entities (or none at all) leave the entry valid: no needless misses', async () => {
  await h.write(events);
  await readUser();
  await h.write([]); // nothing to write: no call, version kept
  assert.equal((await readUser()).result, 'hit');
  await h.write(events.filter((e) => e.user_id !== user)); // other entities only
  assert.equal((await readUser()).result, 'hit');
});

test('a backfill rewrite invalidates', async () => {
  await h.write(events);
  const before = await readUser();
  assert.equal((await readUser()).result, 'hit');
  // Recompute the last hour without this user's views: a "bug fix" that changes its tiles.
  const kept = events.filter((e) => !(e.user_id === user && e.event_type === 'view'));
  await h.backfill(kept, NOW - 3600_000, NOW);
  const afterBackfill = await readUser();
  assert.equal(afterBackfill.result, 'stale');
  assert.notDeepEqual(afterBackfill.values, before.values);
  assert.equal((await readUser()).result, 'hit');
});

test('a deleted tile hash invalidates; so does the same hash written again (versions never repeat)', async () => {
  const [first, rest] = half();
  await h.write(first);
  await readUser();
  const keys = h.tileKeys('user', user);
  await redis.unlink(keys[0] as string);
  assert.equal((await readUser()).result, 'stale');
  assert.equal((await readUser()).result, 'hit');
  // Delete everything and write other events: with a per-hash counter the versions would
  // start over and could match the cached ones.
  await redis.unlink(...keys);
  const gone = await readUser();
  assert.equal(gone.result, 'stale');
  assert.equal(h.cache.size, 0, 'an entity without tiles is not kept');
  await h.write(rest);
  assert.equal((await readUser()).result, 'cold');
  await redis.unlink(...keys);
  await h.write(first);
  assert.notEqual((await readUser()).result, 'hit');
});

test('an expired tile hash invalidates', async () => {
  await h.write(events);
  await readUser();
  assert.equal((await readUser()).result, 'hit');
  const [key] = h.tileKeys('user', user);
  await redis.pexpire(key as string, 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(await redis.exists(key as string), 0);
  assert.equal((await readUser()).result, 'stale');
});

test('a hash without a version (written before writers set _v) is never cached', async () => {
  await h.write(events);
  await readUser();
  await redis.hdel(h.tileKeys('user', user)[0] as string, '_v');
  assert.equal((await readUser()).result, 'stale');
  assert.equal((await readUser()).result, 'cold', 'not kept: it could change without a new version');
});

test('many entities in one pipeline: hits and misses mixed, each exact', async () => {
  await h.write(events);
  const items = [...new Set(events.flatMap((e) => (e.item_id === undefined ? [] : [e.item_id])))].sort();
  const first = items.slice(0, 3);
  await Promise.all(Object.values(h.readBoth('item', first, NOW, NOW)));
  const changed = items[1] as string;
  await h.write(events.filter((e) => e.item_id === changed).slice(-3).map((e) => ({ ...e, event_id: `${e.event_id}-again` })));
  const before = { ...h.lookups };
  const { cached, uncached } = h.readBoth('item', items, NOW, NOW);
  assert.deepEqual(await cached, await uncached);
  assert.equal(h.lookups.hit - before.hit, 2);
  assert.equal(h.lookups.stale - before.stale, 1);
  assert.equal(h.lookups.cold - before.cold, items.length - 3);
});

test('entities split over several read-tiles calls: replies stay in id order, hits and misses mixed', async () => {
  const prefix = testPrefix('cache-split');
  prefixes.push(prefix);
  const split = cacheHarness(redis, prefix, registry, { entitiesPerCall: 2 });
  await split.write(events);
  const items = [...new Set(events.flatMap((e) => (e.item_id === undefined ? [] : [e.item_id])))].sort();
  // unknown ids among known ones, in an order unlike the sorted one
  const ids = [...items.slice(2), 'no-such-item', ...items.slice(0, 2), 'nor-this'];
  await Promise.all(Object.values(split.readBoth('item', ids.slice(0, 3), NOW, NOW)));
  const { cached, uncached } = split.readBoth('item', ids, NOW, NOW);
  const got = await cached;
  assert.deepEqual(got, await uncached);
  assert.deepEqual(got.map((r) => r.id), ids);
  assert.ok(got.some((r) => Object.values(r.values).some((v) => v !== 0 && v !== null && !(Array.isArray(v) && v.length === 0))), 'some item has events');
  assert.ok(split.lookups.hit >= 2 && split.lookups.cold >= 4, JSON.stringify(split.lookups));
});
