// Batch pre-aggregation: accepted events -> per (entity, entity id, tile size) the ops that
// add them to that Redis hash. Events are first merged into one IR per tile and series, so
// a batch costs a few ops per touched tile, not per event. Also returns each tile's expiry
// (event-time ms) so the store can set TTLs and evict old tiles.
import type { ClickEvent } from './event.js';
import { emptyTile, updateTile, type Tile } from './aggregators.js';
import { encodeTileOps, type TileSet } from './codec.js';
import { entityIdOf, selectSample } from './sample.js';
import { floorTo } from './windows.js';
import { tileExpireAt } from './features/series.js';
import type { Entity } from './features/definition.js';
import type { Registry } from './features/registry.js';
import type { Series } from './features/series.js';
import type { TileOp } from './ops.js';

/** The IR of one batch for one hash. */
export interface TileGroup {
  entity: Entity;
  entityId: string;
  tileMs: number;
  tiles: TileSet;
}

export interface TileExpiry {
  start: number;
  /** tile end + the largest window + lateness among the series written in this tile */
  expireAt: number;
}

/** Everything one batch writes into one hash. */
export interface TileWrite {
  entity: Entity;
  entityId: string;
  tileMs: number;
  /** apply atomically, in any order relative to other writes (ops commute) */
  ops: TileOp[];
  /** per tile touched; the store keeps the max it has seen per tile */
  tiles: TileExpiry[];
  /** max of tiles[].expireAt: the hash's TTL must reach at least this */
  expireAt: number;
}

/**
 * Merges accepted events into one IR per (entity, id, tile size, series, tile). `only`
 * restricts it to some series (backfill of named features).
 */
export function aggregateEvents(events: Iterable<ClickEvent>, registry: Registry, only?: ReadonlySet<string>): TileGroup[] {
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

/** The writes of one batch of accepted events (split batches add up to the same hashes). */
export function preaggregate(events: Iterable<ClickEvent>, registry: Registry): TileWrite[] {
  return aggregateEvents(events, registry).map((group) => toWrite(group, registry));
}

/** Encodes one group's IRs as ops plus tile expiries. */
export function toWrite(group: TileGroup, registry: Registry): TileWrite {
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
