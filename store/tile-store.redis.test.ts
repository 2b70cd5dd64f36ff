// TileStore.apply sends a batch's entity writes as several pipelines (chunks), each written
// to the socket as soon as it is built, with EVALSHA commands built by hand and the script
// loaded at the head of each chunk. Against the real Redis: a batch of many chunks leaves
// exactly the hashes that one write per call leaves, a replay of it changes nothing, and a
// marker conflict in a late chunk is reported after the other chunks were applied.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { createRegistry } from '../core/features/registry.js';
import { acceptedEvents, dropPrefix, testConfig, testPrefix } from '../api/test-support.js';
import { freshEntityWrites } from './cache-support.js';
import { createRedis } from './redis-client.js';
import { StoreConflictError } from './scripts.js';
import { TileStore, type EntityWrite } from './tile-store.js';

const registry = createRegistry({ latenessMs: 10 * 60_000 });
const NOW = Date.now();
let redis: Redis;
let writes: EntityWrite[];
const prefixes: string[] = [];

before(() => {
  redis = createRedis(testConfig());
  const events = acceptedEvents('tile-store-chunks', NOW - 3600_000, 1800, { users: 600, items: 800, rate: 3 });
  writes = freshEntityWrites(events, registry).map((w, n) => ({ ...w, newMarker: n }));
  assert.ok(writes.length > 3 * 256, `${writes.length} entity writes: several chunks`);
});
after(async () => {
  for (const p of prefixes) await dropPrefix(redis, p);
  await redis.quit();
});

/** Every key under the prefix with its fields, tile versions (_v) and TTL refresh times (_ttl, wall clock) left out. */
async function dump(prefix: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      const rel = key.slice(prefix.length);
      if (type === 'hash') {
        const { _v: _version, _ttl: _refreshed, ...fields } = await redis.hgetall(key);
        out[rel] = fields;
      } else if (type === 'zset') out[rel] = await redis.zrange(key, 0, -1, 'WITHSCORES');
    }
  } while (cursor !== '0');
  return out;
}

function fresh(tag: string): { prefix: string; store: TileStore } {
  const prefix = testPrefix(tag);
  prefixes.push(prefix);
  return { prefix, store: new TileStore(redis, prefix, registry) };
}

test('a batch of many chunks equals one write per call, and its replay changes nothing', async () => {
  const chunked = fresh('chunk');
  const single = fresh('single');
  assert.deepStrictEqual(await chunked.store.apply(3, writes), { applied: writes.length, replayed: 0 });
  for (const w of writes) await single.store.apply(3, [w]);
  const a = await dump(chunked.prefix);
  assert.ok(Object.keys(a).length > writes.length, 'meta, tile hashes and indexes');
  assert.deepStrictEqual(a, await dump(single.prefix));
  assert.deepStrictEqual(await chunked.store.apply(3, writes), { applied: 0, replayed: writes.length });
  assert.deepStrictEqual(await dump(chunked.prefix), a);
});

test('a conflict in a late chunk is reported, and the other writes are applied as Redis ran them', async () => {
  const { store } = fresh('conflict');
  const bad = writes.length - 5;
  const target = writes[bad] as EntityWrite;
  // another consumer moved this entity's marker since we read it
  await store.apply(3, [{ ...target, tiles: [], newMarker: 10_000_000 }]);
  const moved = writes.map((w, n) => (n === bad ? { ...w, expected: { marker: -1, rawMarker: '' }, newMarker: 20_000_000 } : w));
  await assert.rejects(store.apply(3, moved), StoreConflictError);
  assert.deepStrictEqual(await store.apply(3, writes.filter((_, n) => n !== bad)), { applied: 0, replayed: writes.length - 1 });
});
