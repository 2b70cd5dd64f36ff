// DESIGN §4 rule by rule, on hand-written streams: every expected value is asserted on the
// reference model and on the tiled path (which must also say when it is exact).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClickEvent } from './event.js';
import { DEFAULT_CATALOG } from './features/catalog.js';
import { createRegistry } from './features/registry.js';
import { evaluateFromTiles, type Evaluation } from './evaluate.js';
import { referenceAccept, referenceValue } from './reference.js';
import { DAY, HOUR, MINUTE, SECOND } from './windows.js';
import { BASE, evict, feature, runPipeline, tileSetOf } from './testkit.js';
import type { Entity, FeatureDefinition, FeatureValue } from './features/definition.js';

let counter = 0;
function ev(user: string, type: string, time: number, extra: Partial<ClickEvent> = {}): ClickEvent {
  return { event_id: `x${++counter}`, user_id: user, event_type: type, event_time: time, ingest_time: time, quantity: 1, ...extra };
}

interface Options { features?: readonly FeatureDefinition[]; latenessMs?: number; now?: number; lazy?: number; entity?: Entity; id?: string }

/** Both paths at T: the reference value and the tiled evaluation. */
function both(arrivals: ClickEvent[], name: string, T: number, o: Options = {}): { ref: FeatureValue; tiled: Evaluation } {
  const registry = createRegistry({ features: o.features ?? DEFAULT_CATALOG, latenessMs: o.latenessMs ?? 10 * MINUTE });
  const entity = o.entity ?? registry.get(name).entity;
  const id = o.id ?? (entity === 'user' ? 'u1' : 'i1');
  const run = runPipeline(registry, arrivals);
  const hashes = o.now === undefined ? run.hashes : evict(registry, run.hashes, o.now, o.lazy);
  const tiled = evaluateFromTiles(registry.get(name), tileSetOf(registry, hashes, entity, id), T, { registry, now: o.now });
  const ref = referenceValue(registry.features, referenceAccept(arrivals, registry.latenessMs), entity, id, name, T);
  return { ref, tiled };
}

/** Asserts the reference value, and that tiles give it exactly. */
function expectExact(arrivals: ClickEvent[], name: string, T: number, expected: FeatureValue, o: Options = {}): void {
  const { ref, tiled } = both(arrivals, name, T, o);
  assert.deepStrictEqual(ref, expected, `reference ${name} at T`);
  assert.deepStrictEqual(tiled, { exact: true, value: expected }, `tiles ${name} at T`);
}

/** Asserts the reference value; tiles must decline to answer (head tile straddles T, or evicted). */
function expectInexact(arrivals: ClickEvent[], name: string, T: number, expected: FeatureValue, o: Options = {}): void {
  const { ref, tiled } = both(arrivals, name, T, o);
  assert.deepStrictEqual(ref, expected);
  assert.deepStrictEqual(tiled, { exact: false });
}

test('sliding window: floor_hop(T - W) <= t < T', () => {
  const T = BASE + 2 * HOUR + 30 * SECOND;
  const tail = BASE + HOUR; // floor_1m(T - 1h)
  const events = [ev('u1', 'view', tail), ev('u1', 'view', tail - 1), ev('u1', 'view', T - 1), ev('u1', 'click', T - 2)];
  expectExact(events, 'user_views_1h', T, 2);
  // An event at exactly T is outside, but it shares the head tile with T - 1: tiles cannot split it.
  expectInexact([...events, ev('u1', 'view', T)], 'user_views_1h', T, 2);
  // All of the head tile at or after T: skipped whole, still exact.
  expectExact([ev('u1', 'view', tail), ev('u1', 'view', T), ev('u1', 'view', T + 1)], 'user_views_1h', T, 1);
  // T on a hop boundary: no head tile at all (window [1h, 2h): only `tail`).
  expectExact([...events, ev('u1', 'view', BASE + 2 * HOUR)], 'user_views_1h', BASE + 2 * HOUR, 1);
  expectExact(events, 'user_views_1h', BASE + 2 * HOUR + MINUTE, 1); // tail dropped, T - 1 in
});

test('tumbling window: the last completed one, [floor_W(T) - W, floor_W(T))', () => {
  const events = [ev('u1', 'view', BASE + 10 * MINUTE - 1), ev('u1', 'view', BASE + 10 * MINUTE),
    ev('u1', 'view', BASE + 20 * MINUTE - 1), ev('u1', 'view', BASE + 20 * MINUTE), ev('u1', 'view', BASE + 24 * MINUTE)];
  expectExact(events, 'user_views_10m_tumbling', BASE + 25 * MINUTE, 2);
  expectExact(events, 'user_views_10m_tumbling', BASE + 20 * MINUTE, 2);
  expectExact(events, 'user_views_10m_tumbling', BASE + 20 * MINUTE - 1, 1);
  expectExact(events, 'user_views_10m_tumbling', BASE + 30 * MINUTE, 2);
});

