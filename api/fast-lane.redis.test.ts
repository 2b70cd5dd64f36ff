// The fast lane (api/fast-lane.ts) answers exactly what yoga answers: the same requests,
// sent to a production API with the lane and to one without it (same tiles, same clock),
// get the same status, headers (but Date) and bytes, whether the lane answered them itself,
// passed them on (errors, unknown documents) or never took them (bad keys, other Accepts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { createRegistry } from '../core/features/registry.js';
import { FeatureReader } from '../store/reader.js';
import { createRedis } from '../store/redis-client.js';
import type { OnlineSource } from './sources.js';
import { responseType } from './fast-lane.js';
import { acceptedEvents, dropPrefix, READ_KEY, ONLY_ADMIN_KEY, startTestApi, testConfig, testPrefix, writeTiles, type TestApi } from './test-support.js';

const registry = createRegistry({ latenessMs: 10 * 60_000 });
const prefix = testPrefix('tfast');
const NOW = Date.now();
const userNames = registry.forEntity('user').map((d) => d.name);
const itemNames = registry.forEntity('item').map((d) => d.name);
let redis: Redis;
let lane: TestApi;
let plain: TestApi;
let users: string[];
let items: string[];

const production = (fastLane: '0' | '1') => testConfig({ TESSERA_MODE: 'production', TESSERA_API_FAST_LANE: fastLane });

before(async () => {
  const events = acceptedEvents('api-fast-lane', NOW - 3600_000, 3600 - 60, { users: 5, items: 20, rate: 0.1 });
  users = [...new Set(events.map((e) => e.user_id))].slice(0, 3);
  items = [...new Set(events.flatMap((e) => (e.item_id ? [e.item_id] : [])))].slice(0, 5);
  redis = createRedis(testConfig());
  await writeTiles(redis, prefix, registry, events);
  // One clock for both: "latest" means the same instant on either server.
  lane = await startTestApi({ registry, prefix, config: production('1'), now: () => NOW });
  plain = await startTestApi({ registry, prefix, config: production('0'), now: () => NOW });
});
after(async () => {
  await lane.stop();
  await plain.stop();
  await dropPrefix(redis, prefix);
  await redis.quit();
});

interface Raw { status: number; headers: string[]; body: string }

/** Status, every response header but Date (name: value), body. */
async function post(url: string, body: string, headers: Record<string, string>): Promise<Raw> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body });
  return { status: res.status, headers: [...res.headers].filter(([name]) => name !== 'date').map(([n, v]) => `${n}: ${v}`).sort(), body: await res.text() };
}

const headersOf = (key: string | null, accept = 'application/graphql-response+json'): Record<string, string> => ({
  'content-type': 'application/json', accept, ...(key === null ? {} : { authorization: `Bearer ${key}` }),
});

