// `tessera bench --scenario offline`: the offline sink from a pre-filled topic to committed
// offsets (rows in ClickHouse, acceptance states in Redis, Kafka offsets), reported as rows
// per second and rows per part, next to the same-run ceiling: the same rows (the accepted
// events, encoded as the sink encodes them) written by ONE direct INSERT into an
// identical fresh database (with the events_by_item view, as the sink's inserts have).
// The ceiling is measured before and after the sink run and the faster one is kept.
//
// Also reported, on the same records in this process: the CPU cost per record of each
// stage the sink runs (bench/offline-stages.ts), so a run says where the time goes.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.js';
import { createClickHouse } from '../offline/clickhouse-client.js';
import { migrate } from '../offline/migrate.js';
import { execute, selectRows } from '../offline/query.js';
import { encodeEventLine, insertedAtSuffix, LINE_COLUMNS } from '../offline/sink/row-encoder.js';
import { startOfflineSink, type OfflineSink } from '../offline/sink/sink.js';
import { insertLines, lineBlock } from '../offline/sink/tsv-insert.js';
import { ident, sql, str, table } from '../offline/sql.js';
import { createKafka } from '../streams/kafka-client.js';
import { produceGenerated, readTopic, waitForGroup } from '../streams/test-support.js';
import { measureStages, type StageCosts } from './offline-stages.js';
import { round } from './support.js';

export interface OfflineResult {
  events: number;
  rows: number;
  sinkRowsPerSec: number;
  sinkSeconds: number;
  /** CPU seconds this process spent while the sink ran, per 1,000 records */
  sinkCpuMsPer1kRecords: number;
  /** level-0 parts (one per INSERT) and their average rows, per table */
  parts: Record<string, { parts: number; rowsPerPart: number }>;
  /** seconds the sink's flushes spent in INSERTs and in Redis state writes (they overlap consumption) */
  flushes: { count: number; insertSeconds: number; stateSeconds: number };
  ceilingRowsPerSec: number;
  ceilingSeconds: number;
  ratio: number;
  stages: StageCosts;
}

async function levelZeroParts(config: Config, db: string): Promise<OfflineResult['parts']> {
  const ch = createClickHouse(config, { database: null });
  try {
    const rows = await selectRows<{ table: string; parts: string; rows: string }>(ch, sql`
      SELECT table, toString(count()) AS parts, toString(sum(rows)) AS rows FROM system.parts
      WHERE database = ${str(db)} AND table IN ('events', 'events_by_item') AND level = 0 GROUP BY table ORDER BY table`);
    return Object.fromEntries(rows.map((r) => [r.table, { parts: Number(r.parts), rowsPerPart: Math.round(Number(r.rows) / Number(r.parts)) }]));
  } finally {
    await ch.close();
  }
}

/** A fresh migrated database, dropped by the returned function. */
async function scratchDatabase(config: Config, tag: string): Promise<{ db: string; drop: () => Promise<void> }> {
  const db = `tessera_bench_${tag}_${process.pid}_${randomUUID().slice(0, 8)}`;
  const admin = createClickHouse(config, { database: null });
  await migrate(admin, db);
  return { db, drop: async () => { await execute(admin, sql`DROP DATABASE IF EXISTS ${ident(db)}`); await admin.close(); } };
}

async function sum(sink: OfflineSink, name: string, suffix = ''): Promise<number> {
  const values = (await sink.metrics.getSingleMetric(name)?.get())?.values ?? [];
  // histograms list _bucket, _sum and _count values; counters one value per label set
  return values.filter((v) => String((v as { metricName?: string }).metricName ?? name).endsWith(suffix)).reduce((n, v) => n + v.value, 0);
}

async function ceiling(config: Config, lines: string[]): Promise<number> {
  const scratch = await scratchDatabase(config, 'ceil');
  const ch = createClickHouse(config, { database: scratch.db });
  try {
    // The lines as the sink buffers them (UTF-8 blocks, made while it consumes, as the lines
    // themselves are); timed: building the body from them and the INSERT, as in a flush.
    const blocks = [lineBlock(lines)];
    const t0 = performance.now();
    await insertLines(ch, table(scratch.db, 'events'), LINE_COLUMNS, blocks, insertedAtSuffix(Date.now()));
    return (performance.now() - t0) / 1000;
  } finally {
    await ch.close();
    await scratch.drop();
  }
}

