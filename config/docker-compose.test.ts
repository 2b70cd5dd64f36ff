// docker-compose.yml must describe the same stack as the config module: same host
// ports as the local defaults, and Tessera env that the config module accepts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ENV_SCHEMA, kafkaPort, loadConfig, PROJECT_ROOT } from './config.js';

interface Service { image?: string; build?: string; ports?: string[]; environment?: Record<string, string>; command?: string[]; healthcheck?: unknown }
const compose = parse(fs.readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const defaults = loadConfig({});

function hostPorts(s: Service): Map<number, number> {
  return new Map((s.ports ?? []).map((p) => { const [h, c] = p.split(':').map(Number); return [h ?? 0, c ?? 0]; }));
}

test('compose has the stack and the four Tessera processes', () => {
  for (const name of ['kafka', 'clickhouse', 'redis', 'tessera-online', 'tessera-offline', 'tessera-api', 'tessera-jobs']) {
    assert.ok(compose.services[name], `service ${name} missing`);
  }
  assert.match(compose.services.kafka?.image ?? '', /^apache\/kafka:/);
  assert.match(compose.services.clickhouse?.image ?? '', /^clickhouse\/clickhouse-server:/);
  assert.match(compose.services.redis?.image ?? '', /^redis:/);
  for (const name of ['kafka', 'clickhouse', 'redis']) assert.ok(compose.services[name]?.healthcheck, `${name} has no healthcheck`);
});

test('kafka image version equals the pinned local broker', () => {
  assert.equal(compose.services.kafka?.image, `apache/kafka:${defaults.kafka.version}`);
});

test('host ports equal the local-stack defaults of the config module', () => {
  assert.ok(hostPorts(compose.services.kafka!).has(kafkaPort(defaults)));
  assert.equal(compose.services.kafka?.environment?.KAFKA_CONTROLLER_QUORUM_VOTERS, `1@kafka:${defaults.kafka.controllerPort}`);
  assert.equal(hostPorts(compose.services.clickhouse!).get(defaults.clickhouse.httpPort), 8123);
  assert.equal(hostPorts(compose.services.clickhouse!).get(defaults.clickhouse.tcpPort), 9000);
  assert.equal(hostPorts(compose.services.redis!).get(defaults.redis.port), 6379);
  assert.equal(hostPorts(compose.services['tessera-api']!).get(defaults.api.port), defaults.api.port);
  assert.match(compose.services.redis?.command?.join(' ') ?? '', /--appendonly yes/);
});

test('Tessera process env is known to and accepted by the config module, and points at compose services', () => {
  for (const name of ['tessera-online', 'tessera-offline', 'tessera-api', 'tessera-jobs']) {
    const env = { ...compose.services[name]?.environment, TESSERA_API_KEYS: 'ci:k:read' };
    for (const key of Object.keys(env)) assert.ok(key in ENV_SCHEMA, `${name}: ${key} is not a config variable`);
    const c = loadConfig(env);
    const internal = compose.services.kafka?.environment?.KAFKA_ADVERTISED_LISTENERS ?? '';
    assert.ok(internal.includes(`//${c.kafka.brokers[0]}`), `${name}: brokers ${c.kafka.brokers[0]} not advertised by kafka`);
    assert.equal(new URL(c.clickhouse.url).hostname, 'clickhouse');
    assert.equal(c.clickhouse.httpPort, 8123);
    assert.equal(new URL(c.redis.url).hostname, 'redis');
    assert.equal(c.redis.port, 6379);
    assert.equal(c.topics.events, defaults.topics.events);
    assert.equal(c.topics.dlq, defaults.topics.dlq);
    assert.equal(c.clickhouse.database, compose.services.clickhouse?.environment?.CLICKHOUSE_DB);
  }
});
