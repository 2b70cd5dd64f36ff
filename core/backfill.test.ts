// Backfill math against the streaming path, in memory: for random streams (out-of-order,
// late, duplicate events), recomputing every chunk of a plan (with a random chunk size)
// on top of a corrupted store — random fields changed, stale tiles added — gives exactly
// the hashes the streaming pipeline built; and a second recomputation changes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { alignRange, BackfillRangeError, planChunks, recomputeChunk, seriesForFeatures } from './backfill.js';
import type { ClickEvent } from './event.js';
import { DEFAULT_CATALOG } from './features/catalog.js';
import type { Entity } from './features/definition.js';
import { createRegistry, type Registry } from './features/registry.js';
import { tileExpireAt } from './features/series.js';
import { applyOps } from './ops.js';
import { parseField } from './codec.js';
import { arbStream, hashKey, runPipeline } from './testkit.js';
import { floorTo } from './windows.js';

const registry = createRegistry({ features: DEFAULT_CATALOG, latenessMs: 10 * 60_000 });
type Hashes = Map<string, Record<string, string>>;

/** Per hash key: the eviction clock (_evc) the store keeps; tiles expiring up to it may be gone. */
type Clocks = Map<string, number>;

/** What the Lua script does in replace mode: delete the chunk's fields of the cleared series, apply, raise _evc. */
function replay(registry: Registry, hashes: Hashes, accepted: readonly ClickEvent[], eventsPerChunk: number, names?: string[], clocks: Clocks = new Map()): { hashes: Hashes; clocks: Clocks; dropped: number } {
  const out: Hashes = new Map([...hashes].map(([k, v]) => [k, { ...v }]));
  const evc: Clocks = new Map(clocks);
  let dropped = 0;
  const series = seriesForFeatures(registry, names);
  const times = accepted.map((e) => e.event_time);
  const range = alignRange(series, Math.min(...times), Math.max(...times) + 1);
  const counts = new Map<number, number>();
  for (const t of times) counts.set(floorTo(t, range.tileMs), (counts.get(floorTo(t, range.tileMs)) ?? 0) + 1);
  for (const chunk of planChunks(range, counts, eventsPerChunk)) {
    const inChunk = accepted.filter((e) => e.event_time >= chunk.from && e.event_time < chunk.to);
    for (const w of recomputeChunk(inChunk, registry, series, chunk.from, chunk.to)) {
      for (const t of w.tiles) {
        const key = hashKey(w.entity, w.id, t.tileMs);
        const clear = new Set(w.clear.get(t.tileMs) ?? []);
        const hash = { ...(out.get(key) ?? {}) };
        for (const field of Object.keys(hash)) {
          const f = parseField(field);
          if (f && clear.has(f.seriesId) && f.tileIndex * t.tileMs >= chunk.from && f.tileIndex * t.tileMs < chunk.to) delete hash[field];
        }
        out.set(key, applyOps(hash, t.ops));
        const ev = w.eviction.get(t.tileMs);
        if (ev !== undefined && ev.evictedUntil >= 0) {
          assert.ok(ev.evictedUntil <= ev.clock, 'only tiles dead at the entity\'s own clock are dropped');
          evc.set(key, Math.max(evc.get(key) ?? -1, ev.evictedUntil));
          dropped += 1;
        }
      }
    }
  }
  for (const [k, v] of out) if (Object.keys(v).length === 0) out.delete(k);
  return { hashes: out, clocks: evc, dropped };
}

/** The hashes without the tiles readers treat as possibly gone: a series' tile expiring (its own retention) at or before the eviction clock. */
function live(registry: Registry, hashes: Hashes, clocks: Clocks): Hashes {
  const out: Hashes = new Map();
  for (const [key, hash] of hashes) {
    const [, , tileMs] = JSON.parse(key) as [Entity, string, number];
    const clock = clocks.get(key) ?? -1;
    const kept = Object.fromEntries(Object.entries(hash).filter(([field]) => {
      const f = parseField(field);
      const s = f && registry.series.get(f.seriesId);
      return f === undefined || s === undefined || tileExpireAt(s, f.tileIndex * tileMs) > clock;
    }));
    if (Object.keys(kept).length > 0) out.set(key, kept);
  }
  return out;
}

