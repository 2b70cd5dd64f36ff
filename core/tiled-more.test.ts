// Property tests beyond single window kinds: ratios, ingestion-time features (and how they
// differ from their event-time twins), answers after tile eviction, and batch algebra
// (split batches, any application order == one batch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_CATALOG } from './features/catalog.js';
import { createRegistry } from './features/registry.js';
import { applyOps } from './ops.js';
import { preaggregate } from './preaggregate.js';
import { referenceAccept, referenceValue } from './reference.js';
import { DAY, MINUTE } from './windows.js';
import {
  arbCase, arbStream, assertMeaningful, BASE, checkCase, feature, hashKey, newStats, RUNS,
} from './testkit.js';
import type { FeatureDefinition, TileFeature } from './features/definition.js';

const catalog = (...names: string[]): FeatureDefinition[] => DEFAULT_CATALOG.filter((d) => names.includes(d.name));
const sliding = (sizeMs: number, hopMs: number) => ({ kind: 'sliding', sizeMs, hopMs }) as const;
const ratio = (name: string, entity: 'user' | 'item', numerator: string, denominator: string): FeatureDefinition =>
  ({ name, entity, aggregation: 'ratio', numerator, denominator, description: name });
const views = { filter: { eventTypes: ['view'] } };
const LATENESS = [0, MINUTE, 5 * MINUTE, DAY];
const SHAPE = { unit: MINUTE, spanUnits: 40, deltas: [MINUTE, 5 * MINUTE, 10 * MINUTE] };

test('ratios: tiled == reference (null when the denominator is 0)', (t) => {
  const features = [
    ...catalog('user_views_24h', 'user_carts_24h', 'user_cart_rate_24h', 'item_views_24h', 'item_purchases_24h', 'item_conversion_24h'),
    feature('t_carts_10m', 'user', 'count', sliding(10 * MINUTE, MINUTE), { filter: { eventTypes: ['add_to_cart'] } }),
    feature('t_views_10m', 'user', 'count', sliding(10 * MINUTE, MINUTE), views),
    ratio('t_cart_rate_10m', 'user', 't_carts_10m', 't_views_10m'),
    feature('t_avg_price_10m', 'user', 'avg', sliding(10 * MINUTE, 2 * MINUTE), { value: 'price' }),
    ratio('t_avg_price_per_view', 'user', 't_avg_price_10m', 't_views_10m'),
    feature('t_views_10m_tumbling', 'user', 'count', { kind: 'tumbling', sizeMs: 10 * MINUTE }, views),
    ratio('t_tumbling_share', 'user', 't_views_10m_tumbling', 't_views_10m'),
    feature('t_s5_duration', 'user', 'session_duration', { kind: 'session', gapMs: 5 * MINUTE }),
    feature('t_s5_count', 'user', 'session_count', { kind: 'session', gapMs: 5 * MINUTE }),
    ratio('t_s5_seconds_per_event', 'user', 't_s5_duration', 't_s5_count'),
    feature('t_item_buys_10m', 'item', 'count', sliding(10 * MINUTE, MINUTE), { filter: { eventTypes: ['purchase'] } }),
    feature('t_item_views_10m', 'item', 'count', sliding(10 * MINUTE, 2 * MINUTE), views),
    ratio('t_item_conversion_10m', 'item', 't_item_buys_10m', 't_item_views_10m'),
  ];
  const stats = newStats();
  fc.assert(fc.property(arbCase(SHAPE, LATENESS), (c) => checkCase({ ...c, features }, stats)), RUNS);
  t.diagnostic(`evaluations: ${stats.exact} exact (${stats.nonEmpty} non-empty), ${stats.inexact} inexact`);
  assertMeaningful(stats, features.filter((f) => f.aggregation === 'ratio'));
});

