// Fuzzing the live pipeline (issue 7, item 3): 10,000 malformed records, interleaved with a
// realistic stream whose valid events carry every hostile-but-legal string, go through the
// real Kafka, the online worker (Redis tiles, DLQ) and the offline sink (ClickHouse), all
// running at once on private topics, prefix and database. Then:
// - every malformed record is in the DLQ once (by source partition/offset) with one of its
//   expected reasons, its original bytes and key;
// - the valid stream is untouched: the DLQ holds exactly the reference's late and
//   duplicate events of it, Redis answers equal core/reference.ts, and ClickHouse `events`
//   holds exactly the accepted events, strings byte for byte;
// - rejected_events holds one row per DLQ entry; nothing crashed; no prototype was polluted.
// Sizes: TESSERA_FUZZ_EVENTS (malformed, default 10,000), TESSERA_FUZZ_VALID (default 4,000).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeDlqRecord, decodeEvent, DLQ_MAX_ORIGINAL_BYTES, dlqOriginalBytes, type ClickEvent, type DlqRecord } from '../core/event.js';
import { createRegistry } from '../core/features/registry.js';
import { referenceAccept } from '../core/reference.js';
import { generateClickstream } from '../fixtures/generator.js';
import { selectRows } from '../offline/query.js';
import { startOfflineSink, type OfflineSink } from '../offline/sink/sink.js';
import { eventKey, sinkTestEnv, storedKeys } from '../offline/sink/test-support.js';
import { sql, table } from '../offline/sql.js';
import { checkProbes, randomProbes, type Probe } from '../store/probe-support.js';
import { FeatureReader } from '../store/reader.js';
import { createRedis } from '../store/redis-client.js';
import { hostileRecords } from './fuzz/hostile-set.js';
import { hostileValidStream } from './fuzz/hostile-valid.js';
import { interleave, produceAll, readBack, type ReadBack } from './fuzz/pipeline-support.js';
import { startOnlineWorker, type OnlineWorker } from './online/worker.js';
import { waitForGroup } from './test-support.js';

const MALFORMED = Number(process.env.TESSERA_FUZZ_EVENTS ?? 10_000);
const VALID = Number(process.env.TESSERA_FUZZ_VALID ?? 4_000);

const at = (r: { partition: number; offset: string }): string => `${r.partition}:${r.offset}`;
const tally = (xs: readonly string[]): Record<string, number> => xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});

