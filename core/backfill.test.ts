// Backfill math against the streaming path, in memory: for random streams (out-of-order,
// late, duplicate events), recomputing every chunk of a plan (with a random chunk size)
// on top of a corrupted store — random fields changed, stale tiles added — gives exactly
// the hashes the streaming pipeline built; and a second recomputation changes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { alignRange, BackfillRangeError, entityBatcher, EntityOrderError, keyChunker, recomputeChunk, seriesForFeatures, type KeyChunk } from './backfill.js';
import type { ClickEvent } from './event.js';
import { DEFAULT_CATALOG } from './features/catalog.js';
import { ENTITIES, type Entity } from './features/definition.js';
import { createRegistry, type Registry } from './features/registry.js';
import { tileExpireAt } from './features/series.js';
import { applyOps } from './ops.js';
import { decodeHash, parseField, type TileSet } from './codec.js';
import { aggregateEvents, preaggregate, toSetWrite } from './preaggregate.js';
import { entityIdOf } from './sample.js';
import { arbStream, hashKey, runPipeline } from './testkit.js';

const registry = createRegistry({ features: DEFAULT_CATALOG, latenessMs: 10 * 60_000 });
type Hashes = Map<string, Record<string, string>>;

/** Per hash key: the eviction clock (_evc) the store keeps; tiles expiring up to it may be gone. */
type Clocks = Map<string, number>;

/**
 * What the backfill job does (offline/jobs/backfill.ts), with the Lua script's replace
 * mode: one pass per entity kind, its ids cut into chunks of whole entities by keyChunker,
 * each chunk recomputed over the whole range; per write, delete the range's fields of the
 * cleared series, apply, raise _evc.
 */
