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
  // Per entity kind, its hashes (one per tile size, ascending) and their series. An event
  // looks its entity up once per kind and reaches its groups by index: no key string is
  // built per event and hash (that, and the garbage it made, was most of this function).
  const kinds = new Map<Entity, { hashes: { tileMs: number; series: Series[] }[]; byId: Map<string, (TileGroup | undefined)[]> }>();
  for (const s of registry.series.values()) {
    if (only !== undefined && !only.has(s.id)) continue;
    let kind = kinds.get(s.entity);
    if (kind === undefined) kinds.set(s.entity, (kind = { hashes: [], byId: new Map() }));
    let h = kind.hashes.find((x) => x.tileMs === s.tileMs);
    if (h === undefined) kind.hashes.push((h = { tileMs: s.tileMs, series: [] }));
    h.series.push(s);
  }
  for (const kind of kinds.values()) kind.hashes.sort((a, b) => a.tileMs - b.tileMs);
  const plan = [...kinds].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const event of events) {
    for (const [entity, kind] of plan) {
      const entityId = entityIdOf(event, entity);
      if (entityId === undefined) continue;
      let slots = kind.byId.get(entityId);
      for (let k = 0; k < kind.hashes.length; k++) {
        const h = kind.hashes[k] as { tileMs: number; series: Series[] };
        let group: TileGroup | undefined;
        for (const s of h.series) {
          const sample = selectSample(event, s);
          if (sample === undefined) continue;
          if (group === undefined) {
            if (slots === undefined) kind.byId.set(entityId, (slots = []));
            group = slots[k];
            if (group === undefined) slots[k] = group = { entity, entityId, tileMs: h.tileMs, tiles: new Map() };
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
  }
  // Deterministic order (entity, id, tile size) so equal batches give equal write lists.
  const out: TileGroup[] = [];
  for (const [, kind] of plan) {
    const ids = [...kind.byId.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const id of ids) for (const group of kind.byId.get(id) ?? []) if (group !== undefined) out.push(group);
  }
  return out;
}

/** The writes of one batch of accepted events (split batches add up to the same hashes). */
export function preaggregate(events: Iterable<ClickEvent>, registry: Registry): TileWrite[] {
  return aggregateEvents(events, registry).map((group) => toWrite(group, registry));
}

/** Encodes one group's IRs as ops plus tile expiries. */
export function toWrite(group: TileGroup, registry: Registry): TileWrite {
  const ops: TileOp[] = [];
  const expiry = new Map<number, number>();
  // Series ids are distinct: the default sort (UTF-16 code units) is the `<` order.
  for (const id of [...group.tiles.keys()].sort()) {
    const s = registry.series.get(id);
    if (s === undefined) throw new RangeError(`series ${id} is not in the registry`);
    const tiles = group.tiles.get(id) as Map<number, Tile>;
    for (const start of [...tiles.keys()].sort((a, b) => a - b)) {
      for (const op of encodeTileOps(s, start, tiles.get(start) as Tile)) ops.push(op);
      const at = tileExpireAt(s, start);
      const seen = expiry.get(start);
      if (seen === undefined || at > seen) expiry.set(start, at);
    }
  }
  const tiles = [...expiry].sort((a, b) => a[0] - b[0]).map(([start, expireAt]) => ({ start, expireAt }));
  let expireAt = -Infinity;
  for (const t of tiles) if (t.expireAt > expireAt) expireAt = t.expireAt;
  return { entity: group.entity, entityId: group.entityId, tileMs: group.tileMs, ops, tiles, expireAt };
}
