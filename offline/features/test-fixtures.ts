// Shared by the offline feature tests: extra definitions that exercise what the catalog
// does not (numeric last-N/top-K, ingestion time, filtered short-lookback sessions that
// force the unbounded fallback, ratios of nullable inputs), per-entity reference values,
// and query-time recipes that land on window and tile boundaries.
import assert from 'node:assert/strict';
import type { ClickEvent } from '../../core/event.js';
import { DEFAULT_CATALOG } from '../../core/features/catalog.js';
import { outputType, type Entity, type FeatureDefinition, type FeatureValue } from '../../core/features/definition.js';
import { referenceValue } from '../../core/reference.js';
import { DAY, floorTo, HOUR, MINUTE } from '../../core/windows.js';
import { Rng } from '../../fixtures/random.js';
import type { OfflineFeatureRow } from './offline-features.js';

const d = (def: Omit<FeatureDefinition, 'description'> & Record<string, unknown>): FeatureDefinition => ({ description: def.name, ...def }) as FeatureDefinition;

export const EXTRA_FEATURES: readonly FeatureDefinition[] = [
  d({ name: 'x_last_3_prices', entity: 'user', aggregation: 'last_n', limit: 3, value: 'price', window: { kind: 'sliding', sizeMs: DAY, hopMs: 5 * MINUTE } }),
  d({ name: 'x_top_2_brands_24h', entity: 'user', aggregation: 'top_k', limit: 2, value: 'brand', window: { kind: 'sliding', sizeMs: DAY, hopMs: 5 * MINUTE } }),
  d({ name: 'x_top_2_qty_7d', entity: 'user', aggregation: 'top_k', limit: 2, value: 'quantity', window: { kind: 'sliding', sizeMs: 7 * DAY, hopMs: HOUR } }),
  d({ name: 'x_units_7d', entity: 'user', aggregation: 'sum', value: 'quantity', filter: { eventTypes: ['purchase'] }, window: { kind: 'sliding', sizeMs: 7 * DAY, hopMs: HOUR } }),
  d({ name: 'x_distinct_prices_24h', entity: 'user', aggregation: 'distinct', value: 'price', window: { kind: 'sliding', sizeMs: DAY, hopMs: 5 * MINUTE } }),
  d({ name: 'x_views_1h_ingest', entity: 'user', aggregation: 'count', filter: { eventTypes: ['view'] }, time: 'ingestion', window: { kind: 'sliding', sizeMs: HOUR, hopMs: MINUTE } }),
  d({ name: 'x_recency_ingest', entity: 'user', aggregation: 'recency', time: 'ingestion', window: { kind: 'recency', horizonMs: DAY } }),
  d({ name: 'x_view_session_events', entity: 'user', aggregation: 'session_count', filter: { eventTypes: ['view'] }, window: { kind: 'session', gapMs: 10 * MINUTE, lookbackMs: 20 * MINUTE } }),
  d({ name: 'x_view_session_s', entity: 'user', aggregation: 'session_duration', filter: { eventTypes: ['view'] }, window: { kind: 'session', gapMs: 10 * MINUTE, lookbackMs: 20 * MINUTE } }),
  d({ name: 'x_avg_over_max', entity: 'user', aggregation: 'ratio', numerator: 'user_avg_view_price_24h', denominator: 'user_max_view_price_24h' }),
  d({ name: 'x_session_per_view', entity: 'user', aggregation: 'ratio', numerator: 'x_view_session_events', denominator: 'user_views_24h' }),
  d({ name: 'x_hourly_tumbling', entity: 'user', aggregation: 'count', window: { kind: 'tumbling', sizeMs: HOUR } }),
  d({ name: 'x_item_last_3_viewers', entity: 'item', aggregation: 'last_n', limit: 3, value: 'user_id', filter: { eventTypes: ['view'] }, window: { kind: 'sliding', sizeMs: DAY, hopMs: 5 * MINUTE } }),
  d({ name: 'x_item_revenue_24h', entity: 'item', aggregation: 'sum', value: 'price*quantity', filter: { eventTypes: ['purchase'] }, window: { kind: 'sliding', sizeMs: DAY, hopMs: 5 * MINUTE } }),
  d({ name: 'x_item_max_price_7d', entity: 'item', aggregation: 'max', value: 'price', window: { kind: 'sliding', sizeMs: 7 * DAY, hopMs: HOUR } }),
  d({ name: 'x_item_top_2_users_7d', entity: 'item', aggregation: 'top_k', limit: 2, value: 'user_id', window: { kind: 'sliding', sizeMs: 7 * DAY, hopMs: HOUR } }),
  d({ name: 'x_item_session_events', entity: 'item', aggregation: 'session_count', window: { kind: 'session', gapMs: 30 * MINUTE } }),
  d({ name: 'x_item_recency', entity: 'item', aggregation: 'recency', window: { kind: 'recency', horizonMs: 7 * DAY } }),
];

