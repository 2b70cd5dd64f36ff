// Routing with both real stores: the same accepted events in Redis tiles (private prefix)
// and in a private ClickHouse database. At past times the API answers from Redis where it
// is exact and from ClickHouse for the rest, labels each row redis / clickhouse / mixed,
// and every value equals core/reference.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { ClickEvent } from '../core/event.js';
import type { Entity, FeatureValue } from '../core/features/definition.js';
import { createRegistry } from '../core/features/registry.js';
import { floorTo } from '../core/windows.js';
import { Rng } from '../fixtures/random.js';
import { migrate } from '../offline/migrate.js';
import { createTestDatabase, insertEvents, type TestDatabase } from '../offline/test-support.js';
import { createRedis } from '../store/redis-client.js';
import { acceptedEvents, dropPrefix, gql, referenceOf, startTestApi, testConfig, testPrefix, writeTiles, type TestApi } from './test-support.js';

const registry = createRegistry({ latenessMs: 10 * 60_000 });
const prefix = testPrefix('route');
// Nine days ago: absent ids are then unknown to Redis (their keys could have expired), so
// whole rows go to ClickHouse too.
const START = floorTo(Date.now() - 9 * 86_400_000, 3600_000);
let db: TestDatabase;
let redis: Redis;
let t: TestApi;
let accepted: ClickEvent[];
let expected: ReturnType<typeof referenceOf>;

before(async () => {
  accepted = acceptedEvents('api-routing', START, 8 * 3600, { users: 25, items: 60, rate: 0.15 });
  expected = referenceOf(registry, accepted);
  db = await createTestDatabase('api');
  await migrate(db.admin, db.db);
  await insertEvents(db.client(), db.db, accepted);
  redis = createRedis(testConfig());
  await writeTiles(redis, prefix, registry, accepted);
  const config = testConfig({ TESSERA_CLICKHOUSE_DB: db.db });
  t = await startTestApi({ config, registry, prefix });
});
after(async () => {
  await t?.stop();
  await dropPrefix(redis, prefix);
  await redis.quit();
  await db.drop();
});

const idsOf = (entity: Entity): string[] => [...new Set(accepted.flatMap((e) => (entity === 'user' ? [e.user_id] : e.item_id === undefined ? [] : [e.item_id])))].sort();

test('past times: Redis + ClickHouse answers equal the reference, sources labelled', { timeout: 300_000 }, async () => {
  const rng = new Rng('api-routing-probes');
  const sources: Record<string, number> = {};
  let nonTrivial = 0;
  for (let k = 0; k < 16; k++) {
    const entity: Entity = k % 4 === 3 ? 'item' : 'user';
    const pool = idsOf(entity);
    const ids = [...Array.from({ length: 6 }, () => pool[Math.floor(rng.next() * pool.length)] as string), `nobody-${k}`];
    let T = START + Math.floor(rng.next() * 9 * 3600_000);
    if (k % 3 === 0) T = floorTo(T, 300_000);
    const names = registry.forEntity(entity).map((d) => d.name);
    const r = await gql(t.url, 'query($e: String!, $ids: [String!]!, $n: [String!]!, $t: DateTime) { features(entity: $e, ids: $ids, names: $n, asOf: $t) { id asOf source values } }',
      { variables: { e: entity, ids, n: names, t: new Date(T).toISOString() } });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 400));
    for (const row of r.body.data.features as { id: string; asOf: string; source: string; values: Record<string, FeatureValue> }[]) {
      sources[row.source] = (sources[row.source] ?? 0) + 1;
      for (const n of names) {
        const want = expected(entity, row.id, n, T);
        assert.deepEqual(row.values[n], want, `${entity} ${row.id} ${n} at ${row.asOf} via ${row.source}`);
        if (want !== null && want !== 0 && !(Array.isArray(want) && want.length === 0)) nonTrivial += 1;
      }
    }
  }
  console.log(`rows by source: ${JSON.stringify(sources)}; ${nonTrivial} non-empty values`);
  assert.ok((sources.clickhouse ?? 0) > 0 && (sources.mixed ?? 0) > 0, `every route taken: ${JSON.stringify(sources)}`);
  assert.ok(nonTrivial > 100);
});

test('/metrics counts rows by source and ClickHouse queries', async () => {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  assert.match(text, /tessera_api_feature_rows_total\{entity="user",source="mixed"\} [1-9]/);
  assert.match(text, /tessera_api_offline_query_duration_seconds_count [1-9]/);
  assert.match(text, /tessera_api_request_duration_seconds_bucket\{le="[0-9.]+",status="200"\} [1-9]/);
});
