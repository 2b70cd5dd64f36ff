// Hostile GraphQL requests for the API fuzz suite (api/fuzz.clickhouse.test.ts), from
// fast-check (seeded) families: injection strings in every argument (ids, names, entity,
// asOf, job id, backfill range and names, labelsTable/outputTable), deep, wide and aliased
// documents, huge ids lists, directive and fragment abuse, and hostile HTTP around them
// (bad JSON, content types, methods, paths, auth). Hand-written HTTP cases are in
// http-cases.ts. Every hostile string carries MARKER, so the SQL audit can find it.
import fc from 'fast-check';
import { hostileString, INJECTION_PAYLOADS } from '../../offline/sql-arbitraries.js';

export const MARKER = 'ZQX';

export interface FuzzRequest {
  family: string;
  method: string;
  /** path and query string */
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** raw bytes written to a socket instead (malformed HTTP) */
  raw?: Buffer;
}

export interface Keys {
  read: string;
  admin: string;
}

/** A hostile string with the marker: injection payloads, every plane, NUL, lone surrogates. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...INJECTION_PAYLOADS),
  hostileString(40),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc.constantFrom('\u0000', '\uD800', '\uDFFF', '\\', "\\'", "'", '"', '`', '${x}', '%s', '\r\n', 'a'.repeat(300)),
).map((s) => `${MARKER}${s}${MARKER}`);

const USER_NAMES = ['user_views_1h', 'user_last_5_items', 'user_session_duration_s', 'user_top_3_categories_7d', 'user_cart_rate_24h'];
const ITEM_NAMES = ['item_views_24h', 'item_distinct_viewers_24h', 'item_conversion_24h'];

/** asOf values: mostly 9 days ago (Redis cannot answer, so ClickHouse does), sometimes hostile. */
function asOfArb(pastMs: number): fc.Arbitrary<string | null> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 86_400_000 }).map((d) => new Date(pastMs + d).toISOString()) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.oneof(hostileText, fc.constantFrom('2024-01-01', '0000-00-00T00:00:00Z', '9999-12-31T23:59:59Z', '1970-01-01T00:00:00Z', '-1', 'NaN', '2024-01-01T00:00:00+99:00', '')) },
  );
}

const json = (o: unknown): string => JSON.stringify(o);
const post = (family: string, key: string | null, body: string, extra: Record<string, string> = {}): FuzzRequest => ({
  family, method: 'POST', path: '/graphql', body,
  headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...extra },
});

function featuresRequests(keys: Keys, pastMs: number): fc.Arbitrary<FuzzRequest> {
  const entity = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('user', 'item') }, { weight: 1, arbitrary: hostileText });
  const ids = fc.array(fc.oneof({ weight: 4, arbitrary: hostileText }, { weight: 1, arbitrary: fc.constantFrom('u1', 'i1', '') }), { minLength: 1, maxLength: 25 });
  return fc.tuple(entity, ids, fc.boolean(), fc.option(hostileText, { freq: 5 }), asOfArb(pastMs), fc.boolean()).map(([e, idList, inline, badName, asOf, typed]) => {
    const names = [...(e === 'item' ? ITEM_NAMES : USER_NAMES).slice(0, 3), ...(badName === null ? [] : [badName])];
    if (typed && (e === 'user' || e === 'item')) {
      const fields = names.filter((n) => !n.startsWith(MARKER)).join(' ');
      return post('inject/typed', keys.read, json({ query: `query($ids: [String!]!, $t: DateTime) { ${e}s(ids: $ids, asOf: $t) { id source ${fields} } }`, variables: { ids: idList, t: asOf } }));
    }
    if (inline) {
      // GraphQL string literals: JSON's escapes are a subset of GraphQL's.
      const args = `entity: ${json(e)}, ids: ${json(idList)}, names: ${json(names)}${asOf === null ? '' : `, asOf: ${json(asOf)}`}`;
      return post('inject/inline', keys.read, json({ query: `{ features(${args}) { id asOf source values } }` }));
    }
    return post('inject/variables', keys.read, json({
      query: 'query($e: String!, $ids: [String!]!, $n: [String!]!, $t: DateTime) { features(entity: $e, ids: $ids, names: $n, asOf: $t) { id asOf source values } }',
      variables: { e, ids: idList, n: names, t: asOf },
    }));
  });
}

