// API key parsing and checks (DESIGN §6: `name:key:scope1+scope2,...`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './errors.js';
import { ApiKeyConfigError, authenticate, checkProductionKeys, parseApiKeys, requireScope } from './auth.js';

const keys = parseApiKeys('dev:dev-read-key:read, admin:dev-admin-key:read+admin');

test('keys parse into principals with scopes', () => {
  assert.deepEqual(keys.names, ['dev', 'admin']);
  assert.deepEqual([...(keys.lookup('dev-admin-key')?.scopes ?? [])], ['read', 'admin']);
  assert.equal(keys.lookup('dev-read-key')?.name, 'dev');
  assert.equal(keys.lookup('dev-read-ke'), undefined);
  assert.equal(keys.lookup(''), undefined);
});

test('bad key lists fail at start-up with the entry named and no key echoed', () => {
  const bad: [string, RegExp][] = [
    ['', /lists no key/],
    ['dev:dev-read-key', /entry 1: expected name:key:scope1\+scope2/],
    ['dev:dev-read-key:read,x:short:read', /entry 2 \(x\): key must be 8-256/],
    ['dev:dev-read-key:write', /scopes must be read and\/or admin/],
    ['dev:dev-read-key:read,other:dev-read-key:admin', /listed twice/],
    ['bad name:some-long-key:read', /name must match/],
  ];
  for (const [spec, re] of bad) {
    assert.throws(() => parseApiKeys(spec), (e: Error) => e instanceof ApiKeyConfigError && re.test(e.message) && !e.message.includes('dev-read-key'), spec);
  }
});

test('authenticate: 401 for missing, malformed and unknown keys, with a Bearer challenge', () => {
  const cases: [string | null, RegExp][] = [
    [null, /missing API key/], ['', /missing API key/], ['Basic abc', /malformed/], ['Bearer', /malformed/], ['Bearer nope-nope-nope', /unknown API key/],
  ];
  for (const [header, re] of cases) {
    assert.throws(() => authenticate(keys, header), (e: ApiError) => e instanceof ApiError && e.code === 'UNAUTHENTICATED' && e.status === 401 && re.test(e.message)
      && String((e.extensions.http as { headers: Record<string, string> }).headers['WWW-Authenticate']).startsWith('Bearer realm="tessera"'));
  }
  assert.equal(authenticate(keys, 'Bearer dev-read-key').name, 'dev');
  assert.equal(authenticate(keys, 'bearer   dev-read-key ').name, 'dev');
});

test('requireScope: 403 names the key, the scope needed and the scopes held', () => {
  const dev = authenticate(keys, 'Bearer dev-read-key');
  requireScope(dev, 'read', 'queries');
  assert.throws(() => requireScope(dev, 'admin', 'mutations'),
    (e: ApiError) => e.code === 'FORBIDDEN' && e.status === 403 && /"dev" lacks the "admin" scope required for mutations \(it has: read\)/.test(e.message));
});

test('production refuses the published development keys', () => {
  assert.throws(() => checkProductionKeys(keys), /published development key\(s\) dev-read-key, dev-admin-key: set your own keys/);
  checkProductionKeys(parseApiKeys('model:0123456789abcdef:read'));
});