export const TEST_FEATURES: readonly FeatureDefinition[] = [...DEFAULT_CATALOG, ...EXTRA_FEATURES];

/** Accepted events grouped by user and by item, so each reference call scans one entity. */
export function byEntity(accepted: readonly ClickEvent[]): Record<Entity, Map<string, ClickEvent[]>> {
  const out: Record<Entity, Map<string, ClickEvent[]>> = { user: new Map(), item: new Map() };
  for (const e of accepted) {
    push(out.user, e.user_id, e);
    if (e.item_id !== undefined) push(out.item, e.item_id, e);
  }
  return out;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}

/** Boundary-heavy query times around the accepted events. */
export function queryTimes(accepted: readonly ClickEvent[], count: number, seed: string): number[] {
  const rng = new Rng(seed);
  const times = accepted.map((e) => e.event_time);
  const lo = Math.min(...times);
  const hi = Math.max(...times);
  const deltas = [0, MINUTE, 5 * MINUTE, 10 * MINUTE, 30 * MINUTE, HOUR, DAY, 7 * DAY];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const e = accepted[Math.floor(rng.next() * accepted.length)] as ClickEvent;
    const fudge = [-1, 0, 0, 1][Math.floor(rng.next() * 4)] as number;
    switch (i % 4) {
      case 0: out.push(e.event_time + (deltas[Math.floor(rng.next() * deltas.length)] as number) + fudge); break;
      case 1: out.push(floorTo(lo + Math.floor(rng.next() * (hi - lo)), [MINUTE, 5 * MINUTE, 10 * MINUTE, HOUR][i % 3] as number) + fudge); break;
      case 2: out.push(e.ingest_time + fudge); break;
      default: out.push(lo - HOUR + Math.floor(rng.next() * (hi - lo + 8 * DAY)));
    }
  }
  return out;
}

export interface CompareStats {
  probes: number;
  nonEmpty: Record<string, number>;
}

/** Every value of every row equals the reference (exact: numbers, nulls, lists). */
export function assertMatchesReference(rows: readonly OfflineFeatureRow[], entity: Entity, features: readonly FeatureDefinition[],
  events: Record<Entity, Map<string, ClickEvent[]>>, names: readonly string[], stats: CompareStats): void {
  for (const row of rows) {
    const mine = events[entity].get(row.id) ?? [];
    for (const name of names) {
      const want = referenceValue(features, mine, entity, row.id, name, row.T);
      const got = row.values[name];
      assert.deepStrictEqual(got, want, `${name}(${entity} ${JSON.stringify(row.id)}) at T=${row.T} (${new Date(row.T).toISOString()})`);
      stats.probes++;
      if (!isEmpty(features, name, want)) stats.nonEmpty[name] = (stats.nonEmpty[name] ?? 0) + 1;
    }
  }
}

function isEmpty(features: readonly FeatureDefinition[], name: string, v: FeatureValue): boolean {
  const def = features.find((f) => f.name === name) as FeatureDefinition;
  if (Array.isArray(v)) return v.length === 0;
  return outputType(def).nullable ? v === null : v === 0;
}