test('hopping window: the last completed one, [floor_slide(T) - W, floor_slide(T))', () => {
  const m = (x: number): number => BASE + x * MINUTE;
  const events = [ev('u1', 'view', m(30)), ev('u1', 'click', m(60) - 1), ev('u1', 'view', m(30) - 1), ev('u1', 'view', m(60)), ev('u1', 'view', m(61))];
  expectExact(events, 'user_events_30m_hop_5m', m(62), 2);
  expectExact(events, 'user_events_30m_hop_5m', m(65), 3);
  expectExact(events, 'user_events_30m_hop_5m', m(60), 2);
});

test('sessions: gap < G joins, T - last < G is active, only events before T count', () => {
  const m = (x: number): number => BASE + x * MINUTE;
  const events = [ev('u1', 'view', m(0)), ev('u1', 'click', m(20)), ev('u1', 'view', m(45))];
  expectExact(events, 'user_session_events', m(60), 3);
  expectExact(events, 'user_session_duration_s', m(60), 45 * 60);
  expectExact(events, 'user_session_events', m(75) - 1, 3); // T - last = G - 1 ms
  expectExact(events, 'user_session_events', m(75), 0); // T - last = G: no active session
  expectExact(events, 'user_session_duration_s', m(75), null);
  expectExact(events, 'user_session_events', m(30), 2); // the event at 45 is not before T
  expectExact(events, 'user_session_duration_s', m(30), 20 * 60);
  // A gap of exactly G splits sessions; G - 1 ms does not.
  expectExact([ev('u1', 'view', m(0)), ev('u1', 'view', m(30))], 'user_session_events', m(31), 1);
  expectExact([ev('u1', 'view', m(0)), ev('u1', 'view', m(30) - 1)], 'user_session_events', m(31), 2);
  // An out-of-order event arriving within the lateness merges two sessions...
  const split = [ev('u1', 'view', m(0)), ev('u1', 'view', m(40))];
  const bridged = [...split, ev('u1', 'view', m(20))];
  expectExact(split, 'user_session_events', m(41), 1);
  expectExact(bridged, 'user_session_events', m(41), 3, { latenessMs: 30 * MINUTE });
  expectExact(bridged, 'user_session_duration_s', m(41), 40 * 60, { latenessMs: 30 * MINUTE });
  // ... but not when it is late: then it counts nowhere.
  expectExact(bridged, 'user_session_events', m(41), 1, { latenessMs: 10 * MINUTE });
  expectExact([], 'user_session_events', m(41), 0);
  expectExact([], 'user_session_duration_s', m(41), null);
});

test('recency: seconds since the last event before T, null without one in [T - 7d, T)', () => {
  const T = BASE + 8 * DAY + 123;
  expectExact([ev('u1', 'view', T - 7 * DAY)], 'user_seconds_since_last_event', T, 7 * 24 * 3600);
  expectExact([ev('u1', 'view', T - 7 * DAY - 1)], 'user_seconds_since_last_event', T, null);
  expectExact([ev('u1', 'view', T - 1500), ev('u1', 'view', T - 7 * DAY)], 'user_seconds_since_last_event', T, 1.5);
  expectExact([], 'user_seconds_since_last_event', T, null);
  // An event at T is not before T; alone in its tile it is skipped exactly.
  expectExact([ev('u1', 'view', T - 2 * MINUTE), ev('u1', 'view', T)], 'user_seconds_since_last_event', T, 120);
  expectInexact([ev('u1', 'view', T - 1), ev('u1', 'view', T)], 'user_seconds_since_last_event', T, 0.001);
});

