// The catalog (names binding), registry validation, series sharing and retention.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CATALOG } from './features/catalog.js';
import { CUSTOM_FEATURES } from './features/custom.js';
import { createRegistry, DEFAULT_LATENESS_MS, defaultRegistry, UnknownFeatureError } from './features/registry.js';
import { FeatureDefinitionError } from './features/validate.js';
import { seriesIdOf, tileExpireAt } from './features/series.js';
import { isRatio, outputType, toMicros, type FeatureDefinition, type TileFeature } from './features/definition.js';
import { DAY, HOUR, MINUTE, describeWindow } from './windows.js';

const DESIGN_NAMES = [
  'user_views_1h', 'user_views_24h', 'user_carts_24h', 'user_purchases_7d', 'user_revenue_7d', 'user_avg_view_price_24h',
  'user_min_view_price_24h', 'user_max_view_price_24h', 'user_distinct_items_1h', 'user_distinct_categories_24h',
  'user_last_5_items', 'user_top_3_categories_7d', 'user_cart_rate_24h', 'user_views_10m_tumbling', 'user_events_30m_hop_5m',
  'user_session_events', 'user_session_duration_s', 'user_seconds_since_last_event', 'item_views_1h', 'item_views_24h',
  'item_purchases_24h', 'item_distinct_viewers_24h', 'item_conversion_24h',
];

test('the default catalog is exactly the 23 features of DESIGN §4, in order', () => {
  assert.deepStrictEqual(DEFAULT_CATALOG.map((d) => d.name), DESIGN_NAMES);
  const table = Object.fromEntries(DEFAULT_CATALOG.map((d) => [d.name,
    isRatio(d) ? `${d.numerator} / ${d.denominator}` : `${d.entity} ${d.aggregation}${d.limit ? ` ${d.limit}` : ''}${d.value ? ` ${d.value}` : ''} [${(d.filter?.eventTypes ?? ['any']).join(',')}${d.filter?.requires ? ` with ${d.filter.requires.join(',')}` : ''}] ${describeWindow(d.window)}`]));
  assert.deepStrictEqual(table, {
    user_views_1h: 'user count [view] sliding 1h, hop 1m',
    user_views_24h: 'user count [view] sliding 24h, hop 5m',
    user_carts_24h: 'user count [add_to_cart] sliding 24h, hop 5m',
    user_purchases_7d: 'user count [purchase] sliding 7d, hop 1h',
    user_revenue_7d: 'user sum price*quantity [purchase with price] sliding 7d, hop 1h',
    user_avg_view_price_24h: 'user avg price [view with price] sliding 24h, hop 5m',
    user_min_view_price_24h: 'user min price [view with price] sliding 24h, hop 5m',
    user_max_view_price_24h: 'user max price [view with price] sliding 24h, hop 5m',
    user_distinct_items_1h: 'user distinct item_id [any with item_id] sliding 1h, hop 1m',
    user_distinct_categories_24h: 'user distinct category [any with category] sliding 24h, hop 5m',
    user_last_5_items: 'user last_n 5 item_id [any with item_id] sliding 7d, hop 1h',
    user_top_3_categories_7d: 'user top_k 3 category [any with category] sliding 7d, hop 1h',
    user_cart_rate_24h: 'user_carts_24h / user_views_24h',
    user_views_10m_tumbling: 'user count [view] tumbling 10m',
    user_events_30m_hop_5m: 'user count [any] hopping 30m, slide 5m',
    user_session_events: 'user session_count [any] session, gap 30m',
    user_session_duration_s: 'user session_duration [any] session, gap 30m',
    user_seconds_since_last_event: 'user recency [any] retention 7d',
    item_views_1h: 'item count [view] sliding 1h, hop 1m',
    item_views_24h: 'item count [view] sliding 24h, hop 5m',
    item_purchases_24h: 'item count [purchase] sliding 24h, hop 5m',
    item_distinct_viewers_24h: 'item distinct user_id [view] sliding 24h, hop 5m',
    item_conversion_24h: 'item_purchases_24h / item_views_24h',
  });
  for (const def of DEFAULT_CATALOG) assert.ok(def.description.length > 20, def.name);
});

