// Batch pre-aggregation: accepted events -> per (entity, entity id, tile size) the ops that
// add them to that Redis hash. Events are first merged into one IR per tile and series, so
// a batch costs a few ops per touched tile, not per event. Also returns each tile's expiry
// (event-time ms) so the store can set TTLs and evict old tiles.
import type { ClickEvent } from './event.js';
import { emptyTile, updateTile, type Tile } from './aggregators.js';
import { encodeTileOps, encodeTileSets, encodeTileWire, type TileSet } from './codec.js';
import { entityIdOf, fillSample, type Sample } from './sample.js';
import { floorTo } from './windows.js';
import { tileExpireAt } from './features/series.js';
import type { Entity } from './features/definition.js';
import type { Registry } from './features/registry.js';
import type { Series } from './features/series.js';
import { argvToOps, type TileOp } from './ops.js';

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
  /** the same ops in wire form (core/ops.ts opsToArgv), when the writer built them so: the store sends these */
  wire?: readonly string[];
  /** per tile touched; the store keeps the max it has seen per tile */
  tiles: TileExpiry[];
  /** max of tiles[].expireAt: the hash's TTL must reach at least this */
  expireAt: number;
}

/** One hash of an entity kind: its series, and per event type those whose filter may take it. */
interface HashPlan {
  tileMs: number;
  series: Series[];
  /** per series: does its IR keep the value's decimal (distinct, top_k, last_n) */
  needsMember: boolean[];
  /** event type -> indexes into series (filled on first sight of a type) */
  byType: Map<string, number[]>;
}

interface KindPlan {
  entity: Entity;
  hashes: HashPlan[];
}

/** A group being filled, with its series' tile maps by series index (no string key lookup per event). */
interface Slot {
  group: TileGroup;
  bySeries: (Map<number, Tile> | undefined)[];
}

/**
 * Plans per registry (registries are immutable once created) and series subset ('' = all):
 * the backfill aggregates entity by entity with one subset, and used to rebuild it per entity.
 */
const plans = new WeakMap<Registry, Map<string, KindPlan[]>>();

function planOf(registry: Registry, only?: ReadonlySet<string>): KindPlan[] {
  let byKey = plans.get(registry);
  if (byKey === undefined) plans.set(registry, (byKey = new Map()));
  const key = only === undefined ? '' : `+${[...only].sort().join(',')}`;
  const cached = byKey.get(key);
  if (cached !== undefined) return cached;
  const kinds = new Map<Entity, KindPlan>();
  for (const s of registry.series.values()) {
    if (only !== undefined && !only.has(s.id)) continue;
    let kind = kinds.get(s.entity);
    if (kind === undefined) kinds.set(s.entity, (kind = { entity: s.entity, hashes: [] }));
    let h = kind.hashes.find((x) => x.tileMs === s.tileMs);
    if (h === undefined) kind.hashes.push((h = { tileMs: s.tileMs, series: [], needsMember: [], byType: new Map() }));
    h.series.push(s);
    h.needsMember.push(s.ir === 'distinct' || s.ir === 'top_k' || s.ir === 'last_n');
  }
  for (const kind of kinds.values()) kind.hashes.sort((a, b) => a.tileMs - b.tileMs);
  const plan = [...kinds.values()].sort((a, b) => (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0));
  // (bounded: a registry has few series subsets in use; a new one past 64 clears the rest)
  if (byKey.size >= 64) byKey.clear();
  byKey.set(key, plan);
  return plan;
}

/** The indexes of h's series whose event-type filter takes `type`, in series order. */
function seriesFor(h: HashPlan, type: string): number[] {
  let list = h.byType.get(type);
  if (list === undefined) {
    list = [];
    for (let i = 0; i < h.series.length; i++) {
      const types = (h.series[i] as Series).eventTypes;
      if (types === null || types.includes(type)) list.push(i);
    }
    h.byType.set(type, list);
  }
  return list;
}

/**
 * Merges accepted events into one IR per (entity, id, tile size, series, tile). `only`
 * restricts it to some series (backfill of named features); `keep`, when given, to the
 * tiles it accepts (the backfill skips tiles it would drop: out of its range, or dead).
 */
