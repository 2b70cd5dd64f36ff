// The project's own Redis (not the machine's shared one on 6379) takes writes, has AOF on,
// and the client module reaches it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { loadConfig } from '../config/config.js';
import { createRedis, pingRedis } from './redis-client.js';

const config = loadConfig();
const redis = createRedis(config);
after(() => redis.quit());

test('the local Redis answers on its own port, not the shared 6379', async () => {
  assert.notEqual(config.redis.port, 6379);
  assert.equal(await pingRedis(config.redis.url), true);
});

test('writes and reads back under a test prefix, with a retention', async () => {
  const key = `${config.redis.prefix}:test:{${randomUUID()}}`;
  await redis.hset(key, { a: '1', b: 'two' });
  await redis.pexpire(key, 60_000);
  assert.deepEqual(await redis.hgetall(key), { a: '1', b: 'two' });
  const ttl = await redis.pttl(key);
  assert.ok(ttl > 0 && ttl <= 60_000);
  await redis.del(key);
});

test('append-only file persistence is on', async () => {
  const info = (await redis.config('GET', 'appendonly')) as string[];
  assert.deepEqual(info, ['appendonly', 'yes']);
});

test('pingRedis says false for a port where nothing listens', async () => {
  assert.equal(await pingRedis('redis://127.0.0.1:1'), false);
});