test('money: integer micro-units, exact and order independent', () => {
  const T = BASE + DAY;
  const buy = (price: number, quantity = 1): ClickEvent => ev('u1', 'purchase', BASE + HOUR, { price, quantity });
  const view = (price: number): ClickEvent => ev('u1', 'view', BASE + HOUR, { price });
  expectExact([buy(0.1), buy(0.2)], 'user_revenue_7d', T, 0.3); // not 0.30000000000000004
  expectExact([buy(19.99, 3), buy(0.01, 1)], 'user_revenue_7d', T, 59.98);
  expectExact([buy(1.005)], 'user_revenue_7d', T, 1.005);
  expectExact([buy(5e-7), buy(1.5e-6)], 'user_revenue_7d', T, 0.000003); // 1 + 2 micros (half up)
  expectExact([ev('u1', 'purchase', BASE + HOUR)], 'user_revenue_7d', T, 0); // no price: does not count
  expectExact([view(0.1), view(0.2), view(0.2)], 'user_avg_view_price_24h', T, 500_000 / 3 / 1e6);
  expectExact([view(0.1), view(0.2), view(0.2)], 'user_min_view_price_24h', T, 0.1);
  expectExact([view(0.1), view(0.2), view(0.2)], 'user_max_view_price_24h', T, 0.2);
  expectExact([view(0.12345678)], 'user_max_view_price_24h', T, 0.123457);
  expectExact([], 'user_avg_view_price_24h', T, null);
  expectExact([], 'user_min_view_price_24h', T, null);
  expectExact([], 'user_revenue_7d', T, 0);
});

test('last-N: newest first, ties by event_id desc, repeats allowed; top-K ties by value asc', () => {
  const t0 = BASE + HOUR;
  const T = BASE + DAY;
  const seen = (id: string, item: string, time: number): ClickEvent => ev('u1', 'view', time, { event_id: id, item_id: item, category: item });
  const events = [seen('a', 'i1', t0), seen('c', 'i2', t0), seen('b', 'i3', t0), seen('d', 'i1', t0 + 5), seen('e', 'i1', t0 - 5), seen('f', 'i9', t0 - 6)];
  expectExact(events, 'user_last_5_items', T, ['i1', 'i2', 'i3', 'i1', 'i1']);
  expectExact(events.slice(0, 2), 'user_last_5_items', T, ['i2', 'i1']);
  expectExact(events, 'user_top_3_categories_7d', T, ['i1', 'i2', 'i3']);
  // Code point order: 'ｚ' (U+FF5A) < '😀' (U+1F600), although UTF-16 units say otherwise.
  expectExact([seen('a', '😀', t0), seen('b', 'ｚ', t0)], 'user_top_3_categories_7d', T, ['ｚ', '😀']);
  expectExact([seen('😀', 'x', t0), seen('ｚ', 'y', t0)], 'user_last_5_items', T, ['x', 'y']);
  expectExact([], 'user_last_5_items', T, []);
  // Item features: equal time and event_id from different users are different events (user_id desc).
  const features = [feature('last_categories', 'item', 'last_n', { kind: 'sliding', sizeMs: HOUR, hopMs: MINUTE }, { value: 'category', limit: 3 })];
  const byUser = (user: string, category: string): ClickEvent => ev(user, 'view', t0, { event_id: 'same', item_id: 'i1', category });
  expectExact([byUser('u1', 'z'), byUser('u3', 'x'), byUser('u2', 'y')], 'last_categories', t0 + MINUTE, ['x', 'y', 'z'], { features });
});

test('ratio: null when the denominator is 0 (or an input is null)', () => {
  const T = BASE + DAY;
  const at = BASE + HOUR;
  expectExact([], 'user_cart_rate_24h', T, null);
  expectExact([ev('u1', 'add_to_cart', at)], 'user_cart_rate_24h', T, null);
  expectExact([ev('u1', 'add_to_cart', at), ev('u1', 'view', at), ev('u1', 'view', at), ev('u1', 'view', at)], 'user_cart_rate_24h', T, 1 / 3);
  const item = (type: string): ClickEvent => ev('u1', type, at, { item_id: 'i1' });
  expectExact([item('view'), item('view'), item('purchase')], 'item_conversion_24h', T, 0.5);
  const features = [...DEFAULT_CATALOG, { name: 'avg_per_view', entity: 'user', aggregation: 'ratio', numerator: 'user_avg_view_price_24h',
    denominator: 'user_views_24h', description: 'x' } as const];
  expectExact([ev('u1', 'view', at)], 'avg_per_view', T, null, { features });
});

test('every catalog feature has its DESIGN empty value', () => {
  const registry = createRegistry();
  const empty: Record<string, FeatureValue> = {};
  for (const def of registry.features) {
    const tiled = evaluateFromTiles(def, new Map(), BASE, { registry });
    assert.ok(tiled.exact, def.name);
    empty[def.name] = tiled.value;
    assert.deepStrictEqual(tiled.value, referenceValue(registry.features, [], def.entity, 'x', def.name, BASE), def.name);
  }
  assert.deepStrictEqual(empty, {
    user_views_1h: 0, user_views_24h: 0, user_carts_24h: 0, user_purchases_7d: 0, user_revenue_7d: 0,
    user_avg_view_price_24h: null, user_min_view_price_24h: null, user_max_view_price_24h: null,
    user_distinct_items_1h: 0, user_distinct_categories_24h: 0, user_last_5_items: [], user_top_3_categories_7d: [],
    user_cart_rate_24h: null, user_views_10m_tumbling: 0, user_events_30m_hop_5m: 0, user_session_events: 0,
    user_session_duration_s: null, user_seconds_since_last_event: null, item_views_1h: 0, item_views_24h: 0,
    item_purchases_24h: 0, item_distinct_viewers_24h: 0, item_conversion_24h: null,
  });
});

