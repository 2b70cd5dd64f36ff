// Every GraphQL error carries extensions.code (plugins/use-error-codes.ts), including the
// two kinds the API fuzz suite found without one: variables the operation cannot use
// (graphql-js's coercion errors) and `subscription` operations (which were answered 200).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import type { JobSource } from './sources.js';
import { ADMIN_KEY, codes, gql, READ_KEY, startTestApi, testConfig, type TestApi } from './test-support.js';

let reads = 0;
const online = { read: async () => { reads += 1; return []; } };
const offline = { features: async () => new Map() };
const jobs: JobSource = {
  backfill: () => Promise.reject(new Error('not in this test')),
  trainingDataset: () => Promise.reject(new Error('not in this test')),
  get: () => Promise.reject(new Error('an unexpected failure inside a resolver')),
};
let dev: TestApi;
let prod: TestApi;
before(async () => {
  dev = await startTestApi({ online, offline, jobs });
  // silent: the unexpected resolver error of the last test would be logged at error level
  prod = await startTestApi({ online, offline, jobs, config: testConfig({ TESSERA_MODE: 'production' }), logger: pino({ level: 'silent' }) });
});
after(async () => { await dev.stop(); await prod.stop(); });

const ACCEPTS = ['application/json', 'application/graphql-response+json'];
const USERS = 'query($ids: [String!]!, $t: DateTime!) { users(ids: $ids, asOf: $t) { id } }';

test('variables the operation cannot use: BAD_USER_INPUT, 400, nothing read', async () => {
  const cases: [Record<string, unknown> | undefined, RegExp][] = [
    [{ ids: ['u1'], t: null }, /^Variable "\$t" of non-null type "DateTime!" must not be null\.$/],
    [{ ids: ['u1'] }, /^Variable "\$t" of required type "DateTime!" was not provided\.$/],
    [undefined, /^Variable "\$ids" of required type "\[String!\]!" was not provided\.$/],
    // graphql-js: '... got invalid value null at "ids[0]"'; graphql-jit: '... got invalid value [null]; ... at value[0].'
    [{ ids: [null], t: '2024-01-01T00:00:00Z' }, /^Variable "\$ids" got invalid value (null at "ids\[0\]"|\[null\]; Expected non-nullable type String! not to be null at value\[0\])/],
    [{ ids: [1], t: '2024-01-01T00:00:00Z' }, /String cannot represent a non string value: 1/],
    [{ ids: { a: 1 }, t: '2024-01-01T00:00:00Z' }, /String cannot represent a non string value/],
  ];
  reads = 0;
  for (const api of [dev, prod]) {
    for (const accept of ACCEPTS) {
      for (const [variables, re] of cases) {
        const r = await gql(api.url, USERS, { variables, accept });
        const what = `${accept} ${JSON.stringify(variables)}: ${JSON.stringify(r.body)}`;
        assert.equal(r.status, 400, what);
        assert.ok(r.body.errors.length > 0, what);
        assert.ok(codes(r).every((c) => c === 'BAD_USER_INPUT'), what);
        assert.match(r.body.errors[0].message, re, what);
        assert.equal(r.body.data, undefined, what);
      }
    }
  }
  // two errors in one request: both coded
  const two = await gql(dev.url, USERS, { variables: { ids: null, t: null } });
  assert.deepEqual(codes(two), ['BAD_USER_INPUT', 'BAD_USER_INPUT']);
  assert.equal(reads, 0, 'no store was read');
  // and counted as what they are in tessera_api_errors_total
  const counted = await dev.api.metrics.errors.get();
  const byCode = Object.fromEntries(counted.values.map((v) => [v.labels.code, v.value]));
  assert.equal(byCode.INTERNAL_SERVER_ERROR, undefined, JSON.stringify(byCode));
  assert.ok((byCode.BAD_USER_INPUT ?? 0) >= cases.length * ACCEPTS.length, JSON.stringify(byCode));
});

test('a subscription is refused with OPERATION_NOT_SUPPORTED (400), over POST and GET, before anything runs', async () => {
  reads = 0;
  for (const api of [dev, prod]) {
    for (const accept of ACCEPTS) {
      for (const q of ['subscription { features }', 'subscription { users(ids: ["u1"]) { id } }', 'subscription S { featureDefinitions { name } }']) {
        const r = await gql(api.url, q, { accept });
        const what = `${accept} ${q}: ${JSON.stringify(r.body)}`;
        assert.equal(r.status, 400, what);
        assert.deepEqual(codes(r), ['OPERATION_NOT_SUPPORTED'], what);
        assert.match(r.body.errors[0].message, /subscription operations are not supported/, what);
        assert.equal(r.body.data, undefined, what);
      }
    }
    const get = await fetch(`${api.url}/graphql?query=${encodeURIComponent('subscription { users(ids: ["u1"]) { id } }')}`, {
      headers: { authorization: `Bearer ${READ_KEY}`, accept: 'application/json' },
    });
    assert.equal(get.status, 400);
    assert.equal((await get.json() as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code, 'OPERATION_NOT_SUPPORTED');
  }
  assert.equal(reads, 0, 'no resolver ran');
  // still authenticated first
  const anonymous = await gql(dev.url, 'subscription { features }', { key: null });
  assert.equal(anonymous.status, 401);
  assert.deepEqual(codes(anonymous), ['UNAUTHENTICATED']);
  // a document may hold a subscription; only executing one is refused
  const query = await gql(dev.url, 'query Q { featureDefinitions { name } } subscription S { featureDefinitions { name } }', { accept: 'application/json' });
  assert.equal(query.status, 400, 'no operationName: graphql-js cannot pick one');
  const picked = await fetch(`${dev.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${READ_KEY}` },
    body: JSON.stringify({ query: 'query Q { featureDefinitions { name } } subscription S { featureDefinitions { name } }', operationName: 'Q' }),
  });
  assert.equal(picked.status, 200);
  assert.ok(((await picked.json()) as { data: { featureDefinitions: unknown[] } }).data.featureDefinitions.length > 0);
});

test('errors inside a result keep their own code (an unexpected resolver error is not relabeled)', async () => {
  const r = await gql(prod.url, '{ job(id: "1") { id } }', { key: ADMIN_KEY, accept: 'application/json' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.data, { job: null });
  assert.deepEqual(codes(r), ['INTERNAL_SERVER_ERROR']);
  assert.equal(r.body.errors[0].message, 'Unexpected error.', 'masked in production');
  const limit = await gql(dev.url, 'query($t: DateTime!) { users(ids: ["u1"], asOf: $t) { id } }', { variables: { t: 'not a time' } });
  assert.deepEqual(codes(limit), ['BAD_USER_INPUT'], 'the DateTime scalar\'s own error passes through');
});
