// docker-compose.yml must describe the same stack as the config module: same host
// ports as the local defaults, and Tessera env that the config module accepts. Its
// monitoring (ops/): Prometheus scrapes every Tessera process where it serves /metrics,
// Grafana is provisioned with the dashboard, and every metric the dashboard and the alerts
// use is one the code defines.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { createApiMetrics } from '../api/metrics.js';
import { serveMetrics } from '../cli/metrics-server.js';
import { ENV_SCHEMA, kafkaPort, loadConfig, PROJECT_ROOT } from './config.js';

interface Service {
  image?: string; build?: string; ports?: string[]; expose?: string[]; environment?: Record<string, string>; command?: string[];
  healthcheck?: unknown; volumes?: string[]; depends_on?: Record<string, unknown>;
}
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

// ---------------------------------------------------------------------------------------
// Monitoring: prometheus + grafana (ops/)

const read = (rel: string): string => fs.readFileSync(path.join(PROJECT_ROOT, rel), 'utf8');
const readYaml = <T>(rel: string): T => parse(read(rel)) as T;
/** docker-compose bind mounts of a service: container path -> repository path. */
function mounts(name: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of compose.services[name]?.volumes ?? []) {
    const [host, container] = v.split(':');
    if (host?.startsWith('./') && container) out.set(container, host.slice(2));
  }
  return out;
}

/** Every metric the code defines (`name: 'tessera_...'`), with histogram series, plus the API's default process metrics. */
const METRIC_SOURCES = ['streams/online/metrics.ts', 'offline/sink/metrics.ts', 'api/metrics.ts', 'offline/jobs/worker.ts'];
async function knownMetrics(): Promise<Set<string>> {
  const names = new Set<string>();
  const add = (n: string) => { for (const s of ['', '_bucket', '_sum', '_count']) names.add(`${n}${s}`); };
  for (const file of METRIC_SOURCES) for (const m of read(file).matchAll(/name: '(tessera_[a-z0-9_]+)'/g)) add(m[1] as string);
  const api = createApiMetrics();
  for (const m of await api.registry.getMetricsAsJSON()) add(m.name);
  api.registry.clear();
  return names;
}
const usedMetrics = (exprs: readonly string[]): Set<string> => new Set(exprs.flatMap((e) => [...e.matchAll(/\b(tessera_[a-z0-9_]+|ClickHouse[A-Za-z]+_[A-Za-z0-9_]+)\b/g)].map((m) => m[1] as string)));

interface Dashboard { uid: string; panels: Array<{ type: string; title: string; datasource?: { uid?: string }; targets?: Array<{ expr: string }> }> }
const dashboardFile = 'ops/grafana/dashboards/tessera.json';
const dashboard = JSON.parse(read(dashboardFile)) as Dashboard;
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
interface Rules { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }
const alertExprs = readYaml<Rules>('ops/prometheus/alerts.yml').groups.flatMap((g) => g.rules.map((r) => r.expr));

test('compose runs prometheus and grafana (official, pinned images) with the ops/ files mounted', () => {
  assert.match(compose.services.prometheus?.image ?? '', /^prom\/prometheus:v\d+\.\d+\.\d+$/);
  assert.match(compose.services.grafana?.image ?? '', /^grafana\/grafana:\d+\.\d+\.\d+$/);
  for (const name of ['prometheus', 'grafana']) assert.ok(compose.services[name]?.healthcheck, `${name} has no healthcheck`);
  assert.equal(hostPorts(compose.services.prometheus!).get(9090), 9090);
  assert.equal(hostPorts(compose.services.grafana!).get(3000), 3000);
  for (const name of ['prometheus', 'grafana', 'clickhouse']) {
    for (const [container, host] of mounts(name)) assert.ok(fs.existsSync(path.join(PROJECT_ROOT, host)), `${name}: ${host} (mounted at ${container}) is missing`);
  }
  assert.equal(mounts('prometheus').get('/etc/prometheus'), 'ops/prometheus');
  assert.equal(mounts('grafana').get('/etc/grafana/provisioning'), 'ops/grafana/provisioning');
  assert.equal(mounts('clickhouse').get('/etc/clickhouse-server/config.d/prometheus.xml'), 'ops/clickhouse/prometheus.xml');
});