const shape = { unit: 60_000, spanUnits: 6 * 60, deltas: [60_000, 5 * 60_000, 30 * 60_000, 3600_000], maxEvents: 40 };

test('chunked backfill over a corrupted store equals the streamed hashes but its dead tiles, and is idempotent', () => {
  let dropped = 0;
  fc.assert(fc.property(arbStream(shape), fc.integer({ min: 1, max: 40 }), fc.array(fc.nat(), { maxLength: 6 }), (arrivals, perChunk, corrupt) => {
    const { accepted, hashes } = runPipeline(registry, arrivals);
    fc.pre(accepted.length > 0);
    const streamed: Hashes = new Map([...hashes].filter(([, v]) => Object.keys(v).length > 0));
    // Corruption: bump some fields, plant stale fields of the same series in their tiles.
    const damaged: Hashes = new Map([...streamed].map(([k, v]) => [k, { ...v }]));
    const keys = [...damaged.keys()];
    for (const c of corrupt) {
      const hash = damaged.get(keys[c % keys.length] as string) as Record<string, string>;
      const fields = Object.keys(hash);
      const field = fields[c % fields.length] as string;
      if (/^-?\d+$/.test(hash[field] ?? '')) hash[field] = String(Number(hash[field]) + 1 + (c % 5));
      const f = parseField(field);
      if (f) hash[`${f.tileIndex.toString(36)}:${f.seriesId}:n`] = '999';
    }
    const once = replay(registry, damaged, accepted, perChunk);
    // Dead tiles are dropped, not written (and earlier chunks' tiles a later clock killed
    // may linger, as after a lazy eviction); every tile readers may use is the streamed one.
    assert.deepEqual(live(registry, once.hashes, once.clocks), live(registry, streamed, once.clocks));
    const twice = replay(registry, once.hashes, accepted, perChunk, undefined, once.clocks);
    assert.deepEqual(twice.hashes, once.hashes);
    assert.deepEqual(twice.clocks, once.clocks);
    dropped += once.dropped;
  }), { numRuns: 300 });
  assert.ok(dropped > 0, 'no run dropped a dead tile');
});

test('a backfill of named features leaves the other series alone', () => {
  fc.assert(fc.property(arbStream(shape), (arrivals) => {
    const { accepted, hashes } = runPipeline(registry, arrivals);
    fc.pre(accepted.length > 0);
    const streamed: Hashes = new Map([...hashes].filter(([, v]) => Object.keys(v).length > 0));
    const keep = new Set(seriesForFeatures(registry, ['user_cart_rate_24h']).map((s) => s.id));
    assert.equal(keep.size, 2, 'a ratio backfills both of its inputs');
    // Wipe only the named series, then backfill them: everything is back.
    const wiped: Hashes = new Map([...streamed].map(([k, v]) => [k, Object.fromEntries(Object.entries(v).filter(([f]) => !keep.has(parseField(f)?.seriesId ?? '')))]));
    const back = replay(registry, wiped, accepted, 10, ['user_cart_rate_24h']);
    assert.deepEqual(live(registry, back.hashes, back.clocks), live(registry, streamed, back.clocks));
  }), { numRuns: 200 });
});

test('plans: whole tiles, within the event budget unless one tile exceeds it, empty stretches skipped', () => {
  const series = seriesForFeatures(registry);
  const range = alignRange(series, 1_000, 10 * 3600_000 + 5);
  assert.equal(range.tileMs, 3600_000);
  assert.deepEqual([range.from, range.to], [0, 11 * 3600_000]);
  const counts = new Map([[0, 5], [3600_000, 5], [2 * 3600_000, 20], [5 * 3600_000, 1]]);
  assert.deepEqual(planChunks(range, counts, 10), [
    { from: 0, to: 2 * 3600_000, events: 10 },
    { from: 2 * 3600_000, to: 3 * 3600_000, events: 20 },
    { from: 5 * 3600_000, to: 6 * 3600_000, events: 1 },
  ]);
  assert.throws(() => alignRange(series, 5, 5), BackfillRangeError);
});