test(`pipeline fuzz: ${MALFORMED} malformed records among ${VALID} valid ones`, { timeout: 900_000 }, async () => {
  const env = await sinkTestEnv('fuzzpipe');
  const { config } = env;
  const latenessMs = config.events.allowedLatenessMs;
  const registry = createRegistry({ latenessMs });
  const onlineGroup = `test-fuzz-online-${env.prefix}`;
  const redis = createRedis(config);
  let worker: OnlineWorker | undefined;
  let sink: OfflineSink | undefined;
  try {
    // 1. the stream: a realistic valid one (last two hours), hostile records among it
    const nowMs = Date.now();
    const spanMs = 2 * 3600_000;
    const generated = [...generateClickstream({
      seed: 'fuzz-valid', startMs: nowMs - spanMs - 120_000, rate: VALID / (spanMs / 1000), count: VALID, users: 150, items: 300,
      late: 0.01, duplicates: 0.01, malformed: 0, outOfOrder: 0.05, outOfOrderMaxMs: 60_000, allowedLatenessMs: latenessMs,
    })];
    const valid = hostileValidStream(generated, 'fuzz-valid');
    const hostile = hostileRecords({ count: MALFORMED, oversize: 22, huge: 40, seed: 2026, nowMs, userKeys: [...new Set(valid.map((v) => v.key))].slice(0, 40) });
    const sent = interleave(valid, hostile, 'fuzz-mix');

    // 2. the live pipeline: online worker and offline sink consume while we produce
    worker = await startOnlineWorker({ config, prefix: env.prefix, groupId: onlineGroup });
    sink = await startOfflineSink({ config, database: env.t.db, prefix: env.prefix, groupId: env.groupId, limits: { flushRows: 2_000, flushMs: 500 } });
    const t0 = Date.now();
    await produceAll(env.kafka, config.topics.events, sent);
    await waitForGroup(env.kafka, onlineGroup, config.topics.events, 300_000);
    await waitForGroup(env.kafka, env.groupId, config.topics.events, 300_000);
    await waitForGroup(env.kafka, env.groupId, config.topics.dlq, 120_000);
    const pipelineS = (Date.now() - t0) / 1000;
    const onlineMetrics = await worker.metrics.registry.metrics();
    await worker.stop();
    worker = undefined;
    await sink.stop();
    sink = undefined;

    // 3. what was sent, where it landed, and what the DLQ says about it
    const input = await readBack(env.kafka, config.topics.events);
    assert.equal(input.length, sent.length, 'every record reached the topic');
    const dlqRaw = await readBack(env.kafka, config.topics.dlq);
    const dlq = new Map<string, DlqRecord>();
    for (const r of dlqRaw) {
      const d = decodeDlqRecord(r.value);
      assert.ok(d !== null, `DLQ record at ${at(r)} is not a DLQ record`);
      assert.equal(d.source_topic, config.topics.events);
      dlq.set(`${d.source_partition}:${d.source_offset}`, d);
    }

    // The reference's verdict on the valid stream, record by record.
    const decoded: Array<{ rec: ReadBack; event: ClickEvent }> = [];
    for (const rec of input) {
      const s = sent[rec.fuzzId ?? -1];
      assert.ok(s, `record ${at(rec)} has no fuzz id`);
      if (s.kind !== 'valid') continue;
      const res = decodeEvent(rec.value, Number(rec.timestamp), config.events);
      assert.ok(res.ok, `valid record ${s.id} (${s.record.hostile}) did not decode: ${res.ok ? '' : res.detail}`);
      if (res.ok) decoded.push({ rec, event: res.event });
    }
    const accepted = referenceAccept(decoded.map((d) => d.event), latenessMs);
    const acceptedSet = new Set(accepted);

    const malformedReasons: string[] = [];
    let truncatedKeys = 0;
    const families: string[] = [];
    for (const rec of input) {
      const s = sent[rec.fuzzId as number];
      const entry = dlq.get(at(rec));
      if (s?.kind === 'hostile') {
        assert.ok(entry, `hostile record ${s.id} (${s.record.family}) at ${at(rec)} is not in the DLQ`);
        assert.ok(s.record.expect.includes(entry.reason), `${s.record.family}: reason ${entry.reason} (${entry.detail}), expected ${s.record.expect.join('|')}`);
        // The DLQ keeps an original's first DLQ_MAX_ORIGINAL_BYTES (and its size), and a key's first bytes.
        const value = s.record.value ?? Buffer.alloc(0);
        assert.ok(Buffer.from(dlqOriginalBytes(entry)).equals(value.subarray(0, DLQ_MAX_ORIGINAL_BYTES)), `${s.record.family}: original bytes changed`);
        assert.equal(entry.original_size, value.length > DLQ_MAX_ORIGINAL_BYTES ? value.length : undefined);
        const key = entry.original_key_base64 === undefined ? null : Buffer.from(entry.original_key_base64, 'base64');
        assert.ok(s.record.key === null ? key === null : key !== null && (key.length > 0) === (s.record.key.length > 0) && s.record.key.subarray(0, key.length).equals(key),
          `${s.record.family}: key changed`);
        if (key !== null && s.record.key !== null && key.length < s.record.key.length) truncatedKeys += 1;
        malformedReasons.push(entry.reason);
        families.push(s.record.family.split(/[/:]/)[0] ?? '?');
      }
    }
    let validRejected = 0;
    for (const d of decoded) {
      const entry = dlq.get(at(d.rec));
      if (acceptedSet.has(d.event)) assert.equal(entry, undefined, `accepted event ${d.event.event_id} is in the DLQ: ${entry?.reason}`);
      else {
        assert.ok(entry && (entry.reason === 'late' || entry.reason === 'duplicate'), `reference-rejected ${d.event.event_id} is not in the DLQ as late/duplicate`);
        validRejected += 1;
      }
    }
    assert.equal(dlq.size, hostile.length + validRejected, 'the DLQ holds nothing else');

    // 4. Redis: features of the valid stream equal the reference (random probes plus every hostile id)
    const reader = new FeatureReader(redis, env.prefix, registry);
    const probes = randomProbes(registry, accepted, 1_500, 'fuzz-probes');
    const lastT = Math.max(...accepted.map((e) => e.event_time)) + 1;
    const hostileUsers = new Set(valid.filter((v) => v.hostile.includes('user_id')).map((v) => v.key));
    const hostileItems = new Set(accepted.flatMap((e) => (e.item_id !== undefined && /[^A-Za-z0-9_-]/.test(e.item_id) ? [e.item_id] : [])));
    for (const [entity, ids] of [['user', hostileUsers], ['item', hostileItems]] as const) {
      for (const id of ids) for (const def of registry.forEntity(entity)) probes.push({ entity, id, name: def.name, T: lastT } satisfies Probe);
    }
    const report = await checkProbes(reader, registry, accepted, probes);
    assert.ok(report.exact >= 500, `only ${report.exact} probes were answered exactly by Redis`);

    // 5. ClickHouse: exactly the accepted events, every string intact; one rejected row per DLQ entry
    const client = env.t.client();
    const stored = await storedKeys(client, env.t.db);
    assert.deepStrictEqual(stored.keys, accepted.map(eventKey).sort());
    type Row = { user_id: string; event_id: string; item_id: string | null; category: string | null; brand: string | null; session_id: string | null; attributes: string | null };
    const rows = await selectRows<Row>(client, sql`SELECT user_id, event_id, item_id, category, brand, session_id, attributes FROM ${table(env.t.db, 'events')} FINAL`);
    const byKey = new Map(rows.map((r) => [`${r.user_id}\u0000${r.event_id}`, r]));
    for (const e of accepted) {
      const r = byKey.get(`${e.user_id}\u0000${e.event_id}`);
      assert.ok(r, `event ${e.event_id} missing`);
      assert.deepEqual([r.item_id, r.category, r.brand, r.session_id], [e.item_id ?? null, e.category ?? null, e.brand ?? null, e.session_id ?? null]);
      assert.deepEqual(r.attributes === null ? undefined : JSON.parse(r.attributes), e.attributes, `attributes of ${e.event_id}`);
    }
    const rejected = await selectRows<{ reason: string; n: string }>(client, sql`SELECT reason, toString(count()) AS n FROM ${table(env.t.db, 'rejected_events')} FINAL GROUP BY reason`);
    const dlqReasons = tally([...dlq.values()].map((d) => d.reason));
    assert.deepEqual(Object.fromEntries(rejected.map((r) => [r.reason, Number(r.n)])), dlqReasons, 'rejected_events per reason = DLQ per reason');

    // 6. the worker counted what it did; no prototype was polluted in this process
    const rejectedMetric = [...onlineMetrics.matchAll(/tessera_online_events_rejected_total\{[^}]*reason="(\w+)"[^}]*\} (\d+)/g)].map((m) => [m[1], Number(m[2])]);
    assert.deepEqual(Object.fromEntries(rejectedMetric), dlqReasons);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).filter((k) => k === 'polluted' || k === 'prototype'), []);

    const hostileValid = valid.filter((v) => v.hostile !== '').length;
    console.log(`FUZZ-PIPELINE ${JSON.stringify({
      sent: sent.length, malformed: hostile.length, valid: valid.length, hostileValid, accepted: accepted.length, validRejected,
      dlq: dlq.size, dlqReasons, truncatedKeys, malformedReasons: tally(malformedReasons), families: tally(families),
      probes: { exact: report.exact, inexact: report.inexact, nonTrivial: report.nonTrivial, hostileUsers: hostileUsers.size, hostileItems: hostileItems.size },
      clickhouseEvents: stored.keys.length, pipelineSeconds: pipelineS,
    })}`);
  } finally {
    await worker?.stop().catch(() => undefined);
    await sink?.stop().catch(() => undefined);
    redis.disconnect();
    await env.cleanup();
  }
});
