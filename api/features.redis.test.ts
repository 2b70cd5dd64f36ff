// Feature vectors through the whole online path: generated events -> preaggregate ->
// TileStore (real Redis, private prefix) -> API -> JSON; values equal core/reference.ts.
// Latest reads are answered by Redis alone; at past times, what Redis reports inexact is
// routed to the offline source (here an exact stand-in; the real ClickHouse is in
// routing.clickhouse.test.ts); a request costs one Redis pipeline whatever the ids.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { ClickEvent } from '../core/event.js';
import type { Entity, FeatureValue } from '../core/features/definition.js';
import { createRegistry } from '../core/features/registry.js';
import { floorTo } from '../core/windows.js';
import { Rng } from '../fixtures/random.js';
import { createRedis } from '../store/redis-client.js';
import type { OfflineSource } from './sources.js';
import { acceptedEvents, dropPrefix, gql, referenceOf, startTestApi, testConfig, testPrefix, writeTiles, type TestApi } from './test-support.js';

const registry = createRegistry({ latenessMs: 10 * 60_000 });
const prefix = testPrefix('feat');
const NOW = Date.now();
let redis: Redis;
let apiRedis: Redis;
let t: TestApi;
let accepted: ClickEvent[];
let expected: ReturnType<typeof referenceOf>;
const offlineCalls: { ids: readonly string[]; names: readonly string[] }[] = [];
const pipelines = { count: 0, direct: 0 };

/** An exact offline source computed from the reference (stands in for ClickHouse here). */
const offline: OfflineSource = {
  async features(entity, ids, names, T) {
    offlineCalls.push({ ids, names });
    return new Map(ids.map((id) => [id, Object.fromEntries(names.map((n): [string, FeatureValue] => [n, expected(entity, id, n, T)]))]));
  },
};

const idsOf = (entity: Entity): string[] => [...new Set(accepted.flatMap((e) => (entity === 'user' ? [e.user_id] : e.item_id === undefined ? [] : [e.item_id])))].sort();
const namesOf = (entity: Entity): string[] => registry.forEntity(entity).map((d) => d.name);

before(async () => {
  accepted = acceptedEvents('api-features', NOW - 6 * 3600_000, 6 * 3600 - 180);
  assert.ok(Math.max(...accepted.map((e) => e.event_time)) < NOW, 'no event after now');
  expected = referenceOf(registry, accepted);
  redis = createRedis(testConfig());
  await writeTiles(redis, prefix, registry, accepted);
  // Count pipelines and commands sent outside a pipeline by the API's client.
  apiRedis = createRedis(testConfig(), { enableOfflineQueue: false, commandTimeout: 2000 });
  const pipeline = apiRedis.pipeline.bind(apiRedis);
  apiRedis.pipeline = ((...args: Parameters<typeof pipeline>) => { pipelines.count += 1; return pipeline(...args); }) as typeof apiRedis.pipeline;
  const send = apiRedis.sendCommand.bind(apiRedis);
  apiRedis.sendCommand = ((cmd, stream) => { if (stream === undefined) pipelines.direct += 1; return send(cmd, stream); }) as typeof apiRedis.sendCommand;
  await new Promise((resolve) => apiRedis.once('ready', resolve));
  pipelines.direct = 0;
  t = await startTestApi({ registry, prefix, redis: apiRedis, offline });
});
after(async () => {
  await t.stop();
  await apiRedis.quit();
  await dropPrefix(redis, prefix);
  await redis.quit();
});

type Row = { id: string; asOf: string; source: string; values: Record<string, FeatureValue> };

async function features(entity: Entity, ids: string[], names: string[], asOf?: number): Promise<Row[]> {
  const r = await gql(t.url, 'query($e: String!, $ids: [String!]!, $n: [String!]!, $t: DateTime) { features(entity: $e, ids: $ids, names: $n, asOf: $t) { id asOf source values } }',
    { variables: { e: entity, ids, n: names, t: asOf === undefined ? null : new Date(asOf).toISOString() } });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
  return r.body.data.features;
}

function assertRow(entity: Entity, row: Row, names: string[]): number {
  const T = Date.parse(row.asOf);
  let nonTrivial = 0;
  for (const n of names) {
    const want = expected(entity, row.id, n, T);
    assert.deepEqual(row.values[n], want, `${entity} ${row.id} ${n} at ${row.asOf} (source ${row.source})`);
    if (want !== null && want !== 0 && !(Array.isArray(want) && want.length === 0)) nonTrivial += 1;
  }
  return nonTrivial;
}

