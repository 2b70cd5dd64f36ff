// The batch pre-aggregation (core/preaggregate.ts) against its first, plain version, kept
// here as the reference: the faster grouping (by entity, then hash index) and encoding must
// give exactly the same groups, in the same order, and the same writes, for random streams
// with every kind of event, for the whole catalog and for a subset of series (backfill).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { emptyTile, updateTile, type Tile } from './aggregators.js';
import { decodeHash, encodeTileOps } from './codec.js';
import { decodeEvent, type ClickEvent } from './event.js';
import type { Entity } from './features/definition.js';
import { createRegistry, type Registry } from './features/registry.js';
import { tileExpireAt, type Series } from './features/series.js';
import { applyOps, argvToOps, asSetsOnCleared, opsToArgv, type TileOp } from './ops.js';
import { aggregateEvents, preaggregate, preaggregateWire, toSetWrite, toWrite, type TileGroup, type TileWrite } from './preaggregate.js';
import { entityIdOf, selectSample } from './sample.js';
import { floorTo } from './windows.js';
import { generateClickstream } from '../fixtures/generator.js';

// The first version of aggregateEvents, unchanged.
function referenceGroups(events: Iterable<ClickEvent>, registry: Registry, only?: ReadonlySet<string>): TileGroup[] {
  const groups = new Map<string, TileGroup>();
  // Series by (entity, tile size): an event's group key is built once per hash, not per series.
  const bySize = new Map<string, { entity: Entity; tileMs: number; series: Series[] }>();
  for (const s of registry.series.values()) {
    if (only !== undefined && !only.has(s.id)) continue;
    const k = `${s.entity}\u0000${s.tileMs}`;
    let g = bySize.get(k);
    if (g === undefined) bySize.set(k, (g = { entity: s.entity, tileMs: s.tileMs, series: [] }));
    g.series.push(s);
  }
  const hashes = [...bySize.values()];
  for (const event of events) {
    for (const h of hashes) {
      const entityId = entityIdOf(event, h.entity);
      if (entityId === undefined) continue;
      let group: TileGroup | undefined;
      for (const s of h.series) {
        const sample = selectSample(event, s);
        if (sample === undefined) continue;
        if (group === undefined) {
          const key = `${h.entity}\u0000${entityId}\u0000${h.tileMs}`;
          group = groups.get(key);
          if (group === undefined) groups.set(key, (group = { entity: h.entity, entityId, tileMs: h.tileMs, tiles: new Map() }));
        }
        let tiles = group.tiles.get(s.id);
        if (tiles === undefined) group.tiles.set(s.id, (tiles = new Map<number, Tile>()));
        const start = floorTo(sample.time, s.tileMs);
        let tile = tiles.get(start);
        if (tile === undefined) tiles.set(start, (tile = emptyTile(s.ir)));
        updateTile(s.ir, s.limit, tile, sample);
      }
    }
  }
  // Deterministic order (entity, id, tile size) so equal batches give equal write lists.
  return [...groups.values()].sort((a, b) => (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0)
    || (a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0) || a.tileMs - b.tileMs);
}

// The first version of toWrite, unchanged.
function referenceWrite(group: TileGroup, registry: Registry): TileWrite {
  const ops: TileOp[] = [];
  const expiry = new Map<number, number>();
  for (const [id, tiles] of [...group.tiles].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const s = registry.series.get(id);
    if (s === undefined) throw new RangeError(`series ${id} is not in the registry`);
    for (const [start, tile] of [...tiles].sort((a, b) => a[0] - b[0])) {
      ops.push(...encodeTileOps(s, start, tile));
      expiry.set(start, Math.max(expiry.get(start) ?? -Infinity, tileExpireAt(s, start)));
    }
  }
  const tiles = [...expiry].sort((a, b) => a[0] - b[0]).map(([start, expireAt]) => ({ start, expireAt }));
  return {
    entity: group.entity,
    entityId: group.entityId,
    tileMs: group.tileMs,
    ops,
    tiles,
    expireAt: Math.max(...tiles.map((t) => t.expireAt)),
  };
}

const registry = createRegistry({ latenessMs: 10 * 60_000 });

