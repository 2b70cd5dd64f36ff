// Hand-written hostile HTTP for the API fuzz suite: malformed HTTP on a raw socket, and
// named requests a reviewer looks for (SQL in every argument, bad auth, wrong content
// types, GET vs POST). The fast-check families in requests.ts add the bulk.
import type { FuzzRequest, Keys } from './requests.js';
import { MARKER } from './requests.js';

const raw = (name: string, text: string | Buffer): FuzzRequest => ({ family: `raw/${name}`, method: 'RAW', path: '', headers: {}, raw: Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1') });

const QUERY = 'query($e: String!, $ids: [String!]!, $n: [String!]!, $t: DateTime) { features(entity: $e, ids: $ids, names: $n, asOf: $t) { id asOf source values } }';
const SQL = [`${MARKER}' OR 1=1 --${MARKER}`, `${MARKER}'; DROP TABLE events; --${MARKER}`, `${MARKER}\\'; SELECT 1 --${MARKER}`, `${MARKER}\u0000'${MARKER}`, `${MARKER}\uD800'${MARKER}`];

export function handCases(keys: Keys, pastIso: string): FuzzRequest[] {
  const body = (o: unknown, key: string | null = keys.read, type = 'application/json'): FuzzRequest => ({
    family: 'hand/request', method: 'POST', path: '/graphql', body: JSON.stringify(o),
    headers: { 'content-type': type, accept: 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
  });
  const good = { query: '{ featureDefinitions { name } }' };
  const cases: FuzzRequest[] = [
    raw('garbage', 'GARBAGE\r\n\r\n'),
    raw('http09', 'GET /graphql\r\n\r\n'),
    raw('nul-in-header', 'POST /graphql HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\nContent-Length: 2\r\n\r\n{}'),
    raw('smuggling', 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
    raw('bad-chunked', 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n'),
    raw('short-body', 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query":'),
    raw('huge-content-length', 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{}'),
    raw('negative-content-length', 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'),
    raw('huge-header', `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`),
    raw('many-headers', `GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3_000 }, (_, i) => `X-${i}: 1\r\n`).join('')}\r\n`),
    raw('utf8-request-line', Buffer.from('GET /gräphql\u0000 HTTP/1.1\r\nHost: x\r\n\r\n', 'utf8')),
    raw('invalid-utf8-body', Buffer.concat([Buffer.from('POST /graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"query":"'), Buffer.from([0xff, 0xfe, 0x22, 0x7d])])),
    // SQL and friends in every argument of features()
    ...SQL.map((s) => body({ query: QUERY, variables: { e: 'user', ids: [s, 'u1'], n: ['user_views_1h'], t: pastIso } })),
    ...SQL.map((s) => body({ query: QUERY, variables: { e: s, ids: ['u1'], n: ['user_views_1h'], t: pastIso } })),
    ...SQL.map((s) => body({ query: QUERY, variables: { e: 'item', ids: ['i1'], n: [s], t: pastIso } })),
    ...SQL.map((s) => body({ query: QUERY, variables: { e: 'user', ids: ['u1'], n: ['user_views_1h'], t: s } })),
    ...SQL.map((s) => body({ query: 'mutation($l: String!, $o: String!) { trainingDataset(labelsTable: $l, names: ["user_views_1h"], outputTable: $o) { id } }', variables: { l: s, o: 'out' } }, keys.admin)),
    ...SQL.map((s) => body({ query: 'mutation($l: String!, $o: String!) { trainingDataset(labelsTable: $l, names: ["user_views_1h"], outputTable: $o) { id } }', variables: { l: 'labels', o: s } }, keys.admin)),
    ...SQL.map((s) => body({ query: 'mutation($n: [String!]) { backfill(from: "2024-01-01T00:00:00Z", to: "2024-01-02T00:00:00Z", names: $n) { id } }', variables: { n: [s] } }, keys.admin)),
    ...SQL.map((s) => body({ query: 'query($id: ID!) { job(id: $id) { id state } }', variables: { id: s } })),
    // auth
    body(good, null),
    body(good, 'not-a-key'),
    body({ query: 'mutation { backfill(from: "2024-01-01T00:00:00Z", to: "2024-01-02T00:00:00Z") { id } }' }, keys.read),
    // content types and methods
    body(good, keys.read, 'text/plain'),
    body(good, keys.read, 'application/x-www-form-urlencoded'),
    { family: 'hand/get', method: 'GET', path: `/graphql?query=${encodeURIComponent('{ featureDefinitions { name } }')}`, headers: { authorization: `Bearer ${keys.read}`, accept: 'application/json' } },
    { family: 'hand/get-mutation', method: 'GET', path: `/graphql?query=${encodeURIComponent('mutation { backfill(from: "2024-01-01T00:00:00Z", to: "2024-01-02T00:00:00Z") { id } }')}`, headers: { authorization: `Bearer ${keys.admin}`, accept: 'application/json' } },
    { family: 'hand/no-body', method: 'POST', path: '/graphql', headers: { authorization: `Bearer ${keys.read}`, 'content-type': 'application/json' } },
  ];
  return cases;
}
