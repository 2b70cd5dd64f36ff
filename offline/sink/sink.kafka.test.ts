// The sink end to end on the real Kafka, ClickHouse and Redis (private topics, database,
// prefix and group): `events` holds exactly the reference's accepted events (rejected ones
// absent), `rejected_events` the DLQ; and the same after crashes at the worst moments
// (between a flush's insert and its state write; at a random moment) and a restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateClickstream } from '../../fixtures/generator.js';
import { produceGenerated, waitForGroup } from '../../streams/test-support.js';
import { selectRows } from '../query.js';
import { sql, table } from '../sql.js';
import type { FlushStep } from './flush.js';
import { startOfflineSink, type OfflineSink } from './sink.js';
import { acceptedKeys, produceDlq, sinkTestEnv, storedKeys, type SinkTestEnv } from './test-support.js';

const GEN = { rate: 20, users: 300, items: 500, late: 0.03, duplicates: 0.05, malformed: 0.03, outOfOrder: 0.1 };

async function caughtUp(env: SinkTestEnv): Promise<void> {
  await waitForGroup(env.kafka, env.groupId, env.config.topics.events, 90_000);
  await waitForGroup(env.kafka, env.groupId, env.config.topics.dlq, 30_000);
}

function start(env: SinkTestEnv, extra: Partial<Parameters<typeof startOfflineSink>[0]> = {}): Promise<OfflineSink> {
  return startOfflineSink({ config: env.config, database: env.t.db, prefix: env.prefix, groupId: env.groupId, limits: { flushRows: 1_000, flushMs: 400 }, ...extra });
}

async function metric(sink: OfflineSink, name: string): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
  const m = sink.metrics.getSingleMetric(name);
  assert.ok(m, `metric ${name}`);
  return (await m.get()).values as Array<{ labels: Record<string, string | number>; value: number }>;
}

test('events holds exactly the accepted events; rejected_events the DLQ', { timeout: 180_000 }, async () => {
  const env = await sinkTestEnv('offsink');
  try {
    const records = await produceGenerated(env.config, { seed: 'sink-1', startMs: Date.UTC(2024, 6, 1, 23, 50), count: 4_000, ...GEN });
    const dlqCount = await produceDlq(env, records.filter((r) => r.kind === 'malformed'));
    const want = await acceptedKeys(env);
    const sink = await start(env);
    await caughtUp(env);
    const inserted = await metric(sink, 'tessera_offline_rows_inserted_total');
    const notInserted = await metric(sink, 'tessera_offline_events_not_inserted_total');
    await sink.stop();

    const got = await storedKeys(env.t.client(), env.t.db);
    assert.equal(got.keys.length, want.length);
    assert.deepStrictEqual(got.keys, want);
    assert.equal(got.rawRows, want.length, 'no replay, so no duplicate rows either');
    const storedIds = new Set(got.keys.map((k) => k.split('\u0000')[2]));
    const late = records.filter((r) => r.kind === 'late');
    assert.ok(late.length > 0 && late.every((r) => !storedIds.has(r.eventId)), 'late events are absent');
    const [dlqRows] = await selectRows<{ n: string }>(env.t.client(), sql`SELECT toString(count()) AS n FROM ${table(env.t.db, 'rejected_events')} FINAL`);
    assert.equal(Number(dlqRows?.n), dlqCount);
    assert.equal(inserted.find((v) => v.labels.table === 'events')?.value, want.length);
    const reasons = Object.fromEntries(notInserted.map((v) => [v.labels.reason, v.value]));
    assert.ok((reasons.late ?? 0) > 0 && (reasons.duplicate ?? 0) > 0, JSON.stringify(reasons));
    assert.equal(Object.values(reasons).reduce((a: number, b) => a + Number(b), 0) + want.length, records.length);
    console.log(`sink: ${records.length} records -> ${want.length} events, not inserted ${JSON.stringify(reasons)}, ${dlqCount} DLQ rows`);
  } finally {
    await env.cleanup();
  }
});

