// ClickHouse down (nothing listening on its port): online answers keep working. Latest
// reads never touch ClickHouse; a past read that needs it fails fast with
// OFFLINE_UNAVAILABLE, and a typed read returns what Redis answered, with null plus an
// error at the path of each feature that needed ClickHouse (a partial 200).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { ClickEvent } from '../core/event.js';
import { createRegistry } from '../core/features/registry.js';
import { FeatureReader } from '../store/reader.js';
import { createRedis } from '../store/redis-client.js';
import { acceptedEvents, codes, dropPrefix, gql, referenceOf, startTestApi, testConfig, testPrefix, writeTiles, type TestApi } from './test-support.js';

const registry = createRegistry({ latenessMs: 10 * 60_000 });
const prefix = testPrefix('chdown');
const NOW = Date.now();
const names = registry.forEntity('user').map((d) => d.name);
let redis: Redis;
let t: TestApi;
let accepted: ClickEvent[];
let users: string[];
/** a past time where Redis answers some of the users' features exactly and not others */
let pastT: number;

before(async () => {
  accepted = acceptedEvents('api-ch-down', NOW - 4 * 3600_000, 4 * 3600 - 120, { users: 10 });
  users = [...new Set(accepted.map((e) => e.user_id))].slice(0, 5);
  redis = createRedis(testConfig());
  await writeTiles(redis, prefix, registry, accepted);
  const reader = new FeatureReader(redis, prefix, registry);
  for (const e of accepted.filter((x) => x.user_id === users[0] && x.event_time < NOW - 3600_000)) {
    const rows = await reader.read('user', users, names, e.event_time + 1);
    if (rows.some((r) => r.inexact.length > 0) && rows.some((r) => r.inexact.length < names.length)) {
      pastT = e.event_time + 1;
      break;
    }
  }
  assert.ok(pastT !== undefined, 'the data has a past time Redis cannot fully answer');
  t = await startTestApi({ config: testConfig({ TESSERA_CLICKHOUSE_URL: 'http://127.0.0.1:1' }), registry, prefix });
});
after(async () => {
  await t.stop();
  await dropPrefix(redis, prefix);
  await redis.quit();
});


test('latest reads are served by Redis alone', async () => {
  const expected = referenceOf(registry, accepted);
  const r = await gql(t.url, 'query($ids: [String!]!, $n: [String!]!) { features(entity: "user", ids: $ids, names: $n) { id asOf source values } }', { variables: { ids: users, n: names } });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  for (const row of r.body.data.features) {
    assert.equal(row.source, 'redis');
    for (const n of names) assert.deepEqual(row.values[n], expected('user', row.id, n, Date.parse(row.asOf)), `${row.id} ${n}`);
  }
  assert.equal((await fetch(`${t.url}/ready`)).status, 200, 'ready: ClickHouse is not needed to serve');
});

test('a past read needing ClickHouse fails fast with OFFLINE_UNAVAILABLE', async () => {
  const asOf = new Date(pastT).toISOString();
  const r = await gql(t.url, 'query($ids: [String!]!, $n: [String!]!, $t: DateTime) { features(entity: "user", ids: $ids, names: $n, asOf: $t) { id source values } }', { variables: { ids: users, n: names, t: asOf } });
  assert.equal(r.status, 503);
  assert.deepEqual(codes(r), ['OFFLINE_UNAVAILABLE']);
  assert.match(r.body.errors[0].message, /offline store \(ClickHouse\) unavailable, needed for user_\w+.* at /);
  assert.ok(r.ms < 3000, `answered in ${r.ms.toFixed(0)} ms`);
});

test('a typed past read returns what Redis answered, null + error for the rest', async () => {
  const asOf = new Date(pastT).toISOString();
  const r = await gql(t.url, `query($ids: [String!]!, $t: DateTime) { users(ids: $ids, asOf: $t) { id source ${names.join(' ')} } }`, { variables: { ids: users, t: asOf } });
  assert.equal(r.status, 200, 'a partial result');
  assert.ok(r.body.errors.length > 0);
  assert.ok(codes(r).every((c) => c === 'OFFLINE_UNAVAILABLE'));
  const failed = new Set((r.body.errors as { path: (string | number)[] }[]).map((e) => e.path.join('.')));
  const expected = referenceOf(registry, accepted);
  let answered = 0;
  r.body.data.users.forEach((u: Record<string, unknown>, i: number) => {
    assert.equal(u.id, users[i]);
    for (const n of names) {
      if (failed.has(`users.${i}.${n}`)) assert.equal(u[n], null);
      else {
        assert.deepEqual(u[n], expected('user', u.id as string, n, Date.parse(asOf)), `${u.id} ${n}`);
        answered += 1;
      }
    }
  });
  assert.ok(answered > 0, 'Redis answered some features exactly');
});
