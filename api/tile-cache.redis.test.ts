// The API serves online reads through its tile cache (store/tile-cache.ts): a repeated
// request is a hit, a write in between is seen at once, the answers equal the reference,
// and /metrics reports the lookups and the cache's size.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { ClickEvent } from '../core/event.js';
import type { FeatureValue } from '../core/features/definition.js';
import { createRegistry } from '../core/features/registry.js';
import { cacheHarness } from '../store/cache-support.js';
import { createRedis } from '../store/redis-client.js';
import { acceptedEvents, dropPrefix, gql, referenceOf, startTestApi, testConfig, testPrefix, writeTiles, type TestApi } from './test-support.js';

const registry = createRegistry({ latenessMs: 10 * 60_000 });
const prefix = testPrefix('tcache');
const NOW = Date.now();
const names = registry.forEntity('user').map((d) => d.name);
let redis: Redis;
let t: TestApi;
let events: ClickEvent[];
let user: string;

before(async () => {
  events = acceptedEvents('api-tile-cache', NOW - 2 * 3600_000, 2 * 3600 - 120, { users: 3, items: 10, rate: 0.05 });
  user = events[0]?.user_id ?? '';
  redis = createRedis(testConfig());
  t = await startTestApi({ registry, prefix, config: testConfig({ TESSERA_API_TILE_CACHE_ENTRIES: '100', TESSERA_API_TILE_CACHE_MB: '16' }) });
});
after(async () => {
  await t.stop();
  await dropPrefix(redis, prefix);
  await redis.quit();
});

async function userValues(): Promise<{ asOf: number; values: Record<string, FeatureValue> }> {
  const r = await gql(t.url, 'query($ids: [String!]!, $n: [String!]!) { features(entity: "user", ids: $ids, names: $n) { asOf source values } }', { variables: { ids: [user], n: names } });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  const [row] = r.body.data.features as { asOf: string; source: string; values: Record<string, FeatureValue> }[];
  assert.equal(row?.source, 'redis');
  return { asOf: Date.parse(row.asOf), values: row.values };
}

const lookups = async (result: string): Promise<number> => {
  const m = (await t.api.metrics.tileCacheLookups.get()).values.find((v) => v.labels.entity === 'user' && v.labels.result === result);
  return m?.value ?? 0;
};

function assertReference(got: { asOf: number; values: Record<string, FeatureValue> }, written: readonly ClickEvent[]): void {
  const expected = referenceOf(registry, written);
  for (const n of names) assert.deepEqual(got.values[n], expected('user', user, n, got.asOf), n);
}

test('repeated reads hit the cache; a write in between is served at once; all equal the reference', async () => {
  const mid = Math.floor(events.length / 2);
  await writeTiles(redis, prefix, registry, events.slice(0, mid));
  assertReference(await userValues(), events.slice(0, mid));
  const hits = await lookups('hit');
  assertReference(await userValues(), events.slice(0, mid));
  assert.equal(await lookups('hit'), hits + 1);

  // The online path writes the rest (TileStore.apply on another partition).
  const stale = await lookups('stale');
  await cacheHarness(redis, prefix, registry).write(events.slice(mid));
  assertReference(await userValues(), events);
  assert.equal(await lookups('stale'), stale + 1);

  const text = await (await fetch(`${t.url}/metrics`)).text();
  assert.match(text, /tessera_api_tile_cache_lookups_total\{entity="user",result="hit"\} [1-9]/);
  assert.match(text, /tessera_api_tile_cache_entries [1-9]/);
  assert.match(text, /tessera_api_tile_cache_bytes [1-9]/);
});