/** tessera_api_fast_lane_total{result} of a server (default: the lane server of these tests) */
const fastLane = async (result: string, server: TestApi = lane): Promise<number> =>
  (await server.api.metrics.fastLane.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

/** Sends the request to both servers twice (the lane learns a document from yoga's first answer); all four answers must be equal. */
async function same(body: string, headers: Record<string, string>): Promise<Raw> {
  const expected = await post(plain.url, body, headers);
  for (let i = 0; i < 2; i++) {
    const got = await post(lane.url, body, headers);
    assert.deepEqual(got, expected, `answer ${i + 1} to ${body.slice(0, 200)}`);
  }
  return expected;
}

const USERS_TYPED = `query($ids: [String!]!) { users(ids: $ids) { id asOf source ${userNames.join(' ')} } }`;
const FEATURES = 'query($e: String!, $ids: [String!]!, $n: [String!]!, $t: DateTime) { features(entity: $e, ids: $ids, names: $n, asOf: $t) { id asOf source values } }';

test('answers of known documents come from the lane, equal to yoga\'s byte for byte', async () => {
  const answered = await fastLane('answered');
  const requests = [
    { query: USERS_TYPED, variables: { ids: users } },
    { query: FEATURES, variables: { e: 'user', ids: users, n: userNames } },
    { query: FEATURES, variables: { e: 'item', ids: items, n: itemNames } },
    { query: FEATURES, variables: { e: 'item', ids: items, n: itemNames, t: new Date(NOW - 60_000).toISOString() } },
    { query: `{ items(ids: ${JSON.stringify(items)}) { id source ${itemNames.join(' ')} } }` },
    { query: `query Mine { users(ids: ["${users[0]}"]) { id user_views_1h } } query Other { users(ids: []) { id } }`, operationName: 'Mine' },
  ];
  for (const accept of ['application/graphql-response+json', 'application/json', 'application/graphql-response+json, application/json;q=0.9', 'application/json, application/graphql-response+json']) {
    for (const r of requests) {
      const a = await same(JSON.stringify(r), headersOf(READ_KEY, accept));
      assert.equal(a.status, 200, a.body.slice(0, 300));
      assert.ok(!a.body.includes('"errors"'), a.body.slice(0, 300));
    }
  }
  // every request's second answer at least (the first of each document may come from yoga)
  assert.ok(await fastLane('answered') - answered >= 4 * requests.length, 'the lane answered');
});

test('errors, bad keys, scopes and other shapes are answered as yoga answers them', async () => {
  const passed = await fastLane('passed_on');
  const cases: [unknown, Record<string, string>][] = [
    [{ query: FEATURES, variables: { e: 'user', ids: users, n: ['no_such_feature'] } }, headersOf(READ_KEY)],
    [{ query: FEATURES, variables: { e: 'robot', ids: users, n: userNames } }, headersOf(READ_KEY)],
    [{ query: FEATURES, variables: { e: 'user', ids: Array.from({ length: 1001 }, (_, i) => `u${i}`), n: userNames } }, headersOf(READ_KEY)],
    [{ query: FEATURES, variables: { e: 'user', ids: users, n: userNames, t: 'yesterday' } }, headersOf(READ_KEY)],
    [{ query: FEATURES, variables: { e: 'user', ids: 'u1', n: userNames } }, headersOf(READ_KEY)],
    [{ query: FEATURES, variables: { e: 'user', ids: users, n: userNames } }, headersOf(null)],
    [{ query: FEATURES, variables: { e: 'user', ids: users, n: userNames } }, headersOf('not-a-known-key-123')],
    [{ query: FEATURES, variables: { e: 'user', ids: users, n: userNames } }, headersOf(ONLY_ADMIN_KEY)],
    [{ query: FEATURES, variables: { e: 'user', ids: users, n: userNames } }, headersOf(READ_KEY, 'text/html')],
    [{ query: FEATURES, variables: { e: 'user', ids: users, n: userNames }, extensions: {} }, headersOf(READ_KEY)],
    [{ query: FEATURES, variables: [] }, headersOf(READ_KEY)],
    [{ query: '{ __schema { types { name } } }' }, headersOf(READ_KEY)],
    [{ query: '{ users(ids: ["u1"]) { id nope } }' }, headersOf(READ_KEY)],
    [{ query: 'mutation { backfill(from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z") { id } }' }, headersOf(READ_KEY)],
    [{ query: `query Mine { users(ids: ["${users[0]}"]) { id user_views_1h } } query Other { users(ids: []) { id } }` }, headersOf(READ_KEY)],
    [{ query: `query Mine { users(ids: ["${users[0]}"]) { id user_views_1h } } query Other { users(ids: []) { id } }`, operationName: 'Nope' }, headersOf(READ_KEY)],
    ['{"query": "{ users(ids: [', headersOf(READ_KEY)],
    ['[]', headersOf(READ_KEY)],
  ];
  for (const [body, headers] of cases) {
    // the valid documents among these were learned by the test above (same query strings)
    await same(typeof body === 'string' ? body : JSON.stringify(body), headers);
  }
  assert.ok(await fastLane('passed_on') > passed, 'errors of known documents were passed on to yoga');
});

test('a known document whose answer is partial (data and errors) is answered by yoga', async () => {
  // ClickHouse down: a typed read yoga answered from Redis (learned) later needs ClickHouse
  // for a past asOf, and its rows come back with nulls and an error per missing feature.
  const down = (fastLane: '0' | '1') => testConfig({ TESSERA_MODE: 'production', TESSERA_API_FAST_LANE: fastLane, TESSERA_CLICKHOUSE_URL: 'http://127.0.0.1:1' });
  const servers = { lane: await startTestApi({ registry, prefix, config: down('1'), now: () => NOW }), plain: await startTestApi({ registry, prefix, config: down('0'), now: () => NOW }) };
  try {
    const query = `query($ids: [String!]!, $t: DateTime) { users(ids: $ids, asOf: $t) { id source ${userNames.join(' ')} } }`;
    const send = async (variables: Record<string, unknown>): Promise<Raw> => {
      const body = JSON.stringify({ query, variables });
      const expected = await post(servers.plain.url, body, headersOf(READ_KEY));
      assert.deepEqual(await post(servers.lane.url, body, headersOf(READ_KEY)), expected);
      return expected;
    };
    assert.ok(!(await send({ ids: users })).body.includes('"errors"'));
    const passed = await fastLane('passed_on', servers.lane);
    const partial = await send({ ids: users, t: new Date(NOW - 6 * 3600_000).toISOString() });
    assert.equal(partial.status, 200, partial.body.slice(0, 300));
    assert.match(partial.body, /"data":\{"users":\[/);
    assert.match(partial.body, /OFFLINE_UNAVAILABLE/);
    assert.equal(await fastLane('passed_on', servers.lane), passed + 1);
  } finally {
    await servers.lane.stop();
    await servers.plain.stop();
  }
});

test('a request the lane passed on keeps the deadline it arrived with', async () => {
  // The store answers the first read (yoga's: the lane learns the document), then hangs:
  // the lane's execution expires and yoga gets what is left of the deadline.
  let reads = 0;
  const reader = new FeatureReader(redis, prefix, registry);
  const online: OnlineSource = { read: (...args) => (reads++ === 0 ? reader.read(...args) : new Promise<never>(() => {})) };
  const t = await startTestApi({ registry, prefix, config: production('1'), online, limits: { requestTimeoutMs: 300 } });
  try {
    const body = JSON.stringify({ query: FEATURES, variables: { e: 'user', ids: users, n: userNames } });
    assert.equal((await post(t.url, body, headersOf(READ_KEY))).status, 200);
    const passed = await fastLane('passed_on', t);
    const t0 = performance.now();
    const r = await post(t.url, body, headersOf(READ_KEY));
    const ms = performance.now() - t0;
    assert.equal(r.status, 504, r.body);
    assert.match(r.body, /"code":"TIMEOUT"/);
    assert.ok(ms < 550, `answered after ${Math.round(ms)} ms, not twice the 300 ms deadline`);
    assert.equal(await fastLane('passed_on', t), passed + 1);
  } finally {
    await t.stop();
  }
});

test('responseType follows the first media type of Accept, as yoga does, and leaves the rest to yoga', () => {
  assert.equal(responseType('application/graphql-response+json'), 'application/graphql-response+json; charset=utf-8');
  assert.equal(responseType('application/json, */*'), 'application/json; charset=utf-8');
  assert.equal(responseType('*/*'), undefined);
  assert.equal(responseType(undefined), undefined);
  assert.equal(responseType('text/html'), undefined);
});
