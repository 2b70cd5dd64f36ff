// `tessera run --api --api-workers 2` as a real process tree: both workers serve on one
// port with the same answers as a single in-process API, /metrics on any worker counts
// every worker's requests, a killed worker is replaced while the other keeps serving, and
// SIGTERM stops the whole tree.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { PROJECT_ROOT } from '../config/config.js';
import { createRegistry } from '../core/features/registry.js';
import { childPids, freePort, isAlive } from '../stack/process.js';
import { createRedis } from '../store/redis-client.js';
import { acceptedEvents, dropPrefix, gql, READ_KEY, startTestApi, testConfig, testPrefix, writeTiles, type TestApi } from './test-support.js';

const registry = createRegistry({ latenessMs: 10 * 60_000 });
const prefix = testPrefix('cluster');
const NOW = Date.now();
let redis: Redis;
let local: TestApi;
let primary: ChildProcess;
let url: string;
let query: string;

/** One request on its own connection, so the primary's round-robin spreads them over the workers. */
function post(body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/graphql`, {
      method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${READ_KEY}`, connection: 'close' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => { text += c; }).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function waitFor(what: string, ms: number, ok: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const metric = async (name: string): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce((s, m) => s + Number(m[1]), 0);
};
const requestsCounted = (): Promise<number> => metric('tessera_api_requests_total');

before(async () => {
  const accepted = acceptedEvents('api-cluster', NOW - 3600_000, 3300);
  redis = createRedis(testConfig());
  await writeTiles(redis, prefix, registry, accepted);
  const users = [...new Set(accepted.map((e) => e.user_id))].sort().slice(0, 10);
  const asOf = new Date(NOW - 60_000).toISOString();
  const names = registry.forEntity('user').map((d) => d.name);
  query = `{ features(entity: "user", ids: ${JSON.stringify(users)}, names: ${JSON.stringify(names)}, asOf: "${asOf}") { id source values } }`;
  local = await startTestApi({ registry, prefix });

  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const config = testConfig();
  primary = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'tessera.js'), 'run', '--api', '--api-workers', '2'], {
    cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env, TESSERA_API_PORT: String(port), TESSERA_REDIS_PREFIX: prefix, TESSERA_METRICS_PORT: '0',
      TESSERA_API_KEYS: config.api.keys, TESSERA_LOG_LEVEL: 'error',
    },
  });
  // /ready answers as soon as one worker listens; tessera_api_processes counts those that do.
  await waitFor('the API workers', 90_000, async () => (await fetch(`${url}/ready`).then((r) => r.ok, () => false)) && (await metric('tessera_api_processes')) === 2);
});

after(async () => {
  if (primary.exitCode === null) primary.kill('SIGKILL');
  for (const pid of childPids(primary.pid as number)) process.kill(pid, 'SIGKILL');
  await local.stop();
  await dropPrefix(redis, prefix);
  await redis.quit();
});

test('two workers answer on one port exactly as one in-process API, and /metrics counts both', async () => {
  const want = await gql(local.url, query);
  assert.equal(want.status, 200);
  assert.ok(want.body.data.features.every((r: { source: string }) => r.source === 'redis'), 'answered by Redis');
  const before0 = await requestsCounted();
  const N = 20;
  for (let i = 0; i < N; i++) {
    const r = await post(JSON.stringify({ query }));
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), want.body, `request ${i}`);
  }
  // Round-robin gave each worker about half; a /metrics of one worker alone would show ~N/2.
  assert.equal((await requestsCounted()) - before0, N);
  assert.equal(await metric('tessera_api_processes'), 2);
});

test('a killed worker is replaced while the other one keeps serving', async () => {
  const [victim, survivor] = childPids(primary.pid as number);
  assert.ok(victim !== undefined && survivor !== undefined);
  process.kill(victim, 'SIGKILL');
  await waitFor('the victim to go', 10_000, () => !childPids(primary.pid as number).includes(victim));
  for (let i = 0; i < 5; i++) assert.equal((await post(JSON.stringify({ query }))).status, 200, 'served meanwhile');
  await waitFor('a replacement worker', 90_000, () => childPids(primary.pid as number).filter((p) => p !== survivor).length === 1);
  const replacement = childPids(primary.pid as number).find((p) => p !== survivor) as number;
  assert.notEqual(replacement, victim);
  // Once the replacement listens, it reports its metrics and gets its share of connections.
  await waitFor('the replacement to report', 90_000, async () => (await metric('tessera_api_processes')) === 2);
  const c0 = await requestsCounted();
  for (let i = 0; i < 6; i++) assert.equal((await post(JSON.stringify({ query }))).status, 200);
  assert.equal((await requestsCounted()) - c0, 6);
});

test('SIGTERM to the primary stops every worker and exits 0', async () => {
  const workers = childPids(primary.pid as number);
  assert.equal(workers.length, 2);
  const exited = new Promise<number | null>((resolve) => primary.once('exit', (code) => resolve(code)));
  primary.kill('SIGTERM');
  assert.equal(await exited, 0);
  for (const pid of workers) assert.ok(!isAlive(pid), `worker ${pid} stopped`);
});
