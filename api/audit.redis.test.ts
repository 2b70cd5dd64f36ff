// GraphQL over HTTP conformance: graphql-http's server audit suite against the real
// server (with a read key on every request). Every MUST passes; SHOULDs are reported.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { serverAudits } from 'graphql-http';
import { READ_KEY, startTestApi, testPrefix, type TestApi } from './test-support.js';

let t: TestApi;
before(async () => { t = await startTestApi({ prefix: testPrefix('audit') }); });
after(() => t.stop());

test('graphql-http audits: every MUST passes', async () => {
  const fetchFn = (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${READ_KEY}`);
    return fetch(input, { ...init, headers });
  };
  const audits = serverAudits({ url: `${t.url}/graphql`, fetchFn });
  const failedMust: string[] = [];
  const warnings: string[] = [];
  for (const audit of audits) {
    const result = await audit.fn();
    if (result.status === 'ok') continue;
    const line = `${audit.name}: ${result.reason}`;
    if (audit.name.startsWith('MUST')) failedMust.push(line);
    else warnings.push(line);
  }
  console.log(`${audits.length} audits, ${failedMust.length} MUST failed, ${warnings.length} SHOULD/MAY not met${warnings.length ? `:\n  ${warnings.join('\n  ')}` : ''}`);
  assert.deepEqual(failedMust, []);
  assert.ok(audits.filter((a) => a.name.startsWith('MUST')).length >= 10);
});