const EVENT_TIME_FEATURES: TileFeature[] = [
  { name: 't_views_10m', entity: 'user', aggregation: 'count', window: sliding(10 * MINUTE, MINUTE), description: 'test feature', ...views },
  { name: 't_items_10m', entity: 'user', aggregation: 'distinct', value: 'item_id', window: sliding(10 * MINUTE, 2 * MINUTE), description: 'test feature' },
  { name: 't_views_tumbling', entity: 'item', aggregation: 'count', window: { kind: 'tumbling', sizeMs: 5 * MINUTE }, description: 'test feature' },
  { name: 't_last_3', entity: 'user', aggregation: 'last_n', limit: 3, value: 'item_id', window: sliding(10 * MINUTE, 5 * MINUTE), description: 'test feature' },
  { name: 't_s5_count', entity: 'user', aggregation: 'session_count', window: { kind: 'session', gapMs: 5 * MINUTE }, description: 'test feature' },
  { name: 't_s5_duration', entity: 'user', aggregation: 'session_duration', window: { kind: 'session', gapMs: 5 * MINUTE }, description: 'test feature' },
  { name: 't_recency_10m', entity: 'user', aggregation: 'recency', window: { kind: 'recency', horizonMs: 10 * MINUTE }, description: 'test feature' },
];
const TWINS: FeatureDefinition[] = EVENT_TIME_FEATURES.flatMap((def) => [def, { ...def, name: `${def.name}_ingest`, time: 'ingestion' as const }]);

// Found by the property below (seed 44331598): an event_id accepted again once its first
// copy left the per-user dedup memory, with the same ingest time and item, is a second
// event; ingestion-time last-N must list it twice, as the reference and ClickHouse do.
test('equal last-N entries of two accepted events are both kept (ingestion time)', () => {
  const copy = (time: number, item?: string) => ({ event_id: 'e6', user_id: 'u2', event_type: 'view', event_time: time, ingest_time: BASE, quantity: 1, ...(item ? { item_id: item } : {}) });
  const arrivals = [copy(BASE + 59_999, 'i1'), { ...copy(BASE + 119_999), event_id: 'e1' }, copy(BASE + 120_000, 'i1')];
  for (const cuts of [[], [1], [2]]) checkCase({ arrivals, latenessMs: 0, cuts, queries: [BASE + 59_998, BASE + 200_000], features: TWINS }, newStats());
});

test('ingestion-time features: tiled == reference, and they differ from their event-time twins', (t) => {
  const stats = newStats();
  let differing = 0;
  fc.assert(fc.property(arbCase(SHAPE, LATENESS), (c) => {
    checkCase({ ...c, features: TWINS }, stats);
    const accepted = referenceAccept(c.arrivals, c.latenessMs);
    for (const def of EVENT_TIME_FEATURES) {
      for (const T of c.queries) {
        const id = def.entity === 'user' ? 'u1' : 'i1';
        const a = referenceValue(TWINS, accepted, def.entity, id, def.name, T);
        const b = referenceValue(TWINS, accepted, def.entity, id, `${def.name}_ingest`, T);
        if (JSON.stringify(a) !== JSON.stringify(b)) differing++;
      }
    }
  }), RUNS);
  t.diagnostic(`evaluations: ${stats.exact} exact, ${stats.inexact} inexact; twins differed ${differing} times`);
  assertMeaningful(stats, TWINS);
  assert.ok(differing > 1000, `event-time and ingestion-time twins should often differ (${differing})`);
});

