// Property test of evaluation snapshots (core/evaluate.ts evaluateSnapshot), which the API
// reuses for "latest" reads while the clock stays in range: at every query time T' in
// [from, until), the snapshot's values equal a fresh evaluation at T', for every window
// kind, with and without eviction. Also checks that ranges are wide enough to be useful.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_CATALOG } from './features/catalog.js';
import { createRegistry } from './features/registry.js';
import { evaluateMany, evaluateSnapshot } from './evaluate.js';
import { DAY, HOUR, MINUTE, SECOND } from './windows.js';
import { arbStream, arbQuerySpecs, BASE, evict, feature, ITEMS, resolveQueries, runPipeline, tileSetOf, USERS, type StreamShape } from './testkit.js';

const FEATURES = [
  ...DEFAULT_CATALOG,
  feature('t_views_10m', 'user', 'count', { kind: 'sliding', sizeMs: 10 * MINUTE, hopMs: MINUTE }, { filter: { eventTypes: ['view'] } }),
  feature('t_last_3_items', 'user', 'last_n', { kind: 'sliding', sizeMs: 10 * MINUTE, hopMs: 5 * MINUTE }, { value: 'item_id', limit: 3 }),
  feature('t_top_prices', 'item', 'top_k', { kind: 'sliding', sizeMs: 10 * MINUTE, hopMs: 2 * MINUTE }, { value: 'price', limit: 2 }),
  feature('t_events_5m_tumbling', 'user', 'count', { kind: 'tumbling', sizeMs: 5 * MINUTE }),
  feature('t_min_price_6m_hop_2m', 'user', 'min', { kind: 'hopping', sizeMs: 6 * MINUTE, slideMs: 2 * MINUTE }, { value: 'price' }),
  feature('t_s5_count', 'user', 'session_count', { kind: 'session', gapMs: 5 * MINUTE }),
  feature('t_s90s_duration', 'user', 'session_duration', { kind: 'session', gapMs: 90 * SECOND }),
  feature('t_item_s5_duration', 'item', 'session_duration', { kind: 'session', gapMs: 5 * MINUTE, lookbackMs: 30 * MINUTE }),
  feature('t_recency_10m', 'user', 'recency', { kind: 'recency', horizonMs: 10 * MINUTE }),
  feature('t_recency_views_5m', 'item', 'recency', { kind: 'recency', horizonMs: 5 * MINUTE }, { filter: { eventTypes: ['view'] } }),
];
const SHAPE: StreamShape = { unit: MINUTE, spanUnits: 60, deltas: [90 * SECOND, 5 * MINUTE, 10 * MINUTE, HOUR] };

test('an evaluation snapshot equals a fresh evaluation at every time in its range', () => {
  let checked = 0;
  let wide = 0;
  let snapshots = 0;
  const arb = fc.record({
    arrivals: arbStream(SHAPE),
    latenessMs: fc.constantFrom(0, MINUTE, DAY),
    specs: arbQuerySpecs,
    evictAt: fc.option(fc.integer({ min: 0, max: 90 * MINUTE })),
    picks: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 }),
  });
  fc.assert(fc.property(arb, ({ arrivals, latenessMs, specs, evictAt, picks }) => {
    const registry = createRegistry({ features: FEATURES, latenessMs });
    const run = runPipeline(registry, arrivals);
    const now = evictAt === null ? undefined : BASE + evictAt;
    const hashes = now === undefined ? run.hashes : evict(registry, run.hashes, now, 1);
    for (const [entity, ids] of [['user', USERS], ['item', ITEMS]] as const) {
      const names = registry.forEntity(entity).map((d) => d.name);
      for (const id of ids) {
        const tiles = tileSetOf(registry, hashes, entity, id);
        const ctx = { registry, now };
        for (const T of resolveQueries(specs, arrivals, SHAPE)) {
          const snap = evaluateSnapshot(names, tiles, T, ctx);
          assert.ok(snap.from <= T && T < snap.until, `T=${T} outside its own range [${snap.from}, ${snap.until})`);
          // Ranges are unbounded only on sides no comparison limited; probe within a day.
          const lo = Math.max(snap.from, T - DAY);
          const hi = Math.min(snap.until, T + DAY);
          snapshots++;
          if (hi - lo > SECOND) wide++;
          // The edges, T's neighbours (queries sit on edges +-1 ms) and random points.
          const near = [T - 1, T + 1, T + 2].filter((x) => x >= lo && x < hi);
          const times = [lo, hi - 1, T, ...near, ...picks.map((p) => lo + Math.floor(p * (hi - lo - 1)))];
          for (const at of times) {
            assert.deepEqual(snap.valuesAt(at), evaluateMany(names, tiles, at, ctx), `${entity} ${id}: snapshot at T=${T} [${snap.from}, ${snap.until}) read at ${at}`);
            checked++;
          }
        }
      }
    }
  }), { numRuns: 300, includeErrorInReport: true });
  assert.ok(checked > 10_000, `only ${checked} comparisons`);
  // Many query times here sit 1 ms from an edge on purpose; still, a good share of
  // snapshots must span more than a second, or the API would never reuse one.
  assert.ok(wide / snapshots > 0.3, `only ${wide} of ${snapshots} snapshots span more than 1 s`);
});