function jobRequests(keys: Keys, pastMs: number): fc.Arbitrary<FuzzRequest> {
  const table = fc.oneof(hostileText, fc.constantFrom('events', 'system.tables', 'a.b', 'x'.repeat(65), '_ok', 'labels; DROP TABLE events', 'tessera.events'));
  const names = fc.array(fc.oneof(fc.constantFrom(...USER_NAMES, ...ITEM_NAMES), hostileText), { maxLength: 4 });
  const key = fc.constantFrom(keys.admin, keys.admin, keys.admin, keys.read);
  return fc.oneof(
    hostileText.map((id) => post('inject/job-id', keys.read, json({ query: 'query($id: ID!) { job(id: $id) { id kind state progress error } }', variables: { id } }))),
    fc.tuple(key, table, names, table).map(([k, labels, n, out]) => post('inject/training-dataset', k, json({
      query: 'mutation($l: String!, $n: [String!]!, $o: String!) { trainingDataset(labelsTable: $l, names: $n, outputTable: $o) { id state } }',
      variables: { l: labels, n, o: out },
    }))),
    fc.tuple(key, asOfArb(pastMs), asOfArb(pastMs), fc.option(names)).map(([k, from, to, n]) => post('inject/backfill', k, json({
      query: 'mutation($f: DateTime!, $t: DateTime!, $n: [String!]) { backfill(from: $f, to: $t, names: $n) { id state } }',
      variables: { f: from, t: to, n },
    }))),
  );
}

const FIELD = 'featureDefinitions { name }';