test('the default registry is the catalog plus custom.ts (empty by default)', () => {
  assert.deepStrictEqual(CUSTOM_FEATURES, []);
  const registry = defaultRegistry();
  assert.deepStrictEqual(registry.features.map((d) => d.name), DESIGN_NAMES);
  assert.equal(registry.latenessMs, DEFAULT_LATENESS_MS);
  assert.equal(registry.forEntity('item').length, 5);
  assert.throws(() => registry.get('nope'), UnknownFeatureError);
  const extra: FeatureDefinition = { name: 'user_favorites_7d', entity: 'user', aggregation: 'count', description: 'Favorites',
    filter: { eventTypes: ['favorite'] }, window: { kind: 'sliding', sizeMs: 7 * DAY, hopMs: HOUR } };
  const custom = createRegistry({ features: [...DEFAULT_CATALOG, extra] });
  assert.equal(custom.get('user_favorites_7d'), extra);
});

test('series: ids are stable, and features with the same IR share one', () => {
  const registry = defaultRegistry();
  const ids = Object.fromEntries(DEFAULT_CATALOG.filter((d): d is TileFeature => !isRatio(d)).map((d) => [d.name, seriesIdOf(d)]));
  // Changing these orphans every tile in production: only ever change them on purpose.
  assert.equal(ids.user_views_1h, 'd6odf');
  assert.equal(ids.user_last_5_items, '9fr90');
  assert.equal(ids.item_distinct_viewers_24h, 'xah5g');
  assert.equal(new Set(Object.values(ids)).size, 19);
  const shared = registry.seriesOf(registry.get('user_session_events') as TileFeature);
  assert.deepStrictEqual(shared.features, ['user_session_events', 'user_session_duration_s', 'user_seconds_since_last_event']);
  assert.equal(shared.tileMs, MINUTE);
  assert.equal(shared.retentionMs, 7 * DAY + DEFAULT_LATENESS_MS); // the largest span among its features
  assert.deepStrictEqual(registry.tileSizes('user'), [MINUTE, 5 * MINUTE, 10 * MINUTE, HOUR]);
  assert.deepStrictEqual(registry.tileSizes('item'), [MINUTE, 5 * MINUTE]);
  // The value of a count is not part of its series; a different filter is.
  const views = registry.get('user_views_24h') as TileFeature;
  assert.equal(seriesIdOf({ ...views, name: 'other', description: 'other' }), seriesIdOf(views));
  assert.notEqual(seriesIdOf({ ...views, version: 1 }), seriesIdOf(views));
  assert.notEqual(seriesIdOf({ ...views, time: 'ingestion' }), seriesIdOf(views));
});

test('retention: largest window + lateness; tiles expire at tile end + retention', () => {
  const registry = createRegistry({ latenessMs: 5 * MINUTE });
  assert.equal(registry.retentionMs('user_views_24h'), DAY + 5 * MINUTE);
  assert.equal(registry.retentionMs('user_cart_rate_24h'), DAY + 5 * MINUTE);
  assert.equal(registry.retentionMs('user_views_10m_tumbling'), 10 * MINUTE + 5 * MINUTE);
  assert.equal(registry.retentionMs('user_session_events'), DAY + 5 * MINUTE); // default lookback 24h
  assert.equal(registry.retentionMs('user_seconds_since_last_event'), 7 * DAY + 5 * MINUTE);
  const s = registry.seriesOf(registry.get('user_views_1h') as TileFeature);
  assert.equal(tileExpireAt(s, 0), MINUTE + HOUR + 5 * MINUTE);
});

