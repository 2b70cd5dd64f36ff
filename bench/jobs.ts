// `tessera bench --scenario jobs`: backfill of N events (default 10,000,000) from ClickHouse
// into Redis, and a training set of L labels (default 1,000,000) x every user feature plus
// L x every item feature. Baseline, same run: the ClickHouse full scan of the same events
// (every column the backfill reads, deduplicated with FINAL, hashed on the server).
//
// The events are made by ClickHouse itself (INSERT ... SELECT FROM numbers(N)): N users'
// and items' ids by hash, 60% views, prices on items, spread evenly over 7 days, so
// loading 10M rows takes seconds rather than a Kafka pipeline's minutes.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import { createRegistry } from '../core/features/registry.js';
import { createClickHouse } from '../offline/clickhouse-client.js';
import { runBackfill } from '../offline/jobs/backfill.js';
import { runTrainingDataset } from '../offline/jobs/training-dataset.js';
import { migrate } from '../offline/migrate.js';
import { execute, selectRows } from '../offline/query.js';
import { ident, sql, table, uint64 } from '../offline/sql.js';
import { createRedis } from '../store/redis-client.js';
import { round } from './support.js';

export interface JobsBenchResult {
  events: number;
  users: number;
  items: number;
  loadSeconds: number;
  fullScan: { seconds: number; rowsPerSec: number };
  /** cpuSeconds: this process's CPU time (user + system, every thread) during the backfill */
  backfill: { seconds: number; eventsPerSec: number; chunks: number; entityWrites: number; ratioToScan: number; cpuSeconds: number; cpuMicrosPerEvent: number; redisCpuSeconds: number };
  training: Array<{ entity: string; labels: number; features: number; seconds: number; labelsPerSec: number }>;
}

const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 6);

async function loadEvents(ch: ClickHouseClient, db: string, n: number, users: number, items: number): Promise<void> {
  const h = (salt: number) => sql`cityHash64(number, ${uint64(salt)})`;
  const item = sql`(${h(3)} % ${uint64(items)})`;
  await execute(ch, sql`
    INSERT INTO ${table(db, 'events')} (event_id, user_id, event_type, event_time, ingest_time, session_id, item_id, category, brand, price, price_micros, quantity, attributes, source_partition, source_offset, inserted_at)
    SELECT concat('e', toString(number)), concat('u', toString(${h(1)} % ${uint64(users)})),
      arrayElement(['view', 'view', 'view', 'view', 'view', 'view', 'click', 'add_to_cart', 'purchase', 'search'], ${h(2)} % 10 + 1),
      toUInt64(${uint64(START)} + intDiv(number * ${uint64(7 * DAY)}, ${uint64(n)})), toUInt64(${uint64(START)} + intDiv(number * ${uint64(7 * DAY)}, ${uint64(n)}) + 50),
      CAST(NULL AS Nullable(String)), toNullable(concat('i', toString(${item}))), toNullable(concat('c', toString(${item} % 40))), CAST(NULL AS Nullable(String)),
      toNullable(toFloat64(${item} % 500 + 1)), toNullable(toInt64((${item} % 500 + 1) * 1000000)), toUInt32(1), CAST(NULL AS Nullable(String)),
      toUInt32(0), number, toUInt64(0)
    FROM system.numbers LIMIT ${uint64(n)}`, { max_insert_block_size: '1048576' });
}

async function loadLabels(ch: ClickHouseClient, db: string, name: string, prefix: 'u' | 'i', pool: number, n: number): Promise<void> {
  await execute(ch, sql`CREATE TABLE ${table(db, name)} (entity_id String, ts UInt64, label Float64) ENGINE = MergeTree ORDER BY (entity_id, ts)`);
  await execute(ch, sql`
    INSERT INTO ${table(db, name)}
    SELECT concat(${prefix === 'u' ? sql`'u'` : sql`'i'`}, toString(cityHash64(number, 7) % ${uint64(pool)})), toUInt64(${uint64(START + DAY)} + cityHash64(number, 8) % ${uint64(6 * DAY)}), toFloat64(number % 2)
    FROM system.numbers LIMIT ${uint64(n)}`);
}