function replay(registry: Registry, hashes: Hashes, accepted: readonly ClickEvent[], eventsPerChunk: number, names?: string[], clocks: Clocks = new Map(), batchEvents = 1): { hashes: Hashes; clocks: Clocks; dropped: number } {
  const out: Hashes = new Map([...hashes].map(([k, v]) => [k, { ...v }]));
  const evc: Clocks = new Map(clocks);
  let dropped = 0;
  const series = seriesForFeatures(registry, names);
  const times = accepted.map((e) => e.event_time);
  const range = alignRange(series, Math.min(...times), Math.max(...times) + 1);
  for (const entity of ENTITIES) {
    const own = series.filter((s) => s.entity === entity);
    if (own.length === 0) continue;
    const counts = new Map<string, number>();
    for (const e of accepted) {
      const id = entityIdOf(e, entity);
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const chunker = keyChunker(eventsPerChunk);
    const chunks: KeyChunk[] = [];
    for (const id of [...counts.keys()].sort()) {
      const c = chunker.push(id, counts.get(id) as number);
      if (c) chunks.push(c);
    }
    const end = chunker.end();
    if (end) chunks.push(end);
    const seen = new Set<string>();
    for (const chunk of chunks) {
      const inChunk = accepted.filter((e) => {
        const id = entityIdOf(e, entity);
        return id !== undefined && (chunk.after === null || id > chunk.after) && (chunk.last === null || id <= chunk.last);
      });
      // As the job reads them: ordered by id (ClickHouse's ORDER BY; the order within an
      // entity is whatever the query returns), in batches of whole entities.
      const ordered = inChunk.map((e, i) => ({ e, id: entityIdOf(e, entity) as string, i }))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : (a.i * 7919) % 13 - (b.i * 7919) % 13)).map((x) => x.e);
      const batcher = entityBatcher(entity, batchEvents);
      const batches: ClickEvent[][] = [];
      for (const e of ordered) {
        const b = batcher.push(e);
        if (b !== undefined) batches.push(b);
      }
      const last = batcher.end();
      if (last !== undefined) batches.push(last);
      assert.equal(batches.reduce((n, b) => n + b.length, 0), ordered.length);
      for (const w of batches.flatMap((b) => [...recomputeChunk(b, registry, own, range.from, range.to)])) {
        assert.ok(!seen.has(w.id), `entity ${w.id} written by two chunks`);
        seen.add(w.id);
        for (const t of w.tiles) {
          const key = hashKey(w.entity, w.id, t.tileMs);
          const clear = new Set(w.clear.get(t.tileMs) ?? []);
          const hash = { ...(out.get(key) ?? {}) };
          for (const field of Object.keys(hash)) {
            const f = parseField(field);
            if (f && clear.has(f.seriesId) && f.tileIndex * t.tileMs >= range.from && f.tileIndex * t.tileMs < range.to) delete hash[field];
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

/**
 * Per hash, its decoded tiles: the backfill stores hi, lo, n and s as one summary field per
 * tile (core/codec.ts `t`) where the stream worker has four, so hashes compare decoded.
 */
function decoded(hashes: Hashes): Map<string, TileSet> {
  return new Map([...hashes].map(([key, hash]) => [key, decodeHash(hash, (JSON.parse(key) as [Entity, string, number])[2])]));
}

const shape = { unit: 60_000, spanUnits: 6 * 60, deltas: [60_000, 5 * 60_000, 30 * 60_000, 3600_000], maxEvents: 40 };

test('chunked backfill over a corrupted store equals the streamed hashes but its dead tiles, and is idempotent', () => {
  let dropped = 0;
  fc.assert(fc.property(arbStream(shape), fc.integer({ min: 1, max: 40 }), fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 1, max: 60 }), (arrivals, perChunk, corrupt, batchEvents) => {
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
    const once = replay(registry, damaged, accepted, perChunk, undefined, new Map(), batchEvents);
    // Dead tiles are dropped, not written (and earlier chunks' tiles a later clock killed
    // may linger, as after a lazy eviction); every tile readers may use is the streamed one.
    assert.deepEqual(decoded(live(registry, once.hashes, once.clocks)), decoded(live(registry, streamed, once.clocks)));
    const twice = replay(registry, once.hashes, accepted, perChunk, undefined, once.clocks, batchEvents);
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
    assert.deepEqual(decoded(live(registry, back.hashes, back.clocks)), decoded(live(registry, streamed, back.clocks)));
  }), { numRuns: 200 });
});

test('the stream worker writing on top of backfilled tiles (its tsum merged into their `t` summaries) gives the streamed tiles', () => {
  let mixed = 0;
  fc.assert(fc.property(arbStream(shape), fc.nat(), fc.integer({ min: 1, max: 40 }), (arrivals, cut, perChunk) => {
    const { accepted } = runPipeline(registry, arrivals);
    fc.pre(accepted.length > 1);
    const k = 1 + (cut % (accepted.length - 1));
    const [before, after] = [accepted.slice(0, k), accepted.slice(k)];
    const back = replay(registry, new Map(), before, perChunk);
    const online = (hashes: Hashes, events: readonly ClickEvent[]): Hashes => {
      const out: Hashes = new Map([...hashes].map(([key, v]) => [key, { ...v }]));
      for (const w of preaggregate(events, registry)) {
        const key = hashKey(w.entity, w.entityId, w.tileMs);
        out.set(key, applyOps(out.get(key) ?? {}, w.ops));
      }
      return out;
    };
    const both = online(back.hashes, after);
    const streamed = online(new Map(), accepted);
    for (const [key, hash] of both) {
      const backfilled = back.hashes.get(key) ?? {};
      if (Object.entries(hash).some(([f, v]) => f.endsWith(':t') && backfilled[f] !== undefined && backfilled[f] !== v)) mixed += 1;
    }
    assert.deepEqual(decoded(live(registry, both, back.clocks)), decoded(live(registry, streamed, back.clocks)));
  }), { numRuns: 300 });
  assert.ok(mixed > 0, 'no run had a backfilled summary that the stream then merged into');
});

test('recomputeChunk skips the tiles it drops: the same writes and evictions as building every tile, then dropping', () => {
  let skipped = 0;
  fc.assert(fc.property(arbStream(shape), fc.nat(), fc.nat(), (arrivals, a, b) => {
    const { accepted } = runPipeline(registry, arrivals);
    fc.pre(accepted.length > 0);
    const series = seriesForFeatures(registry);
    const whole = alignRange(series, Math.min(...accepted.map((e) => e.event_time)), Math.max(...accepted.map((e) => e.event_time)) + 1);
    // A range that may cut the events (both ends on hour tiles): out-of-range samples too.
    const hours = (whole.to - whole.from) / 3600_000;
    const from = whole.from + (a % hours) * 3600_000;
    const to = from + (1 + (b % hours)) * 3600_000;
    for (const w of recomputeChunk(accepted, registry, series, from, to)) {
      const own = accepted.filter((e) => entityIdOf(e, w.entity) === w.id);
      const ids = new Set(series.filter((s) => s.entity === w.entity).map((s) => s.id));
      // The reference: every tile built, then those out of range or dead at the clock dropped.
      const eviction = new Map<number, { clock: number; evictedUntil: number }>();
      const tiles = [];
      for (const group of aggregateEvents(own, registry, ids)) {
        let clock = -Infinity;
        for (const byStart of group.tiles.values()) {
          for (const [start, tile] of byStart) {
            if (start < from || start >= to) byStart.delete(start);
            else clock = Math.max(clock, tile.hi);
          }
        }
        let evictedUntil = -1;
        for (const [id, byStart] of group.tiles) {
          const s = registry.series.get(id) as NonNullable<ReturnType<typeof registry.series.get>>;
          for (const start of byStart.keys()) {
            if (tileExpireAt(s, start) > clock) continue;
            byStart.delete(start);
            skipped += 1;
            evictedUntil = Math.max(evictedUntil, tileExpireAt(s, start));
          }
          if (byStart.size === 0) group.tiles.delete(id);
        }
        if (clock > -Infinity) eviction.set(group.tileMs, { clock, evictedUntil });
        if (group.tiles.size > 0) tiles.push(toSetWrite(group, registry));
      }
      assert.deepStrictEqual(w.eviction, eviction);
      assert.deepStrictEqual(w.tiles.filter((t) => t.ops.length > 0), tiles);
    }
  }), { numRuns: 300 });
  assert.ok(skipped > 0, 'no run had a dead tile');
});

test('ranges widen to whole tiles of the largest tile size', () => {
  const series = seriesForFeatures(registry);
  const range = alignRange(series, 1_000, 10 * 3600_000 + 5);
  assert.equal(range.tileMs, 3600_000);
  assert.deepEqual([range.from, range.to], [0, 11 * 3600_000]);
  assert.throws(() => alignRange(series, 5, 5), BackfillRangeError);
});

test('key chunks: whole entities within the event budget unless one entity exceeds it; the last is open above', () => {
  const plan = (counts: Array<[string, number]>, max: number, after: string | null = null): KeyChunk[] => {
    const chunker = keyChunker(max, after);
    const out = counts.map(([id, n]) => chunker.push(id, n)).filter((c): c is KeyChunk => c !== undefined);
    const end = chunker.end();
    return end ? [...out, end] : out;
  };
  assert.deepEqual(plan([['a', 5], ['b', 5], ['c', 20], ['d', 1], ['e', 3]], 10), [
    { after: null, last: 'b', events: 10 },
    { after: 'b', last: 'c', events: 20 },
    { after: 'c', last: null, events: 4 },
  ]);
  assert.deepEqual(plan([['k', 1]], 10, 'j'), [{ after: 'j', last: null, events: 1 }]);
  assert.deepEqual(plan([], 10), []);
});

test('entity batches: whole entities, cut once a batch holds minEvents; an entity that comes back is refused', () => {
  const ev = (user: string, n: number): ClickEvent => ({ event_id: `${user}${n}`, user_id: user, event_type: 'view', event_time: n, ingest_time: n, quantity: 1 });
  const cut = (users: string[], min: number): string[][] => {
    const b = entityBatcher('user', min);
    const out = users.map((u, i) => b.push(ev(u, i))).filter((x): x is ClickEvent[] => x !== undefined);
    const end = b.end();
    return [...out, ...(end ? [end] : [])].map((batch) => batch.map((e) => e.user_id));
  };
  assert.deepEqual(cut(['a', 'a', 'b', 'c', 'c', 'c', 'd'], 2), [['a', 'a'], ['b', 'c', 'c', 'c'], ['d']]);
  assert.deepEqual(cut(['a', 'b', 'c'], 1), [['a'], ['b'], ['c']]);
  assert.deepEqual(cut(['a', 'b', 'c'], 100), [['a', 'b', 'c']]);
  assert.deepEqual(cut([], 1), []);
  // Items: events without an item_id are not the item pass's.
  const items = entityBatcher('item', 1);
  assert.equal(items.push(ev('a', 1)), undefined);
  assert.equal(items.end(), undefined);
  assert.throws(() => cut(['a', 'b', 'a'], 1), EntityOrderError);
  assert.throws(() => cut(['a', 'b', 'a'], 100), EntityOrderError);
});
