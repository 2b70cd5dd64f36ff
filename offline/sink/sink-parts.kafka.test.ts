// No tiny parts: a 200,000-event run with the default limits (100,000 rows or 5 s per
// flush) creates a handful of large parts, read from system.parts (level-0 parts are the
// ones inserts created; merges add higher levels). Reports rows per part and rows/s.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { produceGenerated, waitForGroup } from '../../streams/test-support.js';
import { selectRows } from '../query.js';
import { sql, str } from '../sql.js';
import { startOfflineSink } from './sink.js';
import { acceptedKeys, sinkTestEnv, storedKeys } from './test-support.js';

test('200,000 events -> a few large parts', { timeout: 600_000 }, async () => {
  const env = await sinkTestEnv('offparts');
  try {
    const t0 = Date.now();
    await produceGenerated(env.config, { seed: 'parts', startMs: Date.UTC(2024, 8, 3, 10), rate: 2_000, count: 200_000, users: 20_000, items: 5_000, late: 0, duplicates: 0, malformed: 0 });
    const produceS = (Date.now() - t0) / 1000;
    const t1 = Date.now();
    const sink = await startOfflineSink({ config: env.config, database: env.t.db, prefix: env.prefix, groupId: env.groupId });
    await waitForGroup(env.kafka, env.groupId, env.config.topics.events, 300_000);
    const sinkS = (Date.now() - t1) / 1000;
    const inserts = (await sink.metrics.getSingleMetric('tessera_offline_inserts_total')?.get())?.values ?? [];
    await sink.stop();

    const parts = await selectRows<{ table: string; name: string; rows: string; level: number; active: number; bytes: string }>(env.t.client(), sql`
      SELECT table, name, toString(rows) AS rows, level, active, toString(bytes_on_disk) AS bytes
      FROM system.parts WHERE database = ${str(env.t.db)} AND table IN ('events', 'events_by_item') ORDER BY table, name`);
    const inserted = parts.filter((p) => Number(p.level) === 0);
    const report = (tableName: string) => inserted.filter((p) => p.table === tableName).map((p) => Number(p.rows));
    const eventParts = report('events');
    const itemParts = report('events_by_item');
    const got = await storedKeys(env.t.client(), env.t.db);
    assert.equal(got.keys.length, 200_000);
    assert.deepStrictEqual(got.keys, await acceptedKeys(env));
    console.log(`parts: produced 200,000 records in ${produceS.toFixed(1)} s; sink caught up in ${sinkS.toFixed(1)} s (${Math.round(200_000 / sinkS)} rows/s incl. start-up);`
      + ` INSERTs ${JSON.stringify(inserts.map((v) => [v.labels.table, v.value]))}; parts created by inserts: events ${JSON.stringify(eventParts)},`
      + ` events_by_item ${JSON.stringify(itemParts)}; active parts now: ${parts.filter((p) => Number(p.active) === 1).map((p) => `${p.table}:${p.rows}`).join(' ')}`);
    assert.ok(eventParts.length <= 6, `events got ${eventParts.length} parts`);
    assert.ok(Math.min(...eventParts) >= 10_000, `smallest events part has ${Math.min(...eventParts)} rows`);
    assert.ok(eventParts.reduce((a, b) => a + b, 0) === 200_000);
  } finally {
    await env.cleanup();
  }
});
