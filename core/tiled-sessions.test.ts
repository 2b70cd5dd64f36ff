// Property tests: session and recency features from tiles equal the brute-force reference,
// including late events that merge two sessions, gaps of exactly G, G - 1 and G + 1, tiny
// gaps (10 s and 1 ms tiles) and query times at T - last == G.
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_CATALOG } from './features/catalog.js';
import { DAY, MINUTE, SECOND } from './windows.js';
import { arbCase, assertMeaningful, checkCase, feature, newStats, RUNS } from './testkit.js';
import type { FeatureDefinition } from './features/definition.js';

const catalog = (...names: string[]): FeatureDefinition[] => DEFAULT_CATALOG.filter((d) => names.includes(d.name));
const session = (gapMs: number, lookbackMs?: number) => ({ kind: 'session', gapMs, ...(lookbackMs ? { lookbackMs } : {}) }) as const;
const recency = (horizonMs: number) => ({ kind: 'recency', horizonMs }) as const;
const LATENESS = [0, MINUTE, 10 * MINUTE, DAY];

test('session windows: tiled == reference', (t) => {
  const stats = newStats();
  const features = [
    ...catalog('user_session_events', 'user_session_duration_s'),
    feature('t_s5_count', 'user', 'session_count', session(5 * MINUTE)),
    feature('t_s5_duration', 'user', 'session_duration', session(5 * MINUTE)),
    feature('t_s90s_count', 'user', 'session_count', session(90 * SECOND)),
    feature('t_s61s_duration', 'user', 'session_duration', session(61 * SECOND)),
    feature('t_s30s_count', 'user', 'session_count', session(30 * SECOND)),
    feature('t_s2ms_duration', 'user', 'session_duration', session(2)),
    feature('t_s2m_revenue', 'user', 'sum', session(2 * MINUTE), { value: 'price*quantity' }),
    feature('t_s5_items', 'user', 'distinct', session(5 * MINUTE), { value: 'item_id' }),
    feature('t_s5_last_2', 'user', 'last_n', session(5 * MINUTE), { value: 'category', limit: 2 }),
    feature('t_s5_views', 'user', 'session_count', session(5 * MINUTE), { filter: { eventTypes: ['view'] } }),
    feature('t_item_s5_count', 'item', 'session_count', session(5 * MINUTE)),
    feature('t_item_s5_duration', 'item', 'session_duration', session(5 * MINUTE, 30 * MINUTE)),
  ];
  const shape = { unit: MINUTE, spanUnits: 150, deltas: [2, 30 * SECOND, 61 * SECOND, 90 * SECOND, 2 * MINUTE, 5 * MINUTE, 30 * MINUTE] };
  fc.assert(fc.property(arbCase(shape, LATENESS), (c) => checkCase({ ...c, features }, stats)), RUNS);
  t.diagnostic(`evaluations: ${stats.exact} exact (${stats.nonEmpty} non-empty), ${stats.inexact} inexact`);
  assertMeaningful(stats, features);
});

test('recency: tiled == reference', (t) => {
  const stats = newStats();
  const features = [
    ...catalog('user_seconds_since_last_event'),
    feature('t_recency_10m', 'user', 'recency', recency(10 * MINUTE)),
    feature('t_recency_views_5m', 'item', 'recency', recency(5 * MINUTE), { filter: { eventTypes: ['view'] } }),
    feature('t_recency_purchase_1d', 'user', 'recency', recency(DAY), { filter: { eventTypes: ['purchase'] } }),
  ];
  const shape = { unit: MINUTE, spanUnits: 60, deltas: [5 * MINUTE, 10 * MINUTE, DAY] };
  fc.assert(fc.property(arbCase(shape, LATENESS), (c) => checkCase({ ...c, features }, stats)), RUNS);
  t.diagnostic(`evaluations: ${stats.exact} exact (${stats.nonEmpty} non-empty), ${stats.inexact} inexact`);
  assertMeaningful(stats, features);
});
