// Security of the API against the real Redis: Bearer keys and scopes (401/403 with clear
// messages), static limits (depth, aliases, tokens, cost), the ids-per-request cap, body
// size, unknown names, typed errors for jobs, and the request timeout.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_KEY, codes, gql, ONLY_ADMIN_KEY, READ_KEY, startTestApi, testPrefix, type TestApi } from './test-support.js';

let t: TestApi;
let small: TestApi;
before(async () => {
  t = await startTestApi({ prefix: testPrefix('sec') });
  small = await startTestApi({ prefix: testPrefix('sec'), limits: { maxDepth: 3, maxAliases: 2, maxTokens: 300, maxCost: 22, maxIdsPerRequest: 5, maxBodyBytes: 4096 } });
});
after(async () => { await t.stop(); await small.stop(); });

const FEATURES = '{ features(entity: "user", ids: ["u1"], names: ["user_views_1h"]) { id source values } }';
const BACKFILL = 'mutation { backfill(from: "2024-01-01T00:00:00Z", to: "2024-01-02T00:00:00Z") { id state } }';

test('401: missing, malformed and unknown keys, with a Bearer challenge and a clear message', async () => {
  const cases: [string | null, RegExp][] = [
    [null, /missing API key: send the header "Authorization: Bearer <key>"/],
    ['wrong-key-123', /unknown API key/],
  ];
  for (const [key, re] of cases) {
    const r = await gql(t.url, FEATURES, { key });
    assert.equal(r.status, 401);
    assert.deepEqual(codes(r), ['UNAUTHENTICATED']);
    assert.match(r.body.errors[0].message, re);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="tessera"/);
    assert.equal(r.body.data, undefined, 'nothing executed');
  }
  const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Basic dXNlcjpwYXNz' }, body: JSON.stringify({ query: FEATURES }) });
  assert.equal(res.status, 401);
  assert.match(await res.text(), /malformed Authorization header: expected \\"Bearer <key>\\"/);
});

test('403: queries need read, mutations need admin, checked before anything runs', async () => {
  const mutation = await gql(t.url, BACKFILL, { key: READ_KEY });
  assert.equal(mutation.status, 403);
  assert.deepEqual(codes(mutation), ['FORBIDDEN']);
  assert.match(mutation.body.errors[0].message, /API key "reader" lacks the "admin" scope required for mutations \(it has: read\)/);
  const badInput = await gql(t.url, 'mutation { trainingDataset(labelsTable: "x; DROP", names: ["nope"], outputTable: "y") { id } }', { key: READ_KEY });
  assert.deepEqual(codes(badInput), ['FORBIDDEN'], 'scope first, input checks after');
  const query = await gql(t.url, FEATURES, { key: ONLY_ADMIN_KEY });
  assert.equal(query.status, 403);
  assert.match(query.body.errors[0].message, /"robot" lacks the "read" scope required for queries/);
});

test('jobs: admin passes, inputs are checked, then NOT_AVAILABLE until the job system exists', async () => {
  const r = await gql(t.url, BACKFILL, { key: ADMIN_KEY });
  assert.equal(r.status, 501);
  assert.deepEqual(codes(r), ['NOT_AVAILABLE']);
  assert.match(r.body.errors[0].message, /backfill is not available yet/);
  const ds = await gql(t.url, 'mutation { trainingDataset(labelsTable: "labels", names: ["user_views_1h"], outputTable: "train") { id } }', { key: ADMIN_KEY });
  assert.deepEqual(codes(ds), ['NOT_AVAILABLE']);
  const job = await gql(t.url, '{ job(id: "42") { id state } }');
  assert.deepEqual(codes(job), ['NOT_AVAILABLE']);
  const checks: [string, string][] = [
    ['mutation { backfill(from: "2024-01-02T00:00:00Z", to: "2024-01-01T00:00:00Z") { id } }', 'BAD_USER_INPUT'],
    ['mutation { backfill(from: "2024-01-01T00:00:00Z", to: "2024-01-02T00:00:00Z", names: ["nope"]) { id } }', 'UNKNOWN_FEATURE'],
    ['mutation { trainingDataset(labelsTable: "x; DROP TABLE y", names: ["user_views_1h"], outputTable: "t") { id } }', 'BAD_USER_INPUT'],
    ['mutation { trainingDataset(labelsTable: "l", names: ["user_views_1h", "item_views_1h"], outputTable: "t") { id } }', 'BAD_USER_INPUT'],
  ];
  for (const [q, code] of checks) assert.deepEqual(codes(await gql(t.url, q, { key: ADMIN_KEY })), [code], q);
});

test('mutations are refused over GET', async () => {
  const res = await fetch(`${t.url}/graphql?query=${encodeURIComponent(BACKFILL)}`, { headers: { authorization: `Bearer ${ADMIN_KEY}`, accept: 'application/json' } });
  assert.equal(res.status, 405);
});

