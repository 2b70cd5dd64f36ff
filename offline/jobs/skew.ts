// The consistency check (DESIGN §7): online answers (Redis tiles, store/reader.ts) against
// offline recomputation (ClickHouse SQL, offline/features) for sampled entities and times.
// They are two implementations of one definition, so any difference is a bug or lost data;
// the expected mismatch count is 0.
//
// Sampling: entities by a seeded hash (a stable sample for a seed), half users and half
// items; per entity three times: just after its last event (every window full: the
// "latest" answer), and two random times within its history. Features Redis cannot answer
// exactly at a past T are skipped and counted, never guessed.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import type { Entity, FeatureValue } from '../../core/features/definition.js';
import type { Registry } from '../../core/features/registry.js';
import { Rng } from '../../fixtures/random.js';
import { FeatureReader } from '../../store/reader.js';
import { EVENTS_BY_ITEM_TABLE, EVENTS_TABLE } from '../events-table.js';
import { selectRows } from '../query.js';
import { ident, sql, str, table, uint64 } from '../sql.js';
import { offlineFeaturesAt } from '../features/offline-features.js';

export interface SkewMismatch {
  entity: Entity;
  id: string;
  T: number;
  feature: string;
  online: FeatureValue;
  offline: FeatureValue;
}

export interface SkewReport {
  entities: number;
  /** (entity, feature, T) values compared */
  compared: number;
  /** values Redis could not answer exactly at that T (not compared) */
  skipped: number;
  mismatches: number;
  /** up to 20 examples */
  examples: SkewMismatch[];
  byFeature: Record<string, number>;
  ms: number;
}

export interface SkewDeps {
  clickhouse: ClickHouseClient;
  database: string;
  redis: Redis;
  prefix: string;
  registry: Registry;
  maxFutureMs: number;
}

interface Sampled { id: string; lo: string; hi: string }

async function sampleEntities(deps: SkewDeps, entity: Entity, n: number, seed: string): Promise<Sampled[]> {
  const column = ident(entity === 'user' ? 'user_id' : 'item_id');
  const from = table(deps.database, entity === 'user' ? EVENTS_TABLE : EVENTS_BY_ITEM_TABLE);
  return selectRows<Sampled>(deps.clickhouse, sql`
    SELECT ${column} AS id, toString(min(event_time)) AS lo, toString(max(event_time)) AS hi
    FROM ${from} ${entity === 'item' ? sql`WHERE item_id IS NOT NULL` : sql``}
    GROUP BY id ORDER BY cityHash64(id, ${str(seed)}) LIMIT ${uint64(n)}`);
}

export const same = (a: FeatureValue, b: FeatureValue): boolean => JSON.stringify(a) === JSON.stringify(b);

export async function runSkewCheck(deps: SkewDeps, opts: { sample: number; seed?: string; wallNow?: number }): Promise<SkewReport> {
  const t0 = performance.now();
  const seed = opts.seed ?? String(Date.now());
  const rng = new Rng(seed);
  const reader = new FeatureReader(deps.redis, deps.prefix, deps.registry);
  const report: SkewReport = { entities: 0, compared: 0, skipped: 0, mismatches: 0, examples: [], byFeature: {}, ms: 0 };
  for (const entity of ['user', 'item'] as const) {
    const names = deps.registry.features.filter((f) => f.entity === entity).map((f) => f.name);
    const want = entity === 'user' ? Math.ceil(opts.sample / 2) : Math.floor(opts.sample / 2);
    if (names.length === 0 || want === 0) continue;
    const sampled = await sampleEntities(deps, entity, want, seed);
    report.entities += sampled.length;
    const pairs = sampled.flatMap((s) => {
      const lo = Number(s.lo);
      const hi = Number(s.hi);
      return [hi + 1, lo + Math.floor(rng.next() * (hi - lo + 1)), lo + Math.floor(rng.next() * (hi - lo + 1))].map((T) => ({ id: s.id, T }));
    });
    if (pairs.length === 0) continue;
    const offline = await offlineFeaturesAt(deps.clickhouse, deps.database, entity, pairs, names, { registry: deps.registry, maxFutureMs: deps.maxFutureMs });
    for (const [i, p] of pairs.entries()) {
      const [online] = await reader.read(entity, [p.id], names, p.T, opts.wallNow);
      if (online === undefined) continue;
      const off = offline[i]?.values ?? {};
      report.skipped += online.inexact.length;
      for (const [name, value] of Object.entries(online.values)) {
        report.compared += 1;
        const expected = off[name] ?? null;
        if (same(value, expected)) continue;
        report.mismatches += 1;
        report.byFeature[name] = (report.byFeature[name] ?? 0) + 1;
        if (report.examples.length < 20) report.examples.push({ entity, id: p.id, T: p.T, feature: name, online: value, offline: expected });
      }
    }
  }
  report.ms = performance.now() - t0;
  return report;
}