export function aggregateEvents(events: Iterable<ClickEvent>, registry: Registry, only?: ReadonlySet<string>, keep?: (s: Series, tileStart: number) => boolean): TileGroup[] {
  // Per entity kind, its hashes (one per tile size, ascending) and their series. An event
  // looks its entity up once per kind and reaches its groups by index: no key string is
  // built per event and hash, no Sample object per event and series (one is reused), and
  // series whose event-type filter cannot take the event are never looked at.
  const plan = planOf(registry, only);
  const byId = plan.map(() => new Map<string, (Slot | undefined)[]>());
  const sample: Sample = { time: 0, eventId: '', userId: '', member: '', scaled: 0n };
  for (const event of events) {
    for (let e = 0; e < plan.length; e++) {
      const kind = plan[e] as KindPlan;
      const entityId = entityIdOf(event, kind.entity);
      if (entityId === undefined) continue;
      const ids = byId[e] as Map<string, (Slot | undefined)[]>;
      let slots = ids.get(entityId);
      for (let k = 0; k < kind.hashes.length; k++) {
        const h = kind.hashes[k] as HashPlan;
        let slot: Slot | undefined;
        for (const i of seriesFor(h, event.event_type)) {
          const s = h.series[i] as Series;
          if (!fillSample(event, s, sample, h.needsMember[i] as boolean)) continue;
          const start = floorTo(sample.time, s.tileMs);
          if (keep !== undefined && !keep(s, start)) continue;
          if (slot === undefined) {
            if (slots === undefined) ids.set(entityId, (slots = []));
            slot = slots[k];
            if (slot === undefined) slots[k] = slot = { group: { entity: kind.entity, entityId, tileMs: h.tileMs, tiles: new Map() }, bySeries: [] };
          }
          let tiles = slot.bySeries[i];
          if (tiles === undefined) slot.group.tiles.set(s.id, (slot.bySeries[i] = tiles = new Map<number, Tile>()));
          let tile = tiles.get(start);
          if (tile === undefined) tiles.set(start, (tile = emptyTile(s.ir)));
          updateTile(s.ir, s.limit, tile, sample);
        }
      }
    }
  }
  // Deterministic order (entity, id, tile size) so equal batches give equal write lists.
  const out: TileGroup[] = [];
  for (const ids of byId) {
    for (const id of [...ids.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      for (const slot of ids.get(id) ?? []) if (slot !== undefined) out.push(slot.group);
    }
  }
  return out;
}

/** The writes of one batch of accepted events (split batches add up to the same hashes). */
export function preaggregate(events: Iterable<ClickEvent>, registry: Registry): TileWrite[] {
  return aggregateEvents(events, registry).map((group) => toWrite(group, registry));
}

/**
 * preaggregate with each write's ops in the store's wire form (TileWrite.wire): what the
 * online worker sends. Its `ops` are decoded from the wire form only when read (tests).
 */
export function preaggregateWire(events: Iterable<ClickEvent>, registry: Registry): TileWrite[] {
  return aggregateEvents(events, registry).map((group) => toWireWrite(group, registry));
}

/** Encodes one group's IRs as ops plus tile expiries. */
export function toWrite(group: TileGroup, registry: Registry): TileWrite {
  const ops: TileOp[] = [];
  const expiry = encodeGroup(group, registry, (s, start, tile) => {
    for (const op of encodeTileOps(s, start, tile)) ops.push(op);
  });
  return { entity: group.entity, entityId: group.entityId, tileMs: group.tileMs, ops, ...expiry };
}

/** toWrite with each op replaced by the plain set it amounts to on cleared fields (the backfill's writes; core/ops.ts asSetsOnCleared). */
export function toSetWrite(group: TileGroup, registry: Registry): TileWrite {
  const ops: TileOp[] = [];
  const expiry = encodeGroup(group, registry, (s, start, tile) => encodeTileSets(s, start, tile, ops));
  return { entity: group.entity, entityId: group.entityId, tileMs: group.tileMs, ops, ...expiry };
}

/** toWrite with the ops in wire form (core/ops.ts opsToArgv), built without op objects. */
export function toWireWrite(group: TileGroup, registry: Registry): TileWrite {
  const wire: string[] = [];
  const expiry = encodeGroup(group, registry, (s, start, tile) => encodeTileWire(s, start, tile, wire));
  let ops: TileOp[] | undefined;
  return {
    entity: group.entity, entityId: group.entityId, tileMs: group.tileMs, wire, ...expiry,
    get ops() { return (ops ??= argvToOps(wire)); },
  };
}

/** Visits a group's tiles in (series id, tile start) order; returns the tile expiries. */
function encodeGroup(group: TileGroup, registry: Registry, emit: (s: Series, start: number, tile: Tile) => void): Pick<TileWrite, 'tiles' | 'expireAt'> {
  const expiry = new Map<number, number>();
  for (const s of seriesInOrder(group, registry)) {
    const tiles = group.tiles.get(s.id) as Map<number, Tile>;
    const starts = tiles.size === 1 ? tiles.keys() : [...tiles.keys()].sort((a, b) => a - b);
    for (const start of starts) {
      emit(s, start, tiles.get(start) as Tile);
      const at = tileExpireAt(s, start);
      const seen = expiry.get(start);
      if (seen === undefined || at > seen) expiry.set(start, at);
    }
  }
  const tiles = expiry.size === 1
    ? [...expiry].map(([start, expireAt]) => ({ start, expireAt }))
    : [...expiry].sort((a, b) => a[0] - b[0]).map(([start, expireAt]) => ({ start, expireAt }));
  let expireAt = -Infinity;
  for (const t of tiles) if (t.expireAt > expireAt) expireAt = t.expireAt;
  return { tiles, expireAt };
}

/** Every registry's series sorted by id (ids are distinct: the default sort, UTF-16 code units, is the `<` order). */
const sortedSeries = new WeakMap<Registry, Series[]>();

/** The series of a group's tiles in id order, without sorting the group's keys per group. */
function seriesInOrder(group: TileGroup, registry: Registry): Series[] {
  let all = sortedSeries.get(registry);
  if (all === undefined) sortedSeries.set(registry, (all = [...registry.series.values()].sort((a, b) => (a.id < b.id ? -1 : 1))));
  const out: Series[] = [];
  for (const s of all) if (group.tiles.has(s.id)) out.push(s);
  if (out.length === group.tiles.size) return out;
  const unknown = [...group.tiles.keys()].sort().find((id) => !registry.series.has(id));
  throw new RangeError(`series ${unknown} is not in the registry`);
}