for (const entity of ['user', 'item'] as const) {
  test(`latest ${entity} features come from Redis alone and equal the reference`, async () => {
    offlineCalls.length = 0;
    const ids = [...idsOf(entity).slice(0, 60), `absent-${entity}`];
    const names = namesOf(entity);
    const rows = await features(entity, ids, names);
    assert.deepEqual(rows.map((r) => r.id), ids);
    let nonTrivial = 0;
    for (const row of rows) {
      assert.equal(row.source, 'redis');
      assert.ok(Math.abs(Date.parse(row.asOf) - Date.now()) < 60_000, 'asOf omitted means now');
      nonTrivial += assertRow(entity, row, names);
    }
    assert.equal(offlineCalls.length, 0);
    assert.ok(nonTrivial > ids.length, `meaningful values (${nonTrivial} non-empty)`);
  });
}

test('one request, one "now": every field without asOf reads the same instant', async () => {
  // A clock that moves on every reading: without one reading per request, fields differ.
  let ticks = 0;
  const own = await startTestApi({ registry, prefix, redis: apiRedis, offline, now: () => NOW + ticks++ });
  try {
    const r = await gql(own.url, `query($u: [String!]!, $i: [String!]!, $un: [String!]!, $in: [String!]!) {
      u: features(entity: "user", ids: $u, names: $un) { id asOf }
      i: features(entity: "item", ids: $i, names: $in) { id asOf }
      users(ids: $u) { id asOf user_views_1h }
      again: features(entity: "item", ids: $i, names: $in) { asOf } }`,
    { variables: { u: idsOf('user').slice(0, 3), i: idsOf('item').slice(0, 40), un: namesOf('user'), in: namesOf('item') } });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
    const { u, i, users, again } = r.body.data as Record<string, Row[]>;
    const times = new Set([u, i, users, again].flatMap((rows) => (rows ?? []).map((row) => row.asOf)));
    assert.equal(times.size, 1, `asOf values ${[...times].join(', ')}`);
    // the next request reads the clock again
    const next = await gql(own.url, 'query($u: [String!]!) { features(entity: "user", ids: $u, names: ["user_views_1h"]) { asOf } }', { variables: { u: idsOf('user').slice(0, 1) } });
    assert.ok(Date.parse(next.body.data.features[0].asOf) > Date.parse([...times][0] as string));
  } finally {
    await own.stop();
  }
});

test('past times: Redis where exact, the rest routed in one offline query per request; all equal the reference', async () => {
  const rng = new Rng('api-past');
  const sources: Record<string, number> = {};
  let nonTrivial = 0;
  for (let k = 0; k < 40; k++) {
    const entity: Entity = k % 3 === 2 ? 'item' : 'user';
    const pool = idsOf(entity);
    const ids = Array.from({ length: 8 }, () => pool[Math.floor(rng.next() * pool.length)] as string);
    let T = NOW - Math.floor(rng.next() * 7 * 3600_000);
    if (k % 4 === 0) T = floorTo(T, 60_000); // hop and tile boundaries
    offlineCalls.length = 0;
    const rows = await features(entity, ids, namesOf(entity), T);
    assert.ok(offlineCalls.length <= 1, 'at most one offline query per request');
    for (const row of rows) {
      assert.equal(Date.parse(row.asOf), T);
      sources[row.source] = (sources[row.source] ?? 0) + 1;
      nonTrivial += assertRow(entity, row, namesOf(entity));
    }
    const inexact = rows.filter((r) => r.source !== 'redis').map((r) => r.id);
    assert.deepEqual([...(offlineCalls[0]?.ids ?? [])].sort(), [...new Set(inexact)].sort(), 'only the rows Redis could not answer go offline');
  }
  assert.ok((sources.redis ?? 0) > 0 && (sources.mixed ?? 0) > 0, `both paths exercised: ${JSON.stringify(sources)}`);
  assert.ok(nonTrivial > 200, `meaningful values (${nonTrivial})`);
});

test('typed fields equal the JSON rows', async () => {
  const ids = idsOf('user').slice(0, 20);
  const names = namesOf('user');
  const r = await gql(t.url, `query($ids: [String!]!) { users(ids: $ids) { id asOf source ${names.join(' ')} } }`, { variables: { ids } });
  assert.equal(r.status, 200);
  for (const u of r.body.data.users as (Record<string, FeatureValue> & { id: string; asOf: string; source: string })[]) {
    const { id, asOf, source, ...values } = u;
    assertRow('user', { id, asOf, source, values }, names);
  }
});

test('1000 ids with every user feature: one Redis pipeline, no other command', async () => {
  const known = idsOf('user');
  const ids = Array.from({ length: 1000 }, (_, i) => (i < known.length ? (known[i] as string) : `absent-${i}`));
  pipelines.count = 0;
  pipelines.direct = 0;
  const t0 = performance.now();
  const rows = await features('user', ids, namesOf('user'));
  const ms = performance.now() - t0;
  assert.equal(rows.length, 1000);
  assert.equal(pipelines.count, 1);
  assert.equal(pipelines.direct, 0);
  console.log(`1000 users x ${namesOf('user').length} features: ${ms.toFixed(1)} ms over HTTP`);
});