test('depth, alias, token and cost limits, each with its own code, before any store is read', async () => {
  const cases: [string, string, RegExp][] = [
    ['{ __type(name: "User") { fields { type { ofType { name } } } } }', 'DEPTH_LIMIT', /Query depth limit of 3 exceeded, found 5/],
    ['{ a: featureDefinitions { b: name c: name } }', 'ALIAS_LIMIT', /Aliases limit of 2 exceeded, found 3/],
    [`{ featureDefinitions { ${'name '.repeat(300)}} }`, 'TOKEN_LIMIT', /Token limit of 300 exceeded/],
    ['{ users(ids: ["u1"]) { id asOf source user_views_1h user_views_24h user_carts_24h user_purchases_7d user_revenue_7d user_last_5_items user_session_events user_session_duration_s user_cart_rate_24h user_seconds_since_last_event user_top_3_categories_7d user_events_30m_hop_5m user_views_10m_tumbling } }', 'COST_LIMIT', /Query Cost limit of 22 exceeded/],
  ];
  for (const [q, code, re] of cases) {
    const r = await gql(small.url, q);
    assert.equal(r.status, 400, `${code}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(codes(r), [code]);
    assert.match(r.body.errors[0].message, re);
    assert.equal(r.body.data, undefined);
  }
  const deepIntrospection = await gql(t.url, '{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }');
  assert.equal(deepIntrospection.status, 200, 'GraphiQL\'s deep introspection query is exempt from depth and cost');
});

test('ids per request are capped across all fields, with a clear error', async () => {
  const ids = (n: number, p = 'u') => Array.from({ length: n }, (_, i) => `${p}${i}`);
  const ok = await gql(small.url, 'query($ids: [String!]!) { features(entity: "user", ids: $ids, names: ["user_views_1h"]) { id } }', { variables: { ids: ids(5) } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const over = await gql(small.url, 'query($ids: [String!]!) { features(entity: "user", ids: $ids, names: ["user_views_1h"]) { id } }', { variables: { ids: ids(6) } });
  assert.equal(over.status, 400);
  assert.deepEqual(codes(over), ['TOO_MANY_IDS']);
  assert.match(over.body.errors[0].message, /too many ids: 6 in this request, the limit is 5; split the request/);
  const split = await gql(small.url, 'query($a: [String!]!, $b: [String!]!) { users(ids: $a) { id } items(ids: $b) { id } }', { variables: { a: ids(3), b: ids(3, 'i') } });
  assert.ok(codes(split).includes('TOO_MANY_IDS'), 'the cap spans every field of the request');
  const dflt = await gql(t.url, 'query($ids: [String!]!) { features(entity: "user", ids: $ids, names: ["user_views_1h"]) { id } }', { variables: { ids: ids(1001) } });
  assert.deepEqual(codes(dflt), ['TOO_MANY_IDS']);
  assert.match(dflt.body.errors[0].message, /the limit is 1000/);
  const empty = await gql(t.url, '{ features(entity: "user", ids: [""], names: ["user_views_1h"]) { id } }');
  assert.deepEqual(codes(empty), ['BAD_USER_INPUT']);
});

test('request bodies are capped (413), by Content-Length and, for chunked bodies, as they stream', async () => {
  const r = await gql(small.url, '{ featureDefinitions { name } }', { variables: { pad: 'x'.repeat(5000) } });
  assert.equal(r.status, 413);
  assert.deepEqual(codes(r), ['REQUEST_ENTITY_TOO_LARGE']);
  const chunked = async (text: string) => {
    const body = new ReadableStream<Uint8Array>({ start(c) { for (let i = 0; i < text.length; i += 1000) c.enqueue(new TextEncoder().encode(text.slice(i, i + 1000))); c.close(); } });
    const res = await fetch(`${small.url}/graphql`, { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'application/json', authorization: `Bearer ${READ_KEY}` } } as RequestInit);
    return { status: res.status, text: await res.text() };
  };
  const big = await chunked(JSON.stringify({ query: '{ featureDefinitions { name } }', variables: { pad: 'x'.repeat(5000) } }));
  assert.equal(big.status, 413, big.text);
  const ok = await chunked(JSON.stringify({ query: '{ featureDefinitions { name } }' }));
  assert.equal(ok.status, 200, ok.text);
});

test('unknown features and entities list the valid names', async () => {
  const f = await gql(t.url, '{ features(entity: "item", ids: ["i1"], names: ["item_views_1h", "item_view_1h"]) { id } }');
  assert.equal(f.status, 400);
  assert.deepEqual(codes(f), ['UNKNOWN_FEATURE']);
  assert.match(f.body.errors[0].message, /unknown feature "item_view_1h"; valid item features: item_views_1h, item_views_24h, item_purchases_24h, item_distinct_viewers_24h, item_conversion_24h/);
  assert.ok(f.body.errors[0].extensions.validNames.includes('item_conversion_24h'));
  const other = await gql(t.url, '{ features(entity: "item", ids: ["i1"], names: ["user_views_1h"]) { id } }');
  assert.match(other.body.errors[0].message, /"user_views_1h" belongs to entity user, not item/);
  const e = await gql(t.url, '{ features(entity: "session", ids: ["s"], names: ["user_views_1h"]) { id } }');
  assert.deepEqual(codes(e), ['UNKNOWN_ENTITY']);
  assert.match(e.body.errors[0].message, /unknown entity "session"; valid entities: user, item/);
  const date = await gql(t.url, 'query($t: DateTime) { features(entity: "user", ids: ["u"], names: [], asOf: $t) { id } }', { variables: { t: '2024-03-01 12:00' } });
  assert.equal(date.status, 400);
  assert.match(date.body.errors[0].message, /add a time zone/);
});

test('the request timeout answers TIMEOUT (504) on time', async () => {
  const slow = await startTestApi({ online: { read: () => new Promise(() => undefined) }, offline: { features: async () => new Map() }, limits: { requestTimeoutMs: 300 } });
  try {
    const r = await gql(slow.url, FEATURES);
    assert.equal(r.status, 504);
    assert.deepEqual(codes(r), ['TIMEOUT']);
    assert.ok(r.ms < 2000, `answered in ${r.ms.toFixed(0)} ms`);
  } finally {
    await slow.stop();
  }
});
