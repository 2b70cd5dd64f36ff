// Property tests: tiled evaluation (pre-aggregate -> applyOps -> decode -> evaluateFromTiles)
// equals the brute-force reference for sliding, tumbling and hopping windows, on random
// out-of-order, late and duplicated streams, with query times on tile and window boundaries.
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_CATALOG } from './features/catalog.js';
import { DAY, HOUR, MINUTE } from './windows.js';
import { arbCase, assertMeaningful, checkCase, feature, newStats, RUNS, type StreamShape } from './testkit.js';
import type { FeatureDefinition } from './features/definition.js';

const catalog = (...names: string[]): FeatureDefinition[] => DEFAULT_CATALOG.filter((d) => names.includes(d.name));
const sliding = (sizeMs: number, hopMs: number) => ({ kind: 'sliding', sizeMs, hopMs }) as const;
const tumbling = (sizeMs: number) => ({ kind: 'tumbling', sizeMs }) as const;
const hopping = (sizeMs: number, slideMs: number) => ({ kind: 'hopping', sizeMs, slideMs }) as const;
const LATENESS = [0, MINUTE, 5 * MINUTE, DAY];

function property(t: TestContext, shape: StreamShape, features: FeatureDefinition[]): void {
  const stats = newStats();
  fc.assert(fc.property(arbCase(shape, LATENESS), (c) => checkCase({ ...c, features }, stats)), RUNS);
  t.diagnostic(`evaluations: ${stats.exact} exact (${stats.nonEmpty} non-empty), ${stats.inexact} inexact`);
  assertMeaningful(stats, features);
}

test('sliding windows: tiled == reference', (t) => {
  property(t, { unit: MINUTE, spanUnits: 40, deltas: [MINUTE, 3 * MINUTE, 10 * MINUTE, HOUR] }, [
    ...catalog('user_views_1h', 'user_views_24h', 'user_revenue_7d', 'user_avg_view_price_24h', 'user_distinct_items_1h',
      'user_last_5_items', 'user_top_3_categories_7d', 'item_views_1h', 'item_distinct_viewers_24h'),
    feature('t_views_10m', 'user', 'count', sliding(10 * MINUTE, MINUTE), { filter: { eventTypes: ['view'] } }),
    feature('t_revenue_10m', 'user', 'sum', sliding(10 * MINUTE, 2 * MINUTE), { value: 'price*quantity', filter: { eventTypes: ['purchase'] } }),
    feature('t_avg_price_6m', 'user', 'avg', sliding(6 * MINUTE, 3 * MINUTE), { value: 'price' }),
    feature('t_min_price_10m', 'user', 'min', sliding(10 * MINUTE, 5 * MINUTE), { value: 'price' }),
    feature('t_max_price_10m', 'item', 'max', sliding(10 * MINUTE, MINUTE), { value: 'price*quantity' }),
    feature('t_qty_4m', 'user', 'sum', sliding(4 * MINUTE, 2 * MINUTE), { value: 'quantity' }),
    feature('t_distinct_cat_10m', 'user', 'distinct', sliding(10 * MINUTE, MINUTE), { value: 'category' }),
    feature('t_viewers_10m', 'item', 'distinct', sliding(10 * MINUTE, MINUTE), { value: 'user_id', filter: { eventTypes: ['view'] } }),
    feature('t_last_3_items', 'user', 'last_n', sliding(10 * MINUTE, 5 * MINUTE), { value: 'item_id', limit: 3 }),
    feature('t_last_2_cats', 'item', 'last_n', sliding(10 * MINUTE, MINUTE), { value: 'category', limit: 2 }),
    feature('t_last_prices', 'user', 'last_n', sliding(10 * MINUTE, MINUTE), { value: 'price', limit: 4 }),
    feature('t_top_2_cats', 'user', 'top_k', sliding(10 * MINUTE, MINUTE), { value: 'category', limit: 2 }),
    feature('t_top_prices', 'item', 'top_k', sliding(10 * MINUTE, 2 * MINUTE), { value: 'price', limit: 2 }),
  ]);
});

test('tumbling windows: tiled == reference', (t) => {
  property(t, { unit: MINUTE, spanUnits: 40, deltas: [5 * MINUTE, 10 * MINUTE] }, [
    ...catalog('user_views_10m_tumbling'),
    feature('t_events_5m_tumbling', 'user', 'count', tumbling(5 * MINUTE)),
    feature('t_revenue_10m_tumbling', 'user', 'sum', tumbling(10 * MINUTE), { value: 'price*quantity' }),
    feature('t_avg_price_10m_tumbling', 'item', 'avg', tumbling(10 * MINUTE), { value: 'price' }),
    feature('t_distinct_items_5m_tumbling', 'user', 'distinct', tumbling(5 * MINUTE), { value: 'item_id' }),
    feature('t_last_2_items_10m_tumbling', 'user', 'last_n', tumbling(10 * MINUTE), { value: 'item_id', limit: 2 }),
    feature('t_top_cat_10m_tumbling', 'user', 'top_k', tumbling(10 * MINUTE), { value: 'category', limit: 1 }),
  ]);
});

test('hopping windows: tiled == reference', (t) => {
  property(t, { unit: MINUTE, spanUnits: 50, deltas: [5 * MINUTE, 6 * MINUTE, 30 * MINUTE] }, [
    ...catalog('user_events_30m_hop_5m'),
    feature('t_views_10m_hop_5m', 'user', 'count', hopping(10 * MINUTE, 5 * MINUTE), { filter: { eventTypes: ['view'] } }),
    feature('t_min_price_6m_hop_2m', 'user', 'min', hopping(6 * MINUTE, 2 * MINUTE), { value: 'price' }),
    feature('t_distinct_users_6m_hop_3m', 'item', 'distinct', hopping(6 * MINUTE, 3 * MINUTE), { value: 'user_id' }),
    feature('t_last_3_cats_10m_hop_5m', 'user', 'last_n', hopping(10 * MINUTE, 5 * MINUTE), { value: 'category', limit: 3 }),
    feature('t_top_2_items_10m_hop_2m', 'user', 'top_k', hopping(10 * MINUTE, 2 * MINUTE), { value: 'item_id', limit: 2 }),
  ]);
});