test('validation lists every problem', () => {
  const ok: TileFeature = { name: 'f', entity: 'user', aggregation: 'count', description: 'd', window: { kind: 'sliding', sizeMs: HOUR, hopMs: MINUTE } };
  const problems = (defs: FeatureDefinition[]): string[] => {
    try { createRegistry({ features: defs }); return []; } catch (err) { assert.ok(err instanceof FeatureDefinitionError); return [...err.problems]; }
  };
  assert.deepStrictEqual(problems([ok]), []);
  assert.deepStrictEqual(problems([ok, ok]), ['f: defined twice']);
  assert.match(problems([{ ...ok, name: 'Bad-Name' }])[0] ?? '', /name must match/);
  assert.deepStrictEqual(problems([{ ...ok, description: ' ' }]), ['f: description is required']);
  assert.deepStrictEqual(problems([{ ...ok, window: { kind: 'sliding', sizeMs: HOUR, hopMs: 7 * MINUTE } }]), ['f: sliding sizeMs must be a multiple of hopMs']);
  assert.deepStrictEqual(problems([{ ...ok, window: { kind: 'hopping', sizeMs: HOUR, slideMs: 7 * MINUTE } }]), ['f: hopping sizeMs must be a multiple of slideMs']);
  assert.deepStrictEqual(problems([{ ...ok, window: { kind: 'tumbling', sizeMs: 0 } }]), ['f: tumbling sizeMs must be a positive integer']);
  assert.deepStrictEqual(problems([{ ...ok, window: { kind: 'session', gapMs: 1 } }]), ['f: session gapMs must be an integer >= 2']);
  assert.deepStrictEqual(problems([{ ...ok, aggregation: 'session_count' }]), ['f: session_count needs a session window']);
  assert.deepStrictEqual(problems([{ ...ok, aggregation: 'recency' }]), ['f: recency aggregation and recency window go together']);
  assert.deepStrictEqual(problems([{ ...ok, window: { kind: 'recency', horizonMs: DAY } }]), ['f: recency aggregation and recency window go together']);
  assert.match(problems([{ ...ok, aggregation: 'sum' }])[0] ?? '', /sum needs a value/);
  assert.deepStrictEqual(problems([{ ...ok, aggregation: 'avg', value: 'category' }]), ['f: avg needs a numeric value, not category']);
  assert.deepStrictEqual(problems([{ ...ok, value: 'price' }]), ['f: count reads no value; use filter.requires to require fields']);
  assert.deepStrictEqual(problems([{ ...ok, aggregation: 'last_n', value: 'item_id' }]), ['f: last_n needs an integer limit in 1..1000']);
  assert.deepStrictEqual(problems([{ ...ok, limit: 3 }]), ['f: limit is only for last_n and top_k']);
  assert.deepStrictEqual(problems([{ ...ok, filter: { eventTypes: ['View'] } }]), ['f: event type "View" is not [a-z_]{1,32}']);
  assert.deepStrictEqual(problems([{ ...ok, entity: 'shop' as 'user' }]), ['f: entity must be one of user, item']);
  const ratio = (numerator: string, denominator: string, entity: 'user' | 'item' = 'user'): FeatureDefinition =>
    ({ name: 'r', entity, aggregation: 'ratio', numerator, denominator, description: 'r' });
  assert.deepStrictEqual(problems([ok, ratio('f', 'f')]), []);
  assert.deepStrictEqual(problems([ok, ratio('f', 'g')]), ['r: ratio input "g" is not defined']);
  assert.deepStrictEqual(problems([ok, ratio('f', 'r')]), ['r: ratio input r is itself a ratio']);
  assert.deepStrictEqual(problems([ok, ratio('f', 'f', 'item')]), ['r: ratio input f is a user feature', 'r: ratio input f is a user feature']);
  assert.throws(() => createRegistry({ latenessMs: -1 }), RangeError);
});

test('output types for the API schema', () => {
  const registry = defaultRegistry();
  const type = (name: string): string => {
    const t = outputType(registry.get(name));
    return `${t.list ? '[' : ''}${t.scalar}${t.list ? '!]' : ''}${t.nullable ? '' : '!'}`;
  };
  assert.deepStrictEqual(
    ['user_views_1h', 'user_revenue_7d', 'user_avg_view_price_24h', 'user_last_5_items', 'user_cart_rate_24h', 'user_session_duration_s'].map(type),
    ['Int!', 'Float!', 'Float', '[String!]!', 'Float', 'Float']);
});

test('money rule: micro-units, round half up', () => {
  assert.equal(toMicros(0), 0);
  assert.equal(toMicros(19.99), 19_990_000);
  assert.equal(toMicros(1.005), 1_005_000); // 1.005 * 1e6 = 1004999.9999999999
  assert.equal(toMicros(5e-7), 1);
  assert.equal(toMicros(4e-7), 0);
  assert.equal(toMicros(2.5e-6), 3); // half up, not half even (ClickHouse round() would give 2)
});