test('prometheus scrapes every Tessera process where it serves /metrics, and ClickHouse', () => {
  interface Job { job_name: string; metrics_path?: string; static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: Array<{ names: string[]; port: number }> }
  const prom = readYaml<{ rule_files: string[]; scrape_configs: Job[] }>('ops/prometheus/prometheus.yml');
  const targets = new Map(prom.scrape_configs.map((j) => [j.job_name, [
    ...(j.dns_sd_configs ?? []).flatMap((d) => d.names.map((n) => `${n}:${d.port}`)),
    ...(j.static_configs ?? []).flatMap((c) => c.targets),
  ]]));
  for (const name of ['tessera-online', 'tessera-offline', 'tessera-jobs']) {
    assert.deepEqual(targets.get(name), [`${name}:${defaults.metricsPort}`], `${name}: scraped at TESSERA_METRICS_PORT`);
    assert.ok(compose.services[name]?.expose?.includes(String(defaults.metricsPort)));
  }
  assert.deepEqual(targets.get('tessera-api'), [`tessera-api:${defaults.api.port}`]);
  assert.equal(prom.scrape_configs.find((j) => j.job_name === 'tessera-api')?.metrics_path, '/metrics');
  const chPort = /<port>(\d+)<\/port>/.exec(read('ops/clickhouse/prometheus.xml'))?.[1];
  assert.deepEqual(targets.get('clickhouse'), [`clickhouse:${chPort}`]);
  for (const [job, list] of targets) for (const t of list) assert.ok(compose.services[t.split(':')[0] as string], `${job}: ${t} is not a compose service`);
  assert.deepEqual(prom.rule_files, ['/etc/prometheus/alerts.yml']);
});

test('grafana is provisioned with the prometheus datasource and the dashboard', () => {
  const ds = readYaml<{ datasources: Array<{ uid: string; type: string; url: string }> }>('ops/grafana/provisioning/datasources/prometheus.yml').datasources;
  assert.equal(ds.length, 1);
  assert.equal(ds[0]?.type, 'prometheus');
  assert.equal(ds[0]?.url, 'http://prometheus:9090');
  const providers = readYaml<{ providers: Array<{ options: { path: string } }> }>('ops/grafana/provisioning/dashboards/tessera.yml').providers;
  assert.equal(mounts('grafana').get(providers[0]?.options.path ?? ''), 'ops/grafana/dashboards');
  for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
    assert.equal(p.datasource?.uid, ds[0]?.uid, `panel ${p.title}: datasource`);
    assert.ok((p.targets ?? []).length > 0, `panel ${p.title} has no query`);
  }
});

test('the dashboard shows throughput, lag, freshness, DLQ reasons, parts, API latency and skew', () => {
  const used = usedMetrics(dashboardExprs);
  for (const m of ['tessera_online_events_in_total', 'tessera_online_consumer_lag', 'tessera_online_watermark_delay_seconds', 'tessera_online_events_rejected_total',
    'tessera_offline_rows_per_insert_sum', 'ClickHouseAsyncMetrics_MaxPartCountForPartition', 'tessera_api_request_duration_seconds_bucket', 'tessera_skew_mismatches']) {
    assert.ok(used.has(m), `the dashboard does not use ${m}`);
  }
});

test('every metric the dashboard and the alerts use is defined in the code', async () => {
  const known = await knownMetrics();
  for (const [what, exprs] of [[dashboardFile, dashboardExprs], ['ops/prometheus/alerts.yml', alertExprs]] as const) {
    for (const m of usedMetrics(exprs)) {
      if (m.startsWith('ClickHouse')) assert.match(m, /^ClickHouse(Metrics|ProfileEvents|AsyncMetrics)_[A-Za-z0-9_]+$/, `${what}: ${m}`);
      else assert.ok(known.has(m), `${what}: ${m} is not defined in ${METRIC_SOURCES.join(', ')}`);
    }
  }
});

test('worker /metrics is reachable from the prometheus container (listens beyond loopback)', async () => {
  for (const name of ['tessera-online', 'tessera-offline', 'tessera-jobs']) {
    assert.equal(compose.services[name]?.environment?.TESSERA_METRICS_HOST, '0.0.0.0', `${name} must serve /metrics beyond loopback`);
  }
  const server = serveMetrics(0, [new Registry()], loadConfig({ TESSERA_METRICS_HOST: '0.0.0.0' }).metricsHost);
  await new Promise((r) => server.once('listening', r));
  const address = (server.address() as AddressInfo).address;
  server.close();
  assert.notEqual(address, '127.0.0.1');
});