test('after eviction: exact answers still equal the reference; recent queries stay exact', (t) => {
  const features = [
    ...catalog('user_views_1h', 'user_session_events', 'user_seconds_since_last_event', 'user_events_30m_hop_5m'),
    feature('t_views_10m', 'user', 'count', sliding(10 * MINUTE, MINUTE), views),
    feature('t_last_2', 'user', 'last_n', sliding(10 * MINUTE, 5 * MINUTE), { value: 'item_id', limit: 2 }),
    feature('t_tumbling_5m', 'item', 'count', { kind: 'tumbling', sizeMs: 5 * MINUTE }),
    feature('t_hop_10m', 'user', 'distinct', { kind: 'hopping', sizeMs: 10 * MINUTE, slideMs: 5 * MINUTE }, { value: 'category' }),
    feature('t_s5_lookback_15m', 'user', 'session_duration', { kind: 'session', gapMs: 5 * MINUTE, lookbackMs: 15 * MINUTE }),
    feature('t_recency_10m', 'user', 'recency', { kind: 'recency', horizonMs: 10 * MINUTE }),
  ];
  const stats = newStats();
  const arb = fc.tuple(arbCase(SHAPE, [0, MINUTE, 5 * MINUTE]), fc.integer({ min: 0, max: 120 * MINUTE }), fc.nat(3));
  fc.assert(fc.property(arb, ([c, offset, lazy]) => {
    const now = BASE + offset;
    const L = c.latenessMs;
    checkCase({ ...c, features, now, lazy, queries: [...c.queries, now, now - 1, now - L, now - L + 1, now - L - 1] }, stats);
  }), RUNS);
  t.diagnostic(`evaluations: ${stats.exact} exact (${stats.nonEmpty} non-empty), ${stats.inexact} inexact`);
  assertMeaningful(stats, features, 0.5);
});

test('split batches, applied in any order, give the same hashes as one batch', () => {
  const registry = createRegistry({ features: [...DEFAULT_CATALOG,
    feature('t_last_2', 'item', 'last_n', sliding(10 * MINUTE, MINUTE), { value: 'user_id', limit: 2 }),
    feature('t_min', 'user', 'min', sliding(10 * MINUTE, MINUTE), { value: 'price' })] });
  const arb = fc.record({
    arrivals: arbStream(SHAPE),
    cuts: fc.array(fc.nat(), { maxLength: 5 }),
    order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 200, maxLength: 200 }),
  });
  fc.assert(fc.property(arb, ({ arrivals, cuts, order }) => {
    const accepted = referenceAccept(arrivals, registry.latenessMs);
    const whole = new Map<string, Record<string, string>>();
    for (const w of preaggregate(accepted, registry)) whole.set(hashKey(w.entity, w.entityId, w.tileMs), applyOps({}, w.ops));
    const bounds = [...new Set([0, ...cuts.map((c) => c % (accepted.length + 1)), accepted.length])].sort((a, b) => a - b);
    const writes = bounds.slice(1).flatMap((end, i) => preaggregate(accepted.slice(bounds[i], end), registry));
    // Any interleaving of the writes, each with its ops reversed: item hashes get writes from many workers.
    const shuffled = writes.map((w, i) => ({ w, key: order[i % order.length] ?? 0 })).sort((a, b) => a.key - b.key);
    const split = new Map<string, Record<string, string>>();
    for (const { w } of shuffled) {
      const key = hashKey(w.entity, w.entityId, w.tileMs);
      split.set(key, applyOps(split.get(key) ?? {}, [...w.ops].reverse()));
    }
    assert.deepStrictEqual(canonical(split), canonical(whole));
    // last-N stays bounded per tile: never more than N entries stored.
    for (const hash of split.values()) {
      for (const [field, value] of Object.entries(hash)) {
        if (field.endsWith(':l')) assert.ok((JSON.parse(value) as unknown[]).length <= 5, field);
      }
    }
    for (const w of writes) assert.ok(w.tiles.every((tile) => tile.expireAt <= w.expireAt && tile.expireAt > tile.start));
  }), RUNS);
});

/** Hash contents with topn JSON parsed, so byte-level JSON differences cannot hide or fake a match. */
function canonical(hashes: Map<string, Record<string, string>>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [key, hash] of [...hashes].sort()) {
    out[key] = Object.fromEntries(Object.entries(hash).sort().map(([f, v]) => [f, f.endsWith(':l') ? JSON.parse(v) : v]));
  }
  return out;
}
