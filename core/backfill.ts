// Backfill math: which series a backfill of some features rewrites, how a time range is
// cut into chunks that never split a tile, and the per-entity writes that recompute the
// tiles of one chunk from that chunk's accepted events. Pure; offline/jobs runs it.
//
// Why chunks align to the largest tile size: a chunk replaces every tile that starts in
// it, so a tile must get all of its events from one chunk, or the second chunk's
// replacement would erase the first one's contribution.
import type { ClickEvent } from './event.js';
import { isRatio, type Entity, type FeatureDefinition } from './features/definition.js';
import type { Registry } from './features/registry.js';
import type { Series } from './features/series.js';
import { aggregateEvents, toWrite, type TileWrite } from './preaggregate.js';
import { floorTo } from './windows.js';

export class BackfillRangeError extends Error {
  override name = 'BackfillRangeError';
}

/** The series holding `names` (ratios: their inputs); every series when names is undefined. */
export function seriesForFeatures(registry: Registry, names?: readonly string[]): Series[] {
  if (names === undefined) return [...registry.series.values()];
  const out = new Map<string, Series>();
  const add = (def: FeatureDefinition): void => {
    if (isRatio(def)) {
      add(registry.get(def.numerator));
      add(registry.get(def.denominator));
    } else {
      const s = registry.seriesOf(def);
      out.set(s.id, s);
    }
  };
  for (const name of names) add(registry.get(name));
  return [...out.values()];
}

/** [from, to) widened outwards to whole tiles of the largest tile size among `series`. */
export function alignRange(series: readonly Series[], from: number, to: number): { from: number; to: number; tileMs: number } {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0) throw new BackfillRangeError(`from and to must be epoch ms, got ${from} and ${to}`);
  if (to <= from) throw new BackfillRangeError(`empty range: to (${new Date(to).toISOString()}) must be after from (${new Date(from).toISOString()})`);
  const tileMs = Math.max(1, ...series.map((s) => s.tileMs));
  return { from: floorTo(from, tileMs), to: floorTo(to + tileMs - 1, tileMs), tileMs };
}

/**
 * Chunks of whole tiles: `counts` gives the events per tile-sized bucket (start ms ->
 * count); consecutive buckets are merged while a chunk stays within maxEvents (a single
 * bucket may exceed it: a tile cannot be split). Empty stretches become no chunk at all.
 */
export function planChunks(range: { from: number; to: number; tileMs: number }, counts: ReadonlyMap<number, number>, maxEvents: number): Array<{ from: number; to: number; events: number }> {
  const out: Array<{ from: number; to: number; events: number }> = [];
  const starts = [...counts.keys()].filter((b) => b >= range.from && b < range.to).sort((a, b) => a - b);
  for (const b of starts) {
    const n = counts.get(b) ?? 0;
    if (n === 0) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last.to === b && last.events + n <= maxEvents) {
      last.to = b + range.tileMs;
      last.events += n;
    } else out.push({ from: b, to: b + range.tileMs, events: n });
  }
  return out;
}

/** One entity's backfill write: its tile writes (one per tile size, maybe without ops) and what to clear. */
export interface EntityRecompute {
  entity: Entity;
  id: string;
  tiles: TileWrite[];
  /** tile size -> ids of the series whose tiles in the chunk are recomputed */
  clear: Map<number, string[]>;
}

/**
 * The writes that recompute, for every entity with events in the chunk, the tiles of
 * `series` starting in [from, to). `events` may hold more (a query by event_time OR
 * ingest_time); each series keeps only samples whose own time basis falls in the chunk.
 */
export function recomputeChunk(events: Iterable<ClickEvent>, registry: Registry, series: readonly Series[], from: number, to: number): EntityRecompute[] {
  const ids = new Set(series.map((s) => s.id));
  const clearBy = new Map<Entity, Map<number, string[]>>();
  for (const s of series) {
    let bySize = clearBy.get(s.entity);
    if (bySize === undefined) clearBy.set(s.entity, (bySize = new Map()));
    bySize.set(s.tileMs, [...(bySize.get(s.tileMs) ?? []), s.id]);
  }
  const out = new Map<string, EntityRecompute>();
  for (const group of aggregateEvents(events, registry, ids)) {
    for (const tiles of group.tiles.values()) for (const start of [...tiles.keys()]) if (start < from || start >= to) tiles.delete(start);
    const key = `${group.entity}\u0000${group.entityId}`;
    let rec = out.get(key);
    if (rec === undefined) out.set(key, (rec = { entity: group.entity, id: group.entityId, tiles: [], clear: clearBy.get(group.entity) ?? new Map() }));
    if ([...group.tiles.values()].some((t) => t.size > 0)) rec.tiles.push(toWrite(group, registry));
  }
  // Every tile size the entity has series in gets a write, so stale tiles of series with no
  // events in this chunk are cleared too.
  for (const rec of out.values()) {
    for (const tileMs of rec.clear.keys()) {
      if (!rec.tiles.some((t) => t.tileMs === tileMs)) rec.tiles.push({ entity: rec.entity, entityId: rec.id, tileMs, ops: [], tiles: [], expireAt: 0 });
    }
    rec.tiles.sort((a, b) => a.tileMs - b.tileMs);
  }
  return [...out.values()];
}
