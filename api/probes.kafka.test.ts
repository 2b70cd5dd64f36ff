// The API's acceptance probe, end to end on the real services: one generated stream (late,
// duplicate, malformed and out-of-order events) goes through Kafka into the online worker
// (Redis tiles) and the offline sink (ClickHouse); then at least 500 random (entity,
// feature, T) probes over the whole catalog are asked through HTTP GraphQL, one feature
// of one entity at one T per request, and every answer equals the reference evaluator
// (core/reference.ts). Past times Redis cannot answer exactly (the head tile straddles T,
// tiles evicted, entities unknown to Redis) are answered by ClickHouse; both stores must
// have answered.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Entity, FeatureValue } from '../core/features/definition.js';
import { pipelineEnv, type PipelineEnv } from '../offline/jobs/jobs-support.js';
import { compareProbes, randomProbes } from '../store/probe-support.js';
import { gql, startTestApi, testConfig, type TestApi } from './test-support.js';

const PROBES = 600;
let env: PipelineEnv;
let t: TestApi;

before(async () => {
  env = await pipelineEnv('apiprobe', 12_000, { rate: 0.3, users: 150, items: 200 });
  const config = testConfig({ TESSERA_CLICKHOUSE_DB: env.t.db, TESSERA_ALLOWED_LATENESS_MS: String(env.config.events.allowedLatenessMs) });
  t = await startTestApi({ config, registry: env.registry, prefix: env.prefix });
}, { timeout: 600_000 });

after(async () => {
  await t?.stop();
  await env?.cleanup();
});

const QUERY = 'query($e: String!, $ids: [String!]!, $n: [String!]!, $t: DateTime) { features(entity: $e, ids: $ids, names: $n, asOf: $t) { id asOf source values } }';

test(`${PROBES} random (entity, feature, T) probes through the API equal the reference, Redis and ClickHouse both answering`, { timeout: 600_000 }, async () => {
  const probes = randomProbes(env.registry, env.accepted, PROBES, 'api-probes');
  const ask = async (entity: Entity, id: string, name: string, T: number) => {
    const r = await gql(t.url, QUERY, { variables: { e: entity, ids: [id], n: [name], t: new Date(T).toISOString() } });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
    const [row] = r.body.data.features as { id: string; asOf: string; source: string; values: Record<string, FeatureValue> }[];
    assert.ok(row !== undefined && row.id === id && Date.parse(row.asOf) === T && name in row.values, JSON.stringify(r.body).slice(0, 500));
    return { value: row.values[name] as FeatureValue, source: row.source };
  };
  const report = await compareProbes((p) => ask(p.entity, p.id, p.name, p.T), env.registry, env.accepted, probes, 4);
  console.log(`API probes: ${report.exact} equal the reference (${report.nonTrivial} non-empty), by source ${JSON.stringify(report.bySource)}`);
  assert.equal(report.exact, probes.length, 'the API answers every probe');
  assert.ok(report.exact >= 500);
  for (const def of env.registry.features) assert.ok((report.byFeature[def.name] ?? 0) > 0, `no probe of ${def.name}`);
  assert.ok((report.bySource.redis ?? 0) > 0, 'Redis answered some probes');
  assert.ok((report.bySource.clickhouse ?? 0) > 0, 'past times Redis cannot answer exactly went to ClickHouse');
  assert.ok(report.nonTrivial >= 150, `only ${report.nonTrivial} probes had non-empty values`);
});
