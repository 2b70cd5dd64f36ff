// The ranked path (ranked.ts) and the paired path (paired.ts) on the cases where ranks and
// slices could go wrong, each forced for every feature it can compute and compared with
// the reference evaluator, exactly:
// - more than N in-window events at one timestamp (last-N order by event_id then user_id,
//   with ids whose UTF-16 and code point orders differ), top-K ties at equal counts;
// - labels exactly at event times, one ms either side, and on window starts, hop and
//   tumbling boundaries (an event at the 7-day window's first ms, one ms before it);
// - empty windows (events only after T, at exactly T, or no events at all);
// - a session longer than the bounded 24-hour scan (the flagged, unbounded recompute).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import type { ClickEvent } from '../../core/event.js';
import { createRegistry, type Registry } from '../../core/features/registry.js';
import { DAY, HOUR, MINUTE } from '../../core/windows.js';
import { migrate } from '../migrate.js';
import { createTestDatabase, insertEvents, type TestDatabase } from '../test-support.js';
import { offlineFeaturesAt, type LabelPair } from './offline-features.js';
import { assertMatchesReference, byEntity, TEST_FEATURES, type CompareStats } from './test-fixtures.js';

const T0 = Date.UTC(2024, 6, 1); // hour-aligned, so also on every minute, 5- and 10-minute boundary
let t: TestDatabase;
let ch: ClickHouseClient;
let registry: Registry;
const events: ClickEvent[] = [];

function ev(user: string, id: string, time: number, extra: Partial<ClickEvent> = {}): ClickEvent {
  return { event_id: id, user_id: user, event_type: 'view', event_time: time, ingest_time: time, quantity: 1, ...extra };
}

before(async () => {
  t = await createTestDatabase('ranked');
  await migrate(t.admin, t.db);
  ch = t.client();
  registry = createRegistry({ features: TEST_FEATURES, latenessMs: 0 });
  // 'burst': 8 events at T0 (ids in both string orders, categories tied two by two), two
  // purchases at T0, and events on and around the 7-day and 24-hour window starts.
  const ids = ['b0', 'b1', 'b\uFF61', 'b\u{1F600}', 'b2', 'b\uFF61x', 'b10', 'b9'];
  const cats = ['x', 'y', '\uFF61', '\u{1F600}', 'x', 'y', 'z', '\uFF61'];
  ids.forEach((id, i) => events.push(ev('burst', id, T0, { item_id: `i${i % 5}`, category: cats[i] as string, ...(i % 3 === 0 ? {} : { price: i + 0.25 }) })));
  events.push(ev('burst', 'p1', T0, { event_type: 'purchase', item_id: 'i1', category: 'y', price: 1.1, quantity: 3 }));
  events.push(ev('burst', 'p2', T0, { event_type: 'purchase', item_id: 'i2', category: 'x', price: 2.2, quantity: 2 }));
  for (const [k, time] of [T0 - 7 * DAY, T0 - 7 * DAY - 1, T0 - 7 * DAY + HOUR - 1, T0 - DAY, T0 - DAY - 1, T0 - DAY - 5 * MINUTE, T0 - 10 * MINUTE, T0 - 1].entries()) {
    events.push(ev('burst', `w${k}`, time, { event_type: k % 2 === 0 ? 'view' : 'purchase', item_id: `i${k % 3}`, category: cats[k] as string, price: 3 + k }));
  }
  // 'late': events only at T0 + 2 days (every label before it has empty windows).
  for (let k = 0; k < 3; k++) events.push(ev('late', `l${k}`, T0 + 2 * DAY, { item_id: 'i7', category: 'z', price: 5 }));
  // 'long': an event every 20 minutes for 26 hours up to T0: one session longer than the 24-hour scan.
  for (let time = T0 - 26 * HOUR; time <= T0; time += 20 * MINUTE) events.push(ev('long', `s${time}`, time, { item_id: 'i8', category: 'q' }));
  await insertEvents(ch, t.db, events);
});
after(async () => t.drop());

test('ranked and paired paths equal the reference at equal timestamps, window boundaries and empty windows', { timeout: 300_000 }, async () => {
  const Ts = [T0 - 1, T0, T0 + 1, T0 + 5 * MINUTE, T0 + 10 * MINUTE, T0 + 30 * MINUTE, T0 + 30 * MINUTE + 1, T0 + HOUR, T0 + DAY, T0 + DAY + 1,
    T0 + DAY + 5 * MINUTE, T0 + 7 * DAY - 1, T0 + 7 * DAY, T0 + 7 * DAY + 1, T0 + 7 * DAY + HOUR, T0 + 7 * DAY + HOUR + 1, T0 + 2 * DAY, T0 + 2 * DAY + 1];
  const own = byEntity(events);
  const ids = { user: ['burst', 'late', 'long', 'nobody'], item: [...own.item.keys(), 'no-such-item'] };
  const stats: CompareStats = { probes: 0, nonEmpty: {} };
  for (const entity of ['user', 'item'] as const) {
    const names = registry.forEntity(entity).map((d) => d.name);
    const pairs: LabelPair[] = Ts.flatMap((T) => ids[entity].map((id) => ({ id, T })));
    // every rankable feature ranked, the default split (many labels), every feature paired
    // by lookback, and the one join a few labels get by default
    const paths = [{ rankedAboveMs: -1 }, { grouping: 'split' as const }, { rankedAboveMs: Number.POSITIVE_INFINITY }, { grouping: 'single' as const }, {}];
    for (const path of paths) {
      const rows = await offlineFeaturesAt(ch, t.db, entity, pairs, names, { registry, ...path });
      assertMatchesReference(rows, entity, registry.features, own, names, stats);
      if (entity === 'user') {
        const burst = rows.find((r) => r.id === 'burst' && r.T === T0 + 1);
        assert.equal((burst?.values.user_last_5_items as string[] | undefined)?.length, 5, 'more than 5 events at T0: the last 5 of them');
      }
    }
  }
  for (const name of ['user_last_5_items', 'user_top_3_categories_7d', 'user_session_events', 'user_revenue_7d', 'user_min_view_price_24h', 'user_distinct_categories_24h', 'user_seconds_since_last_event']) {
    assert.ok((stats.nonEmpty[name] ?? 0) >= 9, `${name} is non-empty in too few probes (${stats.nonEmpty[name] ?? 0})`);
  }
});