/** The Redis server's CPU time (user + system); the stack's Redis is shared, so other work on it counts too. */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string): number => Number(new RegExp(`^${k}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return get('used_cpu_user') + get('used_cpu_sys');
}

export async function benchJobs(config: Config, prefix: string, o: { events: number; labels: number }, log: (m: string) => void): Promise<JobsBenchResult> {
  const db = `tessera_bench_jobs_${process.pid}`;
  const admin = createClickHouse(config, { database: null, requestTimeoutMs: 3_600_000 });
  await execute(admin, sql`CREATE DATABASE IF NOT EXISTS ${ident(db)}`);
  await migrate(admin, db);
  const ch = createClickHouse(config, { database: db, requestTimeoutMs: 3_600_000 });
  const redis = createRedis(config);
  const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
  const users = Math.max(1_000, Math.round(o.events / 200));
  const items = Math.max(1_000, Math.round(o.events / 1_000));
  try {
    log(`loading ${o.events} events (${users} users, ${items} items, 7 days) into ${db}`);
    let t = performance.now();
    await loadEvents(ch, db, o.events, users, items);
    await execute(ch, sql`OPTIMIZE TABLE ${table(db, 'events')} FINAL`).catch(() => undefined);
    const loadSeconds = (performance.now() - t) / 1000;

    log('baseline: ClickHouse full scan of the same events (FINAL, every column backfill reads)');
    t = performance.now();
    await selectRows(ch, sql`SELECT sum(cityHash64(event_id, user_id, event_type, event_time, ingest_time, session_id, item_id, category, brand, price, price_micros, quantity, attributes, source_partition, source_offset)) AS h FROM ${table(db, 'events')} FINAL`);
    const scanSeconds = (performance.now() - t) / 1000;

    log('backfill of the whole range into Redis');
    t = performance.now();
    const redisCpu0 = await redisCpuSeconds(redis);
    const cpu0 = process.cpuUsage();
    const b = await runBackfill({ clickhouse: ch, database: db, redis, prefix, registry }, { from: START, to: START + 7 * DAY }, {
      onProgress: (p) => log(`  backfill ${Math.round(p.fraction * 100)}% (chunk ${p.chunksDone}/${p.chunks})`),
    });
    const backfillSeconds = (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const redisCpu = (await redisCpuSeconds(redis)) - redisCpu0;

    const training: JobsBenchResult['training'] = [];
    // --labels 0: backfill only
    for (const entity of o.labels > 0 ? (['user', 'item'] as const) : []) {
      const names = registry.features.filter((f) => f.entity === entity).map((f) => f.name);
      await loadLabels(ch, db, `labels_${entity}`, entity === 'user' ? 'u' : 'i', entity === 'user' ? users : items, o.labels);
      log(`training set: ${o.labels} ${entity} labels x ${names.length} features`);
      t = performance.now();
      await runTrainingDataset({ clickhouse: ch, database: db, registry, maxFutureMs: config.events.maxFutureMs }, { labelsTable: `labels_${entity}`, names, outputTable: `dataset_${entity}` }, {
        onProgress: (p) => log(`  ${entity} ${Math.round(p.fraction * 100)}% (${p.rows} rows)`),
      });
      const s = (performance.now() - t) / 1000;
      training.push({ entity, labels: o.labels, features: names.length, seconds: round(s, 1), labelsPerSec: Math.round(o.labels / s) });
    }
    return {
      events: o.events, users, items, loadSeconds: round(loadSeconds, 1),
      fullScan: { seconds: round(scanSeconds, 2), rowsPerSec: Math.round(o.events / scanSeconds) },
      backfill: { seconds: round(backfillSeconds, 1), eventsPerSec: Math.round(o.events / backfillSeconds), chunks: b.chunks, entityWrites: b.entityWrites, ratioToScan: round(scanSeconds / backfillSeconds, 3),
        cpuSeconds: round(cpuSeconds, 1), cpuMicrosPerEvent: round((cpuSeconds * 1e6) / Math.max(1, b.events), 1), redisCpuSeconds: round(redisCpu, 1) },
      training,
    };
  } finally {
    redis.disconnect();
    await ch.close();
    await execute(admin, sql`DROP DATABASE IF EXISTS ${ident(db)}`);
    await admin.close();
  }
}