function shapeRequests(keys: Keys): fc.Arbitrary<FuzzRequest> {
  const q = (family: string, query: string, variables?: unknown) => post(family, keys.read, json({ query, variables }));
  return fc.oneof(
    fc.integer({ min: 9, max: 400 }).map((d) => q('shape/deep', `{ __type(name: "User") ${'{ fields { type '.repeat(d)}{ name }${' } }'.repeat(d)} }`)),
    fc.integer({ min: 2, max: 300 }).map((d) => q('shape/deep-fragments', `{ ...F0 } ${Array.from({ length: d }, (_, i) => `fragment F${i} on Query { ${i + 1 < d ? `...F${i + 1}` : FIELD} }`).join(' ')}`)),
    fc.integer({ min: 16, max: 3_000 }).map((n) => q('shape/aliases', `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${FIELD}`).join(' ')} }`)),
    fc.integer({ min: 100, max: 20_000 }).map((n) => q('shape/wide', `{ featureDefinitions { ${'name '.repeat(n)}} }`)),
    fc.integer({ min: 21, max: 2_000 }).map((n) => q('shape/directives', `{ featureDefinitions ${'@include(if: true) '.repeat(n)}{ name } }`)),
    fc.integer({ min: 1_001, max: 60_000 }).map((n) => q('shape/huge-ids', 'query($ids: [String!]!) { features(entity: "user", ids: $ids, names: ["user_views_1h"]) { id } }',
      { ids: Array.from({ length: n }, (_, i) => `u${i}`) })),
    fc.integer({ min: 2, max: 50 }).map((n) => q('shape/ids-fields', `{ ${Array.from({ length: n }, (_, i) => `a${i}: users(ids: [${Array.from({ length: 60 }, (_, j) => `"u${j}"`).join(',')}]) { id }`).join(' ')} }`)),
    fc.constantFrom(
      '{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }',
      'query A { featureDefinitions { name } } query A { featureDefinitions { name } }',
      'query A { featureDefinitions { name } } query B { featureDefinitions { name } }',
      'subscription { features }', '{ nope }', '{ features }', '{ featureDefinitions { name(x: 1) } }', '{', '}', '', ' ', '#',
      '{ __schema { types { name fields { name args { name type { name ofType { name ofType { name } } } } } } } }',
      `{ featureDefinitions { name } } ${'#'.repeat(100_000)}`, 'query($x: Int = "a") { featureDefinitions { name } }',
    ).map((text) => q('shape/invalid', text)),
    fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('variables', 'operationName', 'extensions', 'query')).map(([v, field]) =>
      post('shape/bad-params', keys.read, json({ query: '{ featureDefinitions { name } }', [field]: v }))),
    fc.array(fc.constant({ query: '{ featureDefinitions { name } }' }), { minLength: 1, maxLength: 50 }).map((batch) => post('shape/batch', keys.read, json(batch))),
  );
}

function httpRequests(keys: Keys): fc.Arbitrary<FuzzRequest> {
  const good = json({ query: '{ featureDefinitions { name } }' });
  return fc.oneof(
    fc.nat({ max: good.length - 1 }).map((n) => post('http/truncated-json', keys.read, good.slice(0, n))),
    fc.oneof(hostileText, fc.constantFrom('null', '[]', '0', 'true', '"x"', '{"query": 5}', '{"query": null}', '{"query": {}}', '{"query": ["{ a }"]}', '\u0000', '{"query":"{ featureDefinitions { name } }"}}'))
      .map((body) => post('http/bad-body', keys.read, body)),
    fc.tuple(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/graphql', 'application/xml', 'application/json; charset=latin1', 'application/json; charset=utf-16', '*/*', '', 'application/graphql-response+json', 'application/json\u0000'),
      fc.boolean()).map(([type, asGraphql]) => post('http/content-type', keys.read, asGraphql ? '{ featureDefinitions { name } }' : good, { 'content-type': type })),
    fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE').map((method) => ({ ...post('http/method', keys.read, good), method })),
    fc.tuple(fc.constantFrom('/graphql', '/graphql/', '/GRAPHQL', '/graphql;x', '//graphql', '/graphql/../graphql', '/metrics', '/health', '/ready', '/', '/%00', '/graphiql', '/../../etc/passwd'),
      fc.constantFrom('', '?query=%7BfeatureDefinitions%7Bname%7D%7D', '?query=mutation%7Bbackfill(from:%222024-01-01T00:00:00Z%22,to:%222024-01-02T00:00:00Z%22)%7Bid%7D%7D', '?query=%ZZ', '?variables=%7B', '?query=' + 'a'.repeat(20_000)))
      .map(([path, qs]) => ({ family: 'http/get', method: 'GET', path: `${path}${qs}`, headers: { authorization: `Bearer ${keys.read}`, accept: 'application/json' } })),
    fc.oneof(
      fc.constantFrom('', 'Bearer', 'Bearer ', 'Bearer  ', 'bearer dev-read-key', 'Basic dXNlcjpwYXNz', `Bearer ${keys.read} extra`, `Bearer ${keys.read}x`, 'Bearer \'; DROP TABLE keys; --', `Token ${keys.read}`, 'Bearer ' + 'k'.repeat(8_000)),
      hostileText.map((s) => `Bearer ${s.replace(/[^\x20-\x7e]/g, '?')}`),
    ).map((auth) => post('auth/header', null, good, auth === '' ? {} : { authorization: auth })),
    fc.constant(post('auth/mutation-with-read-key', keys.read, json({ query: 'mutation { backfill(from: "2024-01-01T00:00:00Z", to: "2024-01-02T00:00:00Z") { id } }' }))),
  );
}

/** The sampled hostile requests (hand-written HTTP cases are added by the suite). */
export function hostileRequests(n: number, seed: number, keys: Keys, pastMs: number): FuzzRequest[] {
  const all = fc.oneof(
    { weight: 10, arbitrary: featuresRequests(keys, pastMs) },
    { weight: 3, arbitrary: jobRequests(keys, pastMs) },
    { weight: 4, arbitrary: shapeRequests(keys) },
    { weight: 4, arbitrary: httpRequests(keys) },
  );
  return fc.sample(all, { seed, numRuns: n });
}
