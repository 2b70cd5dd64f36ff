// Offline feature SQL == core/reference.ts, exactly, on a realistic generated stream with
// out-of-order, late, duplicate and malformed records (accepted by the reference rules,
// then inserted directly, a tenth of them twice so reads must deduplicate), for every
// catalog feature plus extra definitions, at boundary-heavy query times.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import { decodeEvent, type ClickEvent } from '../../core/event.js';
import { createRegistry, type Registry } from '../../core/features/registry.js';
import type { Entity } from '../../core/features/definition.js';
import { referenceAccept } from '../../core/reference.js';
import { generateClickstream } from '../../fixtures/generator.js';
import { Rng } from '../../fixtures/random.js';
import { migrate } from '../migrate.js';
import { createTestDatabase, insertEvents, type TestDatabase } from '../test-support.js';
import { offlineFeatures, offlineFeaturesAt, type LabelPair } from './offline-features.js';
import { assertMatchesReference, byEntity, queryTimes, TEST_FEATURES, type CompareStats } from './test-fixtures.js';

const LATENESS = 10 * 60_000;
let t: TestDatabase;
let ch: ClickHouseClient;
let accepted: ClickEvent[];
let registry: Registry;

before(async () => {
  t = await createTestDatabase('feat');
  await migrate(t.admin, t.db);
  ch = t.client();
  registry = createRegistry({ features: TEST_FEATURES, latenessMs: LATENESS });
  const decoded: ClickEvent[] = [];
  const records = [...generateClickstream({
    seed: 'offline-features', startMs: Date.UTC(2024, 2, 4, 0, 0, 0), rate: 0.12, durationS: 3 * 86_400, users: 120, items: 300,
    late: 0.03, duplicates: 0.04, malformed: 0.02, outOfOrder: 0.1, allowedLatenessMs: LATENESS,
  })];
  for (const r of records) {
    const res = decodeEvent(r.value, r.clockMs + Math.floor(r.clockMs % 7_000));
    if (res.ok) decoded.push(res.event);
  }
  accepted = referenceAccept(decoded, LATENESS);
  assert.ok(accepted.length < decoded.length, 'the stream has late or duplicate events');
  await insertEvents(ch, t.db, accepted);
  // Re-delivered copies (same key, other offsets): a separate part until merged, so
  // readers must deduplicate.
  const rng = new Rng('copies');
  await insertEvents(ch, t.db, accepted.filter(() => rng.next() < 0.1), 1_000_000);
});
after(async () => t.drop());

function pairsFor(entity: Entity, times: readonly number[], perT: number, seed: string): LabelPair[] {
  const rng = new Rng(seed);
  const pairs: LabelPair[] = [];
  for (const T of times) {
    // Mostly entities active in the week before T, some random, one unknown.
    const near = accepted.filter((e) => e.event_time < T && e.event_time >= T - 7 * 86_400_000);
    for (let i = 0; i < perT; i++) {
      const e = near.length > 0 && rng.next() < 0.8 ? near[Math.floor(rng.next() * near.length)] : accepted[Math.floor(rng.next() * accepted.length)];
      const id = entity === 'user' ? e?.user_id : e?.item_id;
      if (id !== undefined) pairs.push({ id, T });
    }
    pairs.push({ id: entity === 'user' ? 'nobody' : 'no-such-item', T });
  }
  return pairs;
}

for (const entity of ['user', 'item'] as const) {
  test(`${entity} features at many (id, T) pairs equal the reference`, { timeout: 300_000 }, async () => {
    const names = registry.forEntity(entity).map((d) => d.name);
    const times = queryTimes(accepted, 60, `times-${entity}`);
    const pairs = pairsFor(entity, times, 12, `pairs-${entity}`);
    const events = byEntity(accepted);
    const stats: CompareStats = { probes: 0, nonEmpty: {} };
    // Literal labels, then the same staged in a Memory table and split into 3 queries: same answers.
    const fallbacks: number[] = [];
    const onQuery = (q: { labels: number; sessions: string }) => { if (q.sessions === 'unbounded') fallbacks.push(q.labels); };
    const literal = await offlineFeaturesAt(ch, t.db, entity, pairs, names, { registry, onQuery });
    if (entity === 'user') assert.ok(fallbacks.length === 1 && (fallbacks[0] ?? 0) > 0, 'some labels needed the unbounded session recomputation');
    assertMatchesReference(literal, entity, registry.features, events, names, stats);
    const staged = await offlineFeaturesAt(ch, t.db, entity, pairs, names, { registry, stageAbove: 100, labelsPerQuery: 300 });
    assert.deepStrictEqual(staged, literal);
    // Without ingestion-time features the labels (spread over 11 days) meet events on time
    // buckets: same answers.
    const eventTime = names.filter((n) => registry.get(n).aggregation === 'ratio' || (registry.get(n) as { time?: string }).time !== 'ingestion');
    const bucketed = await offlineFeaturesAt(ch, t.db, entity, pairs, eventTime, { registry });
    assert.deepStrictEqual(bucketed.map((r) => r.values), literal.map((r) => Object.fromEntries(eventTime.map((n) => [n, r.values[n]]))));
    console.log(`${entity}: ${stats.probes} probes over ${pairs.length} labels (${fallbacks.join('') || 0} recomputed with unbounded sessions), non-empty per feature: ${JSON.stringify(stats.nonEmpty)}`);
    assert.ok(stats.probes >= 500);
    for (const name of names) assert.ok((stats.nonEmpty[name] ?? 0) >= 5, `${name} is non-empty in too few probes (${stats.nonEmpty[name] ?? 0})`);
  });
}

test('offlineFeatures: many ids at one T (a tile boundary, and exactly an event time)', { timeout: 120_000 }, async () => {
  const users = [...new Set(accepted.map((e) => e.user_id))];
  const items = [...new Set(accepted.flatMap((e) => (e.item_id === undefined ? [] : [e.item_id])))];
  const events = byEntity(accepted);
  const stats: CompareStats = { probes: 0, nonEmpty: {} };
  const mid = accepted[Math.floor(accepted.length / 2)] as ClickEvent;
  for (const T of [Math.floor(mid.event_time / 3_600_000) * 3_600_000, mid.event_time]) {
    for (const [entity, ids] of [['user', users], ['item', items]] as const) {
      const names = registry.forEntity(entity).map((d) => d.name);
      const rows = await offlineFeatures(ch, t.db, entity, ids, names, T, { registry });
      assert.deepStrictEqual(rows.map((r) => r.id), ids);
      assertMatchesReference(rows, entity, registry.features, events, names, stats);
    }
  }
  assert.ok(stats.probes > 1_000);
});

test('unknown names, wrong entities and bad T are refused; no pairs gives no rows', async () => {
  await assert.rejects(offlineFeatures(ch, t.db, 'user', ['u1'], ['nope'], 1, { registry }), /unknown feature/);
  await assert.rejects(offlineFeatures(ch, t.db, 'user', ['u1'], ['item_views_1h'], 1, { registry }), /item feature/);
  await assert.rejects(offlineFeatures(ch, t.db, 'user', ['u1'], ['user_views_1h'], 1.5, { registry }), /non-negative integer/);
  assert.deepStrictEqual(await offlineFeaturesAt(ch, t.db, 'user', [], ['user_views_1h'], { registry }), []);
});
