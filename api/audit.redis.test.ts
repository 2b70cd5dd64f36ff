// GraphQL over HTTP conformance: graphql-http's server audit suite against the real
// server (with a read key on every request). Every MUST passes; SHOULDs are reported.
// In production mode (introspection off: the audits that query __type get errors there)
// the fast lane (api/fast-lane.ts) must change no verdict: a server with it, audited
// twice (the second pass meets the lane with the documents the first taught it), gives
// the verdicts of one without it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { serverAudits } from 'graphql-http';
import { READ_KEY, startTestApi, testConfig, testPrefix, type TestApi } from './test-support.js';

let t: TestApi;
let production: TestApi;
let withoutLane: TestApi;
before(async () => {
  t = await startTestApi({ prefix: testPrefix('audit') });
  production = await startTestApi({ prefix: testPrefix('audit'), config: testConfig({ TESSERA_MODE: 'production' }) });
  withoutLane = await startTestApi({ prefix: testPrefix('audit'), config: testConfig({ TESSERA_MODE: 'production', TESSERA_API_FAST_LANE: '0' }) });
});
after(async () => {
  await t.stop();
  await production.stop();
  await withoutLane.stop();
});

/** The audits' verdicts: name -> ok or the reason. */
async function audit(t: TestApi): Promise<Map<string, string>> {
  const fetchFn = (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${READ_KEY}`);
    return fetch(input, { ...init, headers });
  };
  const audits = serverAudits({ url: `${t.url}/graphql`, fetchFn });
  const verdicts = new Map<string, string>();
  for (const audit of audits) {
    const result = await audit.fn();
    verdicts.set(audit.name, result.status === 'ok' ? 'ok' : result.reason);
  }
  return verdicts;
}

test('graphql-http audits: every MUST passes', async () => {
  const verdicts = await audit(t);
  const failedMust = [...verdicts].filter(([name, v]) => v !== 'ok' && name.startsWith('MUST')).map(([name, v]) => `${name}: ${v}`);
  const warnings = [...verdicts].filter(([name, v]) => v !== 'ok' && !name.startsWith('MUST')).map(([name, v]) => `${name}: ${v}`);
  console.log(`${verdicts.size} audits, ${failedMust.length} MUST failed, ${warnings.length} SHOULD/MAY not met${warnings.length ? `:\n  ${warnings.join('\n  ')}` : ''}`);
  assert.deepEqual(failedMust, []);
  assert.ok([...verdicts.keys()].filter((name) => name.startsWith('MUST')).length >= 10);
});

test('graphql-http audits in production mode: the fast lane changes no verdict', async () => {
  const expected = await audit(withoutLane);
  assert.deepEqual(await audit(production), expected);
  assert.deepEqual(await audit(production), expected);
  const answered = (await production.api.metrics.fastLane.get()).values.find((v) => v.labels.result === 'answered')?.value ?? 0;
  assert.ok(answered > 0, 'the second pass met the fast lane');
});
