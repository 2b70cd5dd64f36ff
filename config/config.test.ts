import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ConfigError, loadConfig, PROJECT_ROOT } from './config.js';

test('defaults describe the local stack', () => {
  const c = loadConfig({});
  assert.deepEqual(c.kafka.brokers, ['127.0.0.1:19092']);
  assert.equal(c.topics.events, 'clickstream.events');
  assert.equal(c.topics.dlq, 'clickstream.dlq');
  assert.equal(c.topics.eventsPartitions, 6);
  assert.equal(c.redis.port, 16379);
  assert.equal(c.clickhouse.httpPort, 18123);
  assert.equal(c.api.port, 4000);
  assert.equal(c.events.allowedLatenessMs, 600_000);
  assert.equal(c.events.maxBytes, 65_536);
});

test('env overrides are parsed and typed', () => {
  const c = loadConfig({ TESSERA_KAFKA_BROKERS: 'a:1, b:2', TESSERA_REDIS_URL: 'redis://h:7000', TESSERA_EVENTS_PARTITIONS: '12' });
  assert.deepEqual(c.kafka.brokers, ['a:1', 'b:2']);
  assert.equal(c.redis.port, 7000);
  assert.equal(c.topics.eventsPartitions, 12);
});

for (const [key, value] of [['TESSERA_API_PORT', 'http'], ['TESSERA_API_PORT', '70000'], ['TESSERA_KAFKA_BROKERS', 'nohost'],
  ['TESSERA_MODE', 'prod'], ['TESSERA_CLICKHOUSE_DB', 'x;DROP'], ['TESSERA_REDIS_URL', 'http://x'], ['TESSERA_ALLOWED_LATENESS_MS', '-1']] as const) {
  test(`bad ${key}=${value} is one clear ConfigError`, () => {
    assert.throws(() => loadConfig({ [key]: value }), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`invalid ${key}=`) && !e.message.includes('\n'));
  });
}

test('the CLI turns a bad value into one line on stderr and a non-zero exit', () => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'status'], {
    cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, TESSERA_API_PORT: 'abc' },
  });
  assert.equal(res.status, 1);
  const lines = res.stderr.trim().split('\n');
  assert.equal(lines.length, 1, res.stderr);
  assert.match(lines[0] ?? '', /^tessera: ConfigError: invalid TESSERA_API_PORT="abc"/);
});
