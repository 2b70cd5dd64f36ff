// GraphiQL and introspection: on in development, served from local assets only (no CDN);
// off in production, where introspection and field suggestions are refused too.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createApi } from './server.js';
import { codes, gql, startTestApi, testConfig, type TestApi } from './test-support.js';

const offline = { features: async () => new Map() };
const online = { read: async () => [] };
let dev: TestApi;
let prod: TestApi;
before(async () => {
  dev = await startTestApi({ online, offline });
  prod = await startTestApi({ online, offline, config: testConfig({ TESSERA_MODE: 'production' }) });
});
after(async () => { await dev.stop(); await prod.stop(); });

/** Every place an HTML page can make the browser fetch something. */
function externalReferences(html: string): string[] {
  const patterns = [
    /<(?:script|img|iframe|source|embed|video|audio)\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?\/\/[^"'\s>]+/gi,
    /<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?\/\/[^"'\s>]+/gi,
    /url\(\s*["']?\s*(?:https?:)?\/\/[^)'"]+/gi,
    /@import\s+(?:url\()?\s*["']?(?:https?:)?\/\/[^"')\s;]+/gi,
    /\bimport\s*\(\s*["'`](?:https?:)?\/\/[^"'`]+/gi,
    /\bfrom\s+["'](?:https?:)?\/\/[^"']+/gi,
    /\b(?:unpkg\.com|cdn\.jsdelivr\.net|esm\.sh|cdnjs\.cloudflare\.com|fonts\.googleapis\.com|fonts\.gstatic\.com|skypack\.dev)\b/gi,
  ];
  return patterns.flatMap((re) => html.match(re) ?? []);
}

test('development: GraphiQL page with every asset inline, no external URL', async () => {
  const res = await fetch(`${dev.url}/graphql`, { headers: { accept: 'text/html' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  const html = await res.text();
  assert.match(html, /<title>Tessera feature store<\/title>/);
  assert.ok(html.length > 100_000, 'the GraphiQL bundle is inline');
  assert.deepEqual(externalReferences(html), []);
  assert.deepEqual(externalReferences('<script src="https://unpkg.com/x.js"></script><link href="//cdn.x/y.css">'), ['<script src="https://unpkg.com/x.js', '<link href="//cdn.x/y.css', 'unpkg.com'], 'the check itself finds CDN references');
});

test('development: introspection works with a read key', async () => {
  const r = await gql(dev.url, '{ __schema { queryType { name } } }');
  assert.equal(r.status, 200);
  assert.equal(r.body.data.__schema.queryType.name, 'Query');
});

test('production: no GraphiQL page', async () => {
  const res = await fetch(`${prod.url}/graphql`, { headers: { accept: 'text/html' } });
  const body = await res.text();
  assert.doesNotMatch(res.headers.get('content-type') ?? '', /text\/html/);
  assert.doesNotMatch(body, /graphiql/i);
  assert.ok(res.status >= 400, `refused (${res.status}): a browser GET is just a GraphQL request without a key or a JSON Accept`);
});

test('production: introspection refused, field suggestions hidden, queries still served', async () => {
  for (const q of ['{ __schema { types { name } } }', '{ __type(name: "User") { name } }']) {
    const r = await gql(prod.url, q);
    assert.equal(r.status, 400);
    assert.ok(codes(r).length > 0 && codes(r).every((c) => c === 'INTROSPECTION_DISABLED'), JSON.stringify(r.body));
    assert.match(r.body.errors[0].message, /introspection is disabled in production mode/);
  }
  const typo = await gql(prod.url, '{ featureDefinition { name } }');
  assert.deepEqual(codes(typo), ['GRAPHQL_VALIDATION_FAILED']);
  assert.doesNotMatch(typo.body.errors[0].message, /Did you mean/);
  const ok = await gql(prod.url, '{ featureDefinitions { name } __typename }');
  assert.equal(ok.status, 200);
  assert.ok(ok.body.data.featureDefinitions.length > 0);
});

test('/health answers without a key', async () => {
  for (const t of [dev, prod]) assert.equal((await fetch(`${t.url}/health`)).status, 200);
});

test('production mode will not start with the development keys', () => {
  const config = testConfig({ TESSERA_MODE: 'production', TESSERA_API_KEYS: 'dev:dev-read-key:read,admin:dev-admin-key:read+admin' });
  assert.throws(() => createApi({ config, online, offline }), /published development key/);
});