export async function benchOffline(config: Config, prefix: string, events: number, log: (m: string) => void): Promise<OfflineResult> {
  log(`pre-filling ${config.topics.events} with ${events} generated events (2,000 events/s of event time, 1% malformed, late, duplicate)`);
  await produceGenerated(config, {
    seed: 'bench-offline', startMs: Date.now() - Math.ceil(events / 2_000) * 1000 - 60_000, rate: 2_000, count: events,
    users: 20_000, items: 5_000, late: 0.01, duplicates: 0.01, malformed: 0.01, allowedLatenessMs: config.events.allowedLatenessMs,
  });
  const records = await readTopic(createKafka(config, 'bench-offline'), config.topics.events);
  log(`per-stage CPU cost on the same ${records.length} records`);
  // The accepted events come from the sink's own judging (equal to core's rules: judge.test.ts);
  // the brute-force reference is quadratic in a user's events, minutes at this size.
  const { costs: stages, accepted } = await measureStages(records, config);
  const lines = accepted.map((a) => encodeEventLine(a.event, a.partition, a.offset));

  log(`ceiling: the ${lines.length} accepted rows in one direct INSERT (before the sink)`);
  const before = await ceiling(config, lines);
  log(`  ${Math.round(lines.length / before)} rows/s`);

  log('sink: consume -> decode -> accept -> one INSERT per flush -> states -> committed offsets');
  const scratch = await scratchDatabase(config, 'sink');
  const groupId = `bench-offline-${prefix}`;
  let first = 0;
  let cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const sink = await startOfflineSink({ config, database: scratch.db, prefix, groupId, onBuffered: () => {
    if (first === 0) {
      first = performance.now();
      cpu0 = process.cpuUsage();
    }
  } });
  let seconds: number;
  let cpu: NodeJS.CpuUsage;
  let flushes: OfflineResult['flushes'];
  try {
    await waitForGroup(createKafka(config, 'bench'), groupId, config.topics.events, 1_800_000);
    // Measured from the first buffered records: group join time is not sink throughput.
    seconds = (performance.now() - (first || t0)) / 1000;
    cpu = process.cpuUsage(cpu0);
    flushes = {
      count: await sum(sink, 'tessera_offline_flushes_total'),
      insertSeconds: round(await sum(sink, 'tessera_offline_insert_seconds', '_sum'), 1),
      stateSeconds: round(await sum(sink, 'tessera_offline_state_seconds', '_sum'), 1),
    };
  } finally {
    await sink.stop();
  }
  const parts = await levelZeroParts(config, scratch.db);
  await scratch.drop();
  const sinkRate = lines.length / seconds;
  log(`  ${Math.round(sinkRate)} rows/s (${round(seconds, 1)} s); parts ${JSON.stringify(parts)}`);

  log('ceiling again (after the sink)');
  const after = await ceiling(config, lines);
  const best = Math.min(before, after);
  log(`  ${Math.round(lines.length / after)} rows/s`);
  return {
    events, rows: lines.length, sinkRowsPerSec: Math.round(sinkRate), sinkSeconds: round(seconds, 1),
    sinkCpuMsPer1kRecords: round(((cpu.user + cpu.system) / 1000) / (records.length / 1000), 1),
    parts, flushes, ceilingRowsPerSec: Math.round(lines.length / best), ceilingSeconds: round(best, 2), ratio: round(sinkRate / (lines.length / best), 3), stages,
  };
}

export function formatOffline(r: OfflineResult): string {
  const parts = Object.entries(r.parts).map(([t, p]) => `${t} ${p.parts} parts x ${p.rowsPerPart} rows`).join(', ');
  const s = r.stages;
  return `offline: ${r.events} events -> ${r.rows} rows; sink ${r.sinkRowsPerSec} rows/s (${r.sinkSeconds} s, ${r.sinkCpuMsPer1kRecords} ms CPU per 1,000 records; ${parts})`
    + ` vs one direct INSERT ${r.ceilingRowsPerSec} rows/s (ratio ${r.ratio})\n`
    + `  ${r.flushes.count} flushes: ${r.flushes.insertSeconds} s in INSERTs, ${r.flushes.stateSeconds} s storing acceptance states in Redis (both overlap consumption)\n`
    + `  per record, single thread: kafkajs fetch+decode ${s.kafkajsUs} µs, core decodeEvent ${s.decodeUs} µs (zod schema only: ${s.decodeSchemaOnlyUs} µs),`
    + ` acceptance ${s.acceptUs} µs (eager eviction: ${s.eagerAdmitUs} µs),`
    + ` TSV line ${s.encodeUs} µs (eventToRow + JSON: ${s.jsonRowUs} µs)`;
}
