// No tiny parts, read from ClickHouse's system tables: 2,000,000 events produced at a
// steady 20,000 events/s while the sink (its own process, default limits: 100,000 rows or
// 5 s per flush) consumes live. Every INSERT creates one level-0 part per table (`events`,
// and `events_by_item` through its view) and takes the next block number, so system.parts
// tells how many INSERTs the sink made, how many rows each part got, and when (part
// modification times, polled every second before merges retire them). Asserted: parts hold
// >= 50,000 rows on average and no two INSERTs into a table fall in the same second.
//
// This server has no query_log (stack/ configures none), hence system.parts. The producer
// shares two cores with the sink, Kafka and ClickHouse: the rate it reached is reported,
// and when it could not reach 10,000 events/s (where 5-second flushes would give 50,000
// rows) the size check is the sink's own rule instead: a part per 5 s of traffic.
// TESSERA_TEST_SINK_PARTS_EVENTS / _RATE scale the run down.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitForGroup } from '../../streams/test-support.js';
import { selectRows } from '../query.js';
import { sql, str, table } from '../sql.js';
import { produceSteady, sinkTestEnv, spawnSink } from './test-support.js';

const COUNT = Number(process.env.TESSERA_TEST_SINK_PARTS_EVENTS ?? 2_000_000);
const RATE = Number(process.env.TESSERA_TEST_SINK_PARTS_RATE ?? 20_000);
const FLUSH_S = 5; // the default flushMs
const TABLES = ['events', 'events_by_item'] as const;

interface Part {
  table: string;
  name: string;
  rows: number;
  level: number;
  minBlock: number;
  maxBlock: number;
  /** epoch seconds */
  modified: number;
}

async function readParts(client: ReturnType<Awaited<ReturnType<typeof sinkTestEnv>>['t']['client']>, db: string): Promise<Part[]> {
  const rows = await selectRows<{ table: string; name: string; rows: string; level: number; min_block: string; max_block: string; modified: string }>(client, sql`
    SELECT table, name, toString(rows) AS rows, level, toString(min_block_number) AS min_block, toString(max_block_number) AS max_block,
           toString(toUInt32(modification_time)) AS modified
    FROM system.parts WHERE database = ${str(db)} AND table IN ('events', 'events_by_item')`);
  return rows.map((r) => ({ table: r.table, name: r.name, rows: Number(r.rows), level: Number(r.level), minBlock: Number(r.min_block), maxBlock: Number(r.max_block), modified: Number(r.modified) }));
}

test(`${COUNT} events at a steady ${RATE} events/s, sink consuming live: parts of >= 50,000 rows, at most one INSERT per second per table`, { timeout: 900_000 }, async () => {
  const env = await sinkTestEnv('offparts');
  const client = env.t.client();
  const sink = spawnSink(env, { reportSteps: false });
  const seen = new Map<string, Part>(); // level-0 parts by table/name, before merges retire them
  let polling = true;
  const poller = (async () => {
    while (polling) {
      for (const p of await readParts(client, env.t.db).catch(() => [])) if (p.level === 0) seen.set(`${p.table}/${p.name}`, p);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  })();
  try {
    await sink.ready;
    const run = await produceSteady(env.config, {
      seed: 'parts', startMs: Date.UTC(2024, 8, 3, 8), rate: RATE, count: COUNT, users: 50_000, items: 10_000,
      late: 0.002, duplicates: 0.002, malformed: 0.002,
    });
    const producedAt = Date.now();
    await waitForGroup(env.kafka, env.groupId, env.config.topics.events, 600_000);
    const lagS = (Date.now() - producedAt) / 1000;
    const report = await sink.stop();
    polling = false;
    await poller;
    for (const p of await readParts(client, env.t.db)) if (p.level === 0) seen.set(`${p.table}/${p.name}`, p);

    const [stored] = await selectRows<{ raw: string; final: string }>(client, sql`
      SELECT toString((SELECT count() FROM ${table(env.t.db, 'events')})) AS raw, toString((SELECT count() FROM ${table(env.t.db, 'events')} FINAL)) AS final`);
    assert.equal(Number(stored?.final), run.kinds.valid, 'every accepted event once');
    assert.equal(Number(stored?.raw), run.kinds.valid, 'no replays, so no copies either');

    const rate = run.produced / run.seconds;
    const lines: string[] = [`produced ${run.produced} records in ${run.seconds.toFixed(1)} s (${Math.round(rate)} events/s, target ${RATE}); sink caught up ${lagS.toFixed(1)} s after the last one; sink counted INSERTs ${JSON.stringify(report.inserts)}`];
    for (const name of TABLES) {
      const parts = [...seen.values()].filter((p) => p.table === name).sort((a, b) => a.minBlock - b.minBlock);
      const rows = parts.reduce((n, p) => n + p.rows, 0);
      const blocks = Math.max(...parts.map((p) => p.maxBlock));
      const avg = rows / parts.length;
      const perSecond = new Map<number, number>();
      for (const p of parts) perSecond.set(p.modified, (perSecond.get(p.modified) ?? 0) + 1);
      const busiest = Math.max(...perSecond.values());
      const span = (parts.at(-1)?.modified ?? 0) - (parts[0]?.modified ?? 0);
      lines.push(`${name}: ${parts.length} INSERTs (level-0 parts, block numbers 1..${blocks}), ${rows} rows, ${Math.round(avg)} rows per part`
        + ` (min ${Math.min(...parts.map((p) => p.rows))}, max ${Math.max(...parts.map((p) => p.rows))}); over ${span} s: ${(parts.length / Math.max(1, span)).toFixed(2)} INSERTs/s, at most ${busiest} in one second`);
      assert.equal(parts.length, blocks, `${name}: every INSERT's part was seen (no block number missing)`);
      assert.equal(rows, name === 'events' ? run.kinds.valid : rows, `${name}: the level-0 parts hold every row`);
      assert.ok(busiest <= 1, `${name}: ${busiest} INSERTs within one second`);
      const floor = rate >= 10_000 ? 50_000 : 0.8 * rate * FLUSH_S * (name === 'events' ? 1 : 0.8);
      assert.ok(avg >= floor, `${name}: ${Math.round(avg)} rows per part on average, want >= ${Math.round(floor)}`);
    }
    console.log(`sink parts: ${lines.join('\n  ')}`);
  } finally {
    polling = false;
    await poller;
    await sink.kill9();
    await env.cleanup();
  }
});