test('crashes after a flush\'s insert and after its state write, then a restart: exactly the accepted set', { timeout: 240_000 }, async () => {
  const env = await sinkTestEnv('offcrash');
  try {
    const records = await produceGenerated(env.config, { seed: 'sink-2', startMs: Date.UTC(2024, 6, 2), count: 8_000, ...GEN });
    await produceDlq(env, records.filter((r) => r.kind === 'malformed'));
    const want = await acceptedKeys(env);
    // Small fetches, so a run takes many flushes.
    const limits = { flushRows: 300, flushMs: 200, fetchBytesPerPartition: 32 * 1024 };

    /** Runs a sink that dies (kill: no flush, no commit) right after `step` of its `nth` flush. */
    async function dieAt(step: FlushStep, nth: number): Promise<void> {
      let count = 0;
      let died!: () => void;
      const dead = new Promise<void>((r) => { died = r; });
      const sink: OfflineSink = await start(env, { limits, concurrency: 1, onFlushStep: async (s) => {
        if (s === step && ++count === nth) {
          await sink.kill();
          died();
        }
      } });
      await dead;
    }

    // 1. rows of the second flush are in ClickHouse, its states and offsets are not
    await dieAt('inserted', 2);
    const afterFirst = await storedKeys(env.t.client(), env.t.db);
    assert.ok(afterFirst.keys.length > 0 && afterFirst.keys.length < want.length, `after the first crash: ${afterFirst.keys.length} of ${want.length}`);
    // 2. rows and states of the second flush are stored, its offsets are not committed
    await dieAt('stored', 2);
    // 3. runs to the end
    const third = await start(env, { limits });
    await caughtUp(env);
    const replayed = await metric(third, 'tessera_offline_records_replayed_total');
    await third.stop();

    const got = await storedKeys(env.t.client(), env.t.db);
    assert.deepStrictEqual(got.keys, want);
    const [final] = await selectRows<{ n: string }>(env.t.client(), sql`SELECT toString(count()) AS n FROM ${table(env.t.db, 'events')} FINAL`);
    assert.equal(Number(final?.n), want.length);
    assert.ok((replayed[0]?.value ?? 0) > 0, 'the restart skipped records whose states were stored but offsets not committed');
    console.log(`crash test: ${want.length} accepted; ${got.rawRows} raw rows before merges (re-inserted copies collapse); the restart skipped ${replayed[0]?.value ?? 0} records by marker`);
  } finally {
    await env.cleanup();
  }
});

test('generator sanity: the crash stream has rejected records of every kind', () => {
  const kinds = new Set([...generateClickstream({ seed: 'sink-2', startMs: Date.UTC(2024, 6, 2), count: 8_000, ...GEN })].map((r) => r.kind));
  assert.deepStrictEqual([...kinds].sort(), ['duplicate', 'late', 'malformed', 'valid']);
});

test('the end of a backlog is flushed once the sink is idle; a trickle waits for flushMs', { timeout: 180_000 }, async () => {
  const env = await sinkTestEnv('offidle');
  try {
    const t0 = Date.UTC(2024, 6, 3);
    await produceGenerated(env.config, { seed: 'sink-idle-1', startMs: t0, count: 2_000, ...GEN });
    const backlog = (await acceptedKeys(env)).length;
    // flushMs of a minute and rows far above the backlog: only the idle flush can write it soon.
    const sink = await start(env, { limits: { flushRows: 100_000, flushMs: 60_000, idleFlushMinRows: 500 } });
    try {
      await waitForGroup(env.kafka, env.groupId, env.config.topics.events, 30_000);
      assert.equal((await storedKeys(env.t.client(), env.t.db)).keys.length, backlog, 'the backlog was flushed on idle');

      await produceGenerated(env.config, { seed: 'sink-idle-2', startMs: t0 + 3600_000, count: 20, ...GEN });
      await new Promise((r) => setTimeout(r, 3_000));
      assert.equal((await storedKeys(env.t.client(), env.t.db)).keys.length, backlog, 'a trickle below idleFlushMinRows is not flushed on idle');
    } finally {
      await sink.stop();
    }
    assert.equal((await storedKeys(env.t.client(), env.t.db)).keys.length, (await acceptedKeys(env)).length, 'stop flushed the trickle');
  } finally {
    await env.cleanup();
  }
});