test('late and duplicate events count nowhere', () => {
  const T = BASE + DAY;
  const first = ev('u1', 'view', BASE + HOUR, { event_id: 'dup', item_id: 'i1' });
  const events = [first, { ...first }, { ...first, ingest_time: first.ingest_time + 5 },
    ev('u1', 'view', BASE + HOUR - 10 * MINUTE - 1, { item_id: 'i2' }), ev('u1', 'view', BASE + HOUR - 10 * MINUTE, { item_id: 'i3' })];
  expectExact(events, 'user_views_24h', T, 2);
  expectExact(events, 'user_last_5_items', T, ['i1', 'i3']);
  expectExact(events, 'item_views_24h', T, 1, { id: 'i1' });
  expectExact(events, 'item_views_24h', T, 0, { id: 'i2' });
});

test('an ingestion-time feature differs from its event-time twin on out-of-order input', (t) => {
  const window = { kind: 'sliding', sizeMs: HOUR, hopMs: MINUTE } as const;
  const features = [
    feature('views_1h', 'user', 'count', window, { filter: { eventTypes: ['view'] } }),
    feature('views_1h_ingested', 'user', 'count', window, { filter: { eventTypes: ['view'] }, time: 'ingestion' }),
  ];
  const T = BASE + 3 * HOUR;
  // Two views that happened 2 hours ago but reached Kafka just now, and one that is on time.
  const events = [
    ev('u1', 'view', T - 10 * MINUTE, { ingest_time: T - 10 * MINUTE }),
    ev('u1', 'view', T - 2 * HOUR, { ingest_time: T - 5 * MINUTE }),
    ev('u1', 'view', T - 2 * HOUR + 1, { ingest_time: T - 4 * MINUTE }),
  ];
  const byEvent = both(events, 'views_1h', T, { features, latenessMs: 3 * HOUR });
  const byIngest = both(events, 'views_1h_ingested', T, { features, latenessMs: 3 * HOUR });
  t.diagnostic(`event time: reference ${String(byEvent.ref)}, tiles ${JSON.stringify(byEvent.tiled)}`);
  t.diagnostic(`ingestion time: reference ${String(byIngest.ref)}, tiles ${JSON.stringify(byIngest.tiled)}`);
  assert.deepStrictEqual([byEvent.ref, byEvent.tiled], [1, { exact: true, value: 1 }]);
  assert.deepStrictEqual([byIngest.ref, byIngest.tiled], [3, { exact: true, value: 3 }]);
});

test('after eviction, tiles answer only what they still fully hold', () => {
  const features = [feature('recency_10m', 'user', 'recency', { kind: 'recency', horizonMs: 10 * MINUTE }),
    feature('views_10m', 'user', 'count', { kind: 'sliding', sizeMs: 10 * MINUTE, hopMs: MINUTE }),
    feature('session_5m', 'user', 'session_count', { kind: 'session', gapMs: 5 * MINUTE, lookbackMs: 10 * MINUTE })];
  const o = { features, latenessMs: 0 };
  const events = [ev('u1', 'view', BASE), ev('u1', 'view', BASE + 5 * MINUTE)];
  const T = BASE + 6 * MINUTE;
  expectExact(events, 'recency_10m', T, 60, o);
  // At now = 16m the 5m tile has expired and is gone while the older one lingers: not exact.
  expectInexact(events, 'recency_10m', T, 60, { ...o, now: BASE + 16 * MINUTE, lazy: 2 });
  expectInexact(events, 'views_10m', T, 2, { ...o, now: BASE + 16 * MINUTE });
  expectExact(events, 'views_10m', BASE + 16 * MINUTE, 0, { ...o, now: BASE + 16 * MINUTE });
  // A session reaching back past its lookback cannot be answered exactly online.
  const chain = [0, 4, 8, 12, 16, 20, 24].map((x) => ev('u1', 'view', BASE + x * MINUTE));
  expectExact(chain, 'session_5m', BASE + 25 * MINUTE, 7, o);
  expectInexact(chain, 'session_5m', BASE + 25 * MINUTE, 7, { ...o, now: BASE + 25 * MINUTE });
});
