// The online worker end to end on the real broker and Redis: a generated stream with
// malformed, late, duplicate and out-of-order events -> tiles -> probes equal to the
// brute-force reference; every rejected record in the DLQ with its reason.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createRegistry } from '../../core/features/registry.js';
import { decodeDlqRecord } from '../../core/event.js';
import { referenceAccept } from '../../core/reference.js';
import { checkProbes, randomProbes } from '../../store/probe-support.js';
import { FeatureReader } from '../../store/reader.js';
import { createRedis } from '../../store/redis-client.js';
import { createKafka } from '../kafka-client.js';
import { decodeAll, removePrivate, privateConfig, produceGenerated, readTopic } from '../test-support.js';
import { runWorkerToEnd } from './test-support.js';

const COUNT = Number(process.env.TESSERA_TEST_ONLINE_EVENTS ?? 200_000);

test(`online worker: ${COUNT} generated events -> tiles equal the reference on random probes`, { timeout: 600_000 }, async () => {
  const { config, prefix } = await privateConfig('online');
  const redis = createRedis(config);
  after(async () => {
    redis.disconnect();
    await removePrivate(config, prefix);
  });
  const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
  const spanMs = 6 * 3600_000;
  const generated = await produceGenerated(config, {
    seed: 'online-e2e', startMs: Date.now() - spanMs - 60_000, rate: COUNT / (spanMs / 1000), count: COUNT,
    users: 1_500, items: 800, late: 0.01, duplicates: 0.01, malformed: 0.01, outOfOrder: 0.05, outOfOrderMaxMs: 60_000,
    allowedLatenessMs: config.events.allowedLatenessMs,
  });
  const worker = await runWorkerToEnd(config, prefix, `test-online-${prefix}`);
  const kafka = createKafka(config, 'test');

  const input = await readTopic(kafka, config.topics.events);
  assert.equal(input.length, generated.length);
  const accepted = referenceAccept(decodeAll(input, config), config.events.allowedLatenessMs);
  const expectedRejects = generated.length - accepted.length;

  // Every rejected record is in the DLQ, once per (partition, offset), with a reason.
  const dlq = (await readTopic(kafka, config.topics.dlq)).map((r) => decodeDlqRecord(r.value));
  assert.ok(dlq.every((r) => r !== null));
  const unique = new Map(dlq.map((r) => [`${r?.source_partition}:${r?.source_offset}`, r]));
  assert.equal(unique.size, expectedRejects);
  const reasons: Record<string, number> = {};
  for (const r of unique.values()) reasons[r?.reason ?? '?'] = (reasons[r?.reason ?? '?'] ?? 0) + 1;
  const kinds = { late: 0, duplicate: 0, malformed: 0 };
  for (const g of generated) if (g.kind !== 'valid') kinds[g.kind] += 1;
  assert.equal(reasons.late, kinds.late);
  assert.equal(reasons.duplicate, kinds.duplicate);

  // Prometheus metrics agree with what happened.
  const metrics = await worker.metrics.registry.metrics();
  assert.match(metrics, new RegExp(`tessera_online_events_in_total\\{[^}]*\\} ${generated.length}\\b`));
  // A batch retried after a Redis timeout is counted as replayed, not again as accepted.
  const counter = (name: string, label = ''): number => Number(new RegExp(`${name}\\{${label}[^}]*\\} (\\d+)`).exec(metrics)?.[1] ?? NaN);
  const acceptedMetric = counter('tessera_online_events_accepted_total');
  assert.ok(acceptedMetric <= accepted.length && acceptedMetric + counter('tessera_online_events_replayed_total') >= accepted.length);
  assert.ok(counter('tessera_online_events_rejected_total', 'reason="late"') <= kinds.late);
  for (const name of ['tessera_online_consumer_lag', 'tessera_online_watermark_delay_seconds', 'tessera_online_batch_size_bucket', 'tessera_online_redis_seconds_bucket']) {
    assert.ok(metrics.includes(name), `metric ${name} missing`);
  }

  const reader = new FeatureReader(redis, prefix, registry);
  const probes = randomProbes(registry, accepted, 2_000, 'online-e2e');
  const report = await checkProbes(reader, registry, accepted, probes);
  console.log(`probes: ${JSON.stringify({ ...report, byFeature: undefined })}, DLQ reasons ${JSON.stringify(reasons)}`);
  assert.ok(report.exact >= 500, `only ${report.exact} probes were answered exactly by Redis`);
  for (const def of registry.features) assert.ok((report.byFeature[def.name] ?? 0) > 0, `no exact probe of ${def.name}`);
  assert.ok(report.nonTrivial >= 200, `only ${report.nonTrivial} probes had non-empty values`);
});
