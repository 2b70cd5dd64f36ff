// Redis down: the API answers at once with STORE_UNAVAILABLE (503) and a clear message,
// instead of hanging; /ready says 503 while /health stays 200; a Redis that accepts
// connections but never answers costs at most the command timeout; when Redis comes
// back, the next requests succeed without a restart.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { after, test } from 'node:test';
import { freePort } from '../stack/process.js';
import { pingRedis } from '../store/redis-client.js';
import { codes, gql, startTestApi, testConfig, testPrefix } from './test-support.js';

const QUERY = '{ features(entity: "user", ids: ["u1", "u2"], names: ["user_views_1h", "user_last_5_items"]) { id source values } }';
const TYPED = '{ users(ids: ["u1"]) { id user_views_1h } }';

const cleanups: (() => Promise<unknown> | void)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

test('nothing listening: every request fails fast with STORE_UNAVAILABLE, /ready 503, /health 200', async () => {
  const port = await freePort();
  const t = await startTestApi({ config: testConfig({ TESSERA_REDIS_URL: `redis://127.0.0.1:${port}` }) });
  cleanups.push(() => t.stop());
  for (let i = 0; i < 5; i++) {
    for (const q of [QUERY, TYPED]) {
      const r = await gql(t.url, q);
      assert.equal(r.status, 503);
      assert.deepEqual(codes(r), ['STORE_UNAVAILABLE']);
      assert.match(r.body.errors[0].message, new RegExp(`online store \\(Redis at 127.0.0.1:${port}\\) is unavailable: .*ECONNREFUSED|connection`));
      assert.ok(r.ms < 1000, `answered in ${r.ms.toFixed(0)} ms`);
    }
  }
  const ready = await fetch(`${t.url}/ready`);
  assert.equal(ready.status, 503);
  assert.match(await ready.text(), /unavailable/);
  assert.equal((await fetch(`${t.url}/health`)).status, 200);
  const defs = await gql(t.url, '{ featureDefinitions { name } }');
  assert.equal(defs.status, 200, 'what needs no store still works');
});

test('a Redis that never answers costs at most the command timeout', async () => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => { sockets.push(s); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  cleanups.push(() => { for (const s of sockets) s.destroy(); return new Promise((r) => silent.close(r)); });
  const port = (silent.address() as net.AddressInfo).port;
  const t = await startTestApi({ config: testConfig({ TESSERA_REDIS_URL: `redis://127.0.0.1:${port}` }), limits: { redisCommandTimeoutMs: 300 } });
  cleanups.push(() => t.stop());
  for (let i = 0; i < 3; i++) {
    const r = await gql(t.url, QUERY);
    assert.equal(r.status, 503);
    assert.deepEqual(codes(r), ['STORE_UNAVAILABLE']);
    assert.ok(r.ms < 1500, `answered in ${r.ms.toFixed(0)} ms`);
  }
});

test('Redis coming back: requests succeed again without a restart', async () => {
  const port = await freePort();
  const t = await startTestApi({ config: testConfig({ TESSERA_REDIS_URL: `redis://127.0.0.1:${port}` }), prefix: testPrefix('down') });
  cleanups.push(() => t.stop());
  assert.deepEqual(codes(await gql(t.url, QUERY)), ['STORE_UNAVAILABLE']);
  const server: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  cleanups.push(() => { server.kill('SIGTERM'); });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await pingRedis(url))) {
    assert.ok(Date.now() < deadline, 'redis-server started');
    await new Promise((r) => setTimeout(r, 100));
  }
  const back = Date.now();
  let r = await gql(t.url, QUERY);
  while (r.status !== 200 && Date.now() - back < 3000) {
    await new Promise((res) => setTimeout(res, 100));
    r = await gql(t.url, QUERY);
  }
  assert.equal(r.status, 200, `recovered within 3 s of Redis coming back: ${JSON.stringify(r.body)}`);
  assert.deepEqual(r.body.data.features.map((x: { source: string }) => x.source), ['redis', 'redis']);
  assert.equal((await fetch(`${t.url}/ready`)).status, 200);
});
