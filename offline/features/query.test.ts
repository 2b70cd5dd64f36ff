// The generated SQL, without a server: its shape for every catalog feature, when the time
// buckets apply, what 18.16 cannot run (ASOF, {x:Type} parameters, FINAL, window
// functions), and the refusals. Values are checked against ClickHouse in the
// *.clickhouse.test.ts files.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CATALOG } from '../../core/features/catalog.js';
import { createRegistry } from '../../core/features/registry.js';
import { DAY, HOUR } from '../../core/windows.js';
import { sql } from '../sql.js';
import type { TileFeature } from '../../core/features/definition.js';
import { featureGroups, featureQuery, type FeatureQueryOptions } from './query.js';
import { floorSql, lookbackMs } from './expressions.js';
import { literalLabels } from './offline-features.js';
import { EXTRA_FEATURES } from './test-fixtures.js';

const registry = createRegistry({ features: [...DEFAULT_CATALOG, ...EXTRA_FEATURES] });
const T = Date.UTC(2024, 0, 10);

function query(entity: 'user' | 'item', names: string[], extra: Partial<FeatureQueryOptions> = {}): string {
  return featureQuery({
    db: 'db', entity, defs: names.map((n) => registry.get(n)), lookup: (n) => registry.get(n),
    labels: literalLabels([{ lid: 0, id: "o'brien", T }]), minT: T, maxT: T, sessions: 'bounded', maxFutureMs: 300_000, ...extra,
  }).text;
}

test('every catalog feature renders, per entity, in one statement that 18.16 can run', () => {
  for (const entity of ['user', 'item'] as const) {
    const text = query(entity, registry.forEntity(entity).map((d) => d.name));
    for (const def of registry.forEntity(entity)) assert.ok(text.includes(`AS \`${def.name}\``), def.name);
    assert.ok(!/ASOF|FINAL|OVER\s*\(|\{\w+:\w+\}/i.test(text), 'no ASOF JOIN, FINAL, window functions or query parameters');
    assert.ok(text.includes(entity === 'user' ? '`db`.`events`' : '`db`.`events_by_item`'));
    assert.ok(text.includes("'o\\'brien'"), 'ids are quoted by sql.ts');
  }
});

test('time buckets only when the labels span more than the lookback, and never with ingestion time', () => {
  // the paired path (a 24-hour count is ranked by default); an ingestion-time feature
  // only shares its lookback class's join
  const narrow = query('user', ['user_views_24h'], { rankedAboveMs: Number.POSITIVE_INFINITY });
  const wide = query('user', ['user_views_24h'], { minT: T - 30 * DAY, rankedAboveMs: Number.POSITIVE_INFINITY });
  const ingest = query('user', ['user_views_1h', 'x_views_1h_ingest'], { minT: T - 30 * DAY });
  assert.ok(!narrow.includes('_bk') && wide.includes('USING (_eid, _bk)') && !ingest.includes('_bk'));
  // a label is copied into the buckets of every event time within its lookback; an event is in one
  const B = Math.ceil((DAY + 5 * 60_000) / 4);
  assert.ok(wide.includes(`intDiv(_T - ${DAY + 5 * 60_000}, toInt64(${B}))`) && wide.includes(`toInt64(intDiv(_t, toInt64(${B}))) AS _bk`));
});

test('features split into the ranked group and paired groups by lookback class', () => {
  const groups = featureGroups(registry.forEntity('user').filter((d) => d.aggregation !== 'ratio') as TileFeature[], { sessions: 'bounded', lookup: (n) => registry.get(n) });
  const names = groups.map((g) => `${g.kind}: ${g.tiles.map((d) => d.name).filter((n) => n.startsWith('user_')).join(' ')}`);
  assert.ok(names[0]?.startsWith('ranked: user_views_24h'), names[0]);
  assert.ok(names.includes('paired: user_views_10m_tumbling user_events_30m_hop_5m user_views_1h user_distinct_items_1h'), names.join('; '));
  const text = query('user', ['user_last_5_items', 'user_distinct_items_1h']);
  assert.ok(text.includes('arrayCumSum') && text.includes('ALL INNER JOIN'), 'one ranked and one paired group');
  // a paired path of counts, sums and averages only is ranked too (its join would meet every event)
  const counts = featureGroups(['user_last_5_items', 'user_views_1h', 'user_events_30m_hop_5m'].map((n) => registry.get(n) as TileFeature), { sessions: 'bounded', lookup: (n) => registry.get(n) });
  assert.deepEqual(counts.map((g) => `${g.kind} ${g.tiles.length}`), ['ranked 3']);
  assert.ok(!query('user', ['user_views_1h']).includes('ALL INNER JOIN'));
  const unbounded = featureGroups([registry.get('user_session_events') as TileFeature], { sessions: 'unbounded', lookup: (n) => registry.get(n) });
  assert.deepEqual(unbounded.map((g) => g.kind), ['paired'], 'unbounded sessions have no window bounds to rank');
});

test('the source reads only the range the windows can reach, with day-partition pruning', () => {
  const text = query('user', ['user_views_1h']);
  assert.ok(text.includes(`event_time >= ${T - HOUR - 60_000} AND event_time < ${T}`));
  assert.ok(text.includes("event_date >= toDate('2024-01-09') AND event_date <= toDate('2024-01-10')"));
  const unbounded = query('user', ['user_session_events'], { sessions: 'unbounded' });
  assert.ok(!/event_time >= /.test(unbounded) && unbounded.includes(`event_time < ${T}`));
});

test('lookbacks cover each window kind (sliding tail is hop-aligned, so one hop more)', () => {
  const lb = (name: string) => lookbackMs(registry.get(name) as never, { sessions: 'bounded', lookup: (n) => registry.get(n) });
  assert.equal(lb('user_views_1h'), HOUR + 60_000);
  assert.equal(lb('user_views_10m_tumbling'), 20 * 60_000);
  assert.equal(lb('user_events_30m_hop_5m'), 35 * 60_000);
  assert.equal(lb('user_seconds_since_last_event'), 7 * DAY);
  assert.equal(lb('user_session_events'), DAY);
});

test('floorSql casts the divisor: Int64 % UInt16 is Int16 in ClickHouse and would wrap', () => {
  assert.equal(floorSql(sql`_T`, 60_000).text, '(_T - (((_T) % toInt64(60000)) + toInt64(60000)) % toInt64(60000))');
});

test('refusals: no features, a feature of the other entity', () => {
  assert.throws(() => query('user', []), /no features/);
  assert.throws(() => query('user', ['item_views_1h']), /item feature/);
});
