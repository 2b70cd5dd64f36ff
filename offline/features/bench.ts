// Point-in-time feature benchmark (for `tessera bench`): synthetic skewed events and labels
// generated inside ClickHouse (INSERT ... SELECT FROM numbers, so the setup is seconds),
// then every catalog feature for all labels, user and item, with the plain join of labels
// to events measured in the same run as the baseline. Runs in a scratch database it drops.
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import type { Config } from '../../config/config.js';
import { defaultRegistry, type Registry } from '../../core/features/registry.js';
import type { Entity } from '../../core/features/definition.js';
import { DAY } from '../../core/windows.js';
import { createClickHouse } from '../clickhouse-client.js';
import { migrate } from '../migrate.js';
import { execute, selectRows } from '../query.js';
import { ident, int64, sql, str, table } from '../sql.js';
import { labelChunk } from './offline-features.js';
import { featureQuery } from './query.js';

export interface OfflineBenchOptions {
  events?: number;
  /** labels per entity kind */
  labels?: number;
  users?: number;
  items?: number;
  registry?: Registry;
  /** run the labels in this many hash-partitioned chunks (bounds memory per query) */
  chunks?: number;
  settings?: ClickHouseSettings;
}

export interface OfflineBenchResult {
  events: number;
  labels: number;
  /** per entity: features computed, seconds, and the baseline (join + count only) seconds */
  runs: Array<{ entity: Entity; features: number; seconds: number; baselineSeconds: number; labelsPerSecond: number }>;
}

const START = Date.UTC(2024, 0, 1);
const SPAN = 3 * DAY;

export async function benchOfflineFeatures(config: Config, o: OfflineBenchOptions = {}): Promise<OfflineBenchResult> {
  const n = o.events ?? 1_000_000;
  const labels = o.labels ?? 1_000_000;
  const registry = o.registry ?? defaultRegistry();
  const db = `tessera_bench_${process.pid}_${Date.now() % 1e6}`;
  const admin = createClickHouse(config, { database: null });
  try {
    await migrate(admin, db);
    await fill(admin, db, n, labels, o.users ?? 50_000, o.items ?? 20_000);
    const runs: OfflineBenchResult['runs'] = [];
    for (const entity of ['user', 'item'] as const) {
      const source = sql`SELECT _lid, _eid, _T FROM ${table(db, `bench_labels_${entity}`)}`;
      const defs = registry.forEntity(entity);
      const chunks = o.chunks ?? Math.ceil(labels / 250_000);
      const t0 = performance.now();
      for (let k = 0; k < chunks; k++) {
        const q = featureQuery({ db, entity, defs, lookup: (x) => registry.get(x), labels: labelChunk(source, chunks, k), minT: START + DAY, maxT: START + SPAN, sessions: 'bounded', maxFutureMs: 0 });
        await selectRows(admin, sql`SELECT count() FROM (${q})`, o.settings);
      }
      const seconds = (performance.now() - t0) / 1000;
      const key = entity === 'user' ? sql`user_id` : sql`item_id`;
      const t1 = performance.now();
      await selectRows(admin, sql`SELECT count() FROM (SELECT ${key} AS _eid, toInt64(event_time) AS _t FROM ${table(db, entity === 'user' ? 'events' : 'events_by_item')})
        ALL INNER JOIN (${source}) USING _eid WHERE _t < _T`);
      runs.push({ entity, features: defs.length, seconds, baselineSeconds: (performance.now() - t1) / 1000, labelsPerSecond: Math.round(labels / seconds) });
    }
    return { events: n, labels, runs };
  } finally {
    await execute(admin, sql`DROP DATABASE IF EXISTS ${ident(db)}`);
    await admin.close();
  }
}

/** Zipf-like skew (rank = N * u^2) for users, items and labels; labels over the last two days. */
async function fill(ch: ClickHouseClient, db: string, n: number, labels: number, users: number, items: number): Promise<void> {
  const skewed = (count: number, seed: number) => sql`toString(toUInt32(${int64(count)} * pow(rand(${int64(seed)}) / 4294967296, 2)))`;
  await execute(ch, sql`INSERT INTO ${table(db, 'events')} (event_id, user_id, event_type, event_time, ingest_time, item_id, category, price, price_micros, quantity, source_partition, source_offset, inserted_at)
    SELECT toString(number), concat('u', ${skewed(users, 1)}), arrayElement(['view', 'view', 'view', 'view', 'click', 'add_to_cart', 'purchase'], (rand(2) % 7) + 1),
      ${int64(START)} + intDiv(number * ${int64(SPAN)}, ${int64(n)}) AS t, t, concat('i', ${skewed(items, 3)}), concat('c', toString(rand(4) % 50)),
      (rand(5) % 100000) / 100, (rand(5) % 100000) * 10000, 1 + rand(6) % 3, 0, number, 0
    FROM numbers(${int64(n)})`);
  for (const [entity, count, prefix, seed] of [['user', users, 'u', 7], ['item', items, 'i', 9]] as const) {
    const name = table(db, `bench_labels_${entity}`);
    await execute(ch, sql`CREATE TABLE ${name} (_lid UInt64, _eid String, _T Int64) ENGINE = Memory`);
    await execute(ch, sql`INSERT INTO ${name} SELECT number, concat(${str(prefix)}, ${skewed(count, seed)}),
      ${int64(START + DAY)} + rand(${int64(seed + 1)}) % ${int64(SPAN - DAY)} FROM numbers(${int64(labels)})`);
  }
}