function streamOf(seed: number, count: number, users: number, items: number): ClickEvent[] {
  const out: ClickEvent[] = [];
  for (const r of generateClickstream({ seed, startMs: Date.UTC(2024, 4, 1) + seed * 977, rate: 3, count, users, items, late: 0.02, duplicates: 0.02, malformed: 0.02, outOfOrder: 0.3 })) {
    const res = decodeEvent(r.value, r.clockMs);
    if (res.ok) out.push(res.event);
  }
  return out;
}

test('aggregateEvents and toWrite equal the reference version (groups, order, writes)', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 60 }), (seed, count, users, items) => {
    const events = streamOf(seed, count, users, items);
    const groups = aggregateEvents(events, registry);
    assert.deepStrictEqual(groups, referenceGroups(events, registry));
    assert.deepStrictEqual(groups.map((g) => toWrite(g, registry)), referenceGroups(events, registry).map((g) => referenceWrite(g, registry)));
    assert.deepStrictEqual(preaggregate(events, registry), referenceGroups(events, registry).map((g) => referenceWrite(g, registry)));
  }), { numRuns: 200 });
});

test('aggregateEvents with a subset of series (backfill) equals the reference version', () => {
  const ids = [...registry.series.keys()];
  fc.assert(fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.subarray(ids), (seed, only) => {
    const events = streamOf(seed, 150, 8, 20);
    const set = new Set(only);
    assert.deepStrictEqual(aggregateEvents(events, registry, set), referenceGroups(events, registry, set));
  }), { numRuns: 200 });
});

test('preaggregateWire: the same writes, with the ops in exactly the wire form opsToArgv gives them', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 60 }), (seed, count, users, items) => {
    const events = streamOf(seed, count, users, items);
    const expected = referenceGroups(events, registry).map((g) => referenceWrite(g, registry));
    const wired = preaggregateWire(events, registry);
    assert.equal(wired.length, expected.length);
    wired.forEach((w, n) => {
      const e = expected[n] as TileWrite;
      assert.deepStrictEqual(w.wire, opsToArgv(e.ops));
      assert.deepStrictEqual(argvToOps(w.wire ?? []), e.ops);
      assert.deepStrictEqual(w.ops, e.ops);
      const { wire: _wire, ops: _ops, ...rest } = w;
      const { ops: _eops, ...erest } = e;
      assert.deepStrictEqual(rest, erest);
    });
  }), { numRuns: 200 });
});

test('toSetWrite: the writes of toWrite as plain sets, hi/lo/n/s as one `t` summary per tile, decoding to the same tiles (the backfill\'s writes)', () => {
  const ids = [...registry.series.keys()];
  const summary = /:t$/;
  let summaries = 0;
  fc.assert(fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 300 }), fc.subarray(ids, { minLength: 1 }), (seed, count, only) => {
    const events = streamOf(seed, count, 10, 30);
    for (const g of aggregateEvents(events, registry, new Set(only))) {
      const w = toWrite(g, registry);
      const set = toSetWrite(g, registry);
      const { ops: _w, ...wRest } = w;
      const { ops: sOps, ...sRest } = set;
      assert.deepStrictEqual(sRest, wRest);
      assert.ok(sOps.every((op) => op.op === 'set'));
      // Every field but hi, lo, n and s is exactly what asSetsOnCleared stores, in the same order.
      const scalar = /:(t|s)$/; // the stream's tsum of `t` and incr of s
      assert.deepStrictEqual(sOps.filter((op) => !summary.test(op.field)), asSetsOnCleared(w.ops).filter((op) => !scalar.test(op.field)));
      summaries += sOps.filter((op) => summary.test(op.field)).length;
      // and the hash decodes to the same tiles as the one the commutative ops build.
      assert.deepStrictEqual(decodeHash(applyOps({}, sOps), g.tileMs), decodeHash(applyOps({}, w.ops), g.tileMs));
      assert.deepStrictEqual(decodeHash(applyOps({}, sOps), g.tileMs), g.tiles);
    }
  }), { numRuns: 200 });
  assert.ok(summaries > 0);
});
