// Backfill math: which series a backfill of some features rewrites, how its time range
// widens to whole tiles, how the entities are cut into chunks, and the per-entity writes
// that recompute an entity's tiles of the range from its accepted events. Pure;
// offline/jobs runs it.
//
// Why the range widens to whole tiles of the largest tile size: a write replaces every
// tile that starts in the range, so a tile must get all of its events from that write.
// Why chunks are sets of whole entities, each recomputed over the whole range: an entity
// is written once, with only the tiles alive at its own last event (chunks of time wrote
// it once per chunk, each with the tiles that chunk's clock kept alive).
import type { ClickEvent } from './event.js';
import { isRatio, type Entity, type FeatureDefinition } from './features/definition.js';
import type { Registry } from './features/registry.js';
import { tileExpireAt, type Series } from './features/series.js';
import { aggregateEvents, toSetWrite, type TileWrite } from './preaggregate.js';
import { entityIdOf, selectedTime } from './sample.js';
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

/** A run of consecutive entity ids (in the store's key order) holding about `events` events. */
export interface KeyChunk {
  /** ids after this one (exclusive); null: from the first id */
  after: string | null;
  /** ids up to this one (inclusive); null: to the last id (the pass's final chunk) */
  last: string | null;
  events: number;
}

/**
 * Cuts ids, pushed in ascending key order with their event counts, into chunks of whole
 * entities with at most maxEvents events each (an entity with more is a chunk alone: an
 * entity's events must be recomputed together). `push` returns a chunk when the id pushed
 * starts a new one; `end` returns the last chunk, which has no upper bound, so ids that
 * appear after the plan was made (a live sink) are not skipped. Holds one chunk: the ids
 * come from a stream as long as the entity count.
 */
export function keyChunker(maxEvents: number, after: string | null = null): { push(id: string, events: number): KeyChunk | undefined; end(): KeyChunk | undefined } {
  let open: KeyChunk | undefined;
  let lastId = after;
  return {
    push(id, events) {
      let done: KeyChunk | undefined;
      if (open !== undefined && open.events + events > maxEvents) {
        done = { ...open, last: lastId };
        open = undefined;
      }
      if (open === undefined) open = { after: lastId, last: null, events: 0 };
      open.events += events;
      lastId = id;
      return done;
    },
    end() {
      const done = open;
      open = undefined;
      return done;
    },
  };
}

export class EntityOrderError extends Error {
  override name = 'EntityOrderError';
}

/**
 * Cuts a stream of events in which each entity's events are consecutive (a query ordered
 * by the entity's id) into batches of whole entities, each cut when it holds at least
 * `minEvents` events and the next entity starts, so the job recomputes and writes as the
 * rows arrive and events die young (a whole chunk's events, held while it was recomputed,
 * outlived the young generation). An entity whose events come back after another
 * entity's would be written twice, each write replacing the other's: refused.
 * Events without an id for `entity` are skipped (recomputeChunk ignores them too).
 */
export function entityBatcher(entity: Entity, minEvents: number): { push(event: ClickEvent): ClickEvent[] | undefined; end(): ClickEvent[] | undefined } {
  let batch: ClickEvent[] = [];
  let current: string | undefined;
  const finished = new Set<string>();
  return {
    push(event) {
      const id = entityIdOf(event, entity);
      if (id === undefined) return undefined;
      let out: ClickEvent[] | undefined;
      if (id !== current) {
        if (current !== undefined) finished.add(current);
        if (finished.has(id)) throw new EntityOrderError(`the events of ${entity} ${JSON.stringify(id)} are not consecutive`);
        current = id;
        if (batch.length >= minEvents) {
          out = batch;
          batch = [];
        }
      }
      batch.push(event);
      return out;
    },
    end() {
      const out = batch;
      batch = [];
      return out.length > 0 ? out : undefined;
    },
  };
}

/** What a chunk's write does to the eviction state of one of the entity's hashes. */
export interface HashEviction {
  /** the entity's largest sample time in this hash within the chunk (dropped tiles included) */
  clock: number;
  /** the largest expiry among the tiles dropped as dead (-1: none); the store's eviction clock must reach it */
  evictedUntil: number;
}

/** One entity's backfill write: its tile writes (one per tile size, maybe without ops) and what to clear. */
export interface EntityRecompute {
  entity: Entity;
  id: string;
  tiles: TileWrite[];
  /** tile size -> ids of the series whose tiles in the chunk are recomputed */
  clear: Map<number, string[]>;
  /** tile size -> the hash's clock and dropped tiles (only sizes with events in the chunk) */
  eviction: Map<number, HashEviction>;
}

/**
 * The writes that recompute, for every entity with events in the chunk, the tiles of
 * `series` starting in [from, to). `events` may hold more (a query by event_time OR
 * ingest_time); each series keeps only samples whose own time basis falls in the chunk.
 * Entities come in (entity, id) order, one at a time: the events are first split by
 * entity, so only one entity's tiles are alive at once (a whole chunk's tiles, built
 * together, outlived the young generation and made garbage collection a third of the work).
 *
 * Dead tiles are dropped instead of written, per series: a series' tile whose expiry (tile
 * end + the series' retention) is <= the entity's own clock in the chunk is outside every
 * window readers can still ask about, and with sparse entities that is most of the tiles
 * of the short-window series (1-hour counts in 1-minute tiles, which the 7-day session
 * series of the same hash keeps alive; 5-minute tiles of 24-hour features) over a long
 * range. The write then carries `eviction`, and the store raises its eviction clock
 * (_evc) to cover them: readers treat every tile expiring up to _evc as possibly gone
 * (core/evaluate.ts compares each series' own expiry), so they stay exact. The store's
 * own eviction sets _evc to the whole clock, so this never claims less than it would.
 */
export function* recomputeChunk(events: Iterable<ClickEvent>, registry: Registry, series: readonly Series[], from: number, to: number): Generator<EntityRecompute> {
  const clearBy = new Map<Entity, Map<number, string[]>>();
  const idsBy = new Map<Entity, Set<string>>();
  for (const s of series) {
    let bySize = clearBy.get(s.entity);
    if (bySize === undefined) clearBy.set(s.entity, (bySize = new Map()));
    bySize.set(s.tileMs, [...(bySize.get(s.tileMs) ?? []), s.id]);
    let ids = idsBy.get(s.entity);
    if (ids === undefined) idsBy.set(s.entity, (ids = new Set()));
    ids.add(s.id);
  }
  const entities = ([...idsBy.keys()]).sort();
  const byEntity = new Map<Entity, Map<string, ClickEvent[]>>(entities.map((e) => [e, new Map()]));
  for (const event of events) {
    for (const [entity, byId] of byEntity) {
      const id = entityIdOf(event, entity);
      if (id === undefined) continue;
      const list = byId.get(id);
      if (list === undefined) byId.set(id, [event]);
      else list.push(event);
    }
  }
  for (const entity of entities) {
    const byId = byEntity.get(entity) as Map<string, ClickEvent[]>;
    const clear = clearBy.get(entity) ?? new Map<number, string[]>();
    const own = series.filter((s) => s.entity === entity);
    for (const id of [...byId.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const rec = recomputeEntity(byId.get(id) as ClickEvent[], registry, idsBy.get(entity) as Set<string>, own, from, to);
      if (rec === undefined) continue;
      // Every tile size the entity has series in gets a write, so stale tiles of series with
      // no events in this chunk are cleared too (and dropped tiles' eviction is recorded).
      for (const tileMs of clear.keys()) {
        if (!rec.tiles.some((t) => t.tileMs === tileMs)) rec.tiles.push({ entity, entityId: id, tileMs, ops: [], tiles: [], expireAt: 0 });
      }
      rec.tiles.sort((a, b) => a.tileMs - b.tileMs);
      yield { entity, id, tiles: rec.tiles, clear, eviction: rec.eviction };
    }
  }
}

/**
 * Per tile size, the entity's clock in the range: the largest time of a sample some
 * series of that size takes into a tile starting in [from, to) (a tile's hi is its
 * largest sample time). Undefined when no series takes any of the events (in the range or
 * not). Events whose times are both at most the smallest clock so far are skipped
 * unlooked: walked from the end, as the rows come sorted by time within an entity.
 */
function hashClocks(events: readonly ClickEvent[], series: readonly Series[], from: number, to: number): Map<number, number> | undefined {
  const clocks = new Map<number, number>();
  const sizes = new Set(series.map((s) => s.tileMs)).size;
  let taken = false;
  let floor = -Infinity; // the smallest clock once every tile size has one
  for (let j = events.length - 1; j >= 0; j--) {
    const event = events[j] as ClickEvent;
    if (taken && event.event_time <= floor && event.ingest_time <= floor) continue;
    for (const s of series) {
      const time = selectedTime(event, s);
      if (time === undefined) continue;
      taken = true;
      const start = floorTo(time, s.tileMs);
      if (start < from || start >= to || time <= (clocks.get(s.tileMs) ?? -Infinity)) continue;
      clocks.set(s.tileMs, time);
      let low = Infinity;
      for (const c of clocks.values()) if (c < low) low = c;
      floor = clocks.size === sizes ? low : -Infinity;
    }
  }
  return taken ? clocks : undefined;
}

/**
 * One entity's tile writes and evictions from its events; undefined when no series takes
 * any of them. The tiles a write would drop (out of the range, or dead at the entity's
 * clock) are never built: the clocks come first (hashClocks), and aggregation skips them
 * (with sparse entities most samples of the short-window series fall in dead tiles).
 */
function recomputeEntity(events: readonly ClickEvent[], registry: Registry, ids: ReadonlySet<string>, series: readonly Series[], from: number, to: number): Pick<EntityRecompute, 'tiles' | 'eviction'> | undefined {
  const clocks = hashClocks(events, series, from, to);
  if (clocks === undefined) return undefined;
  const evicted = new Map<number, number>();
  const groups = aggregateEvents(events, registry, ids, (s, start) => {
    if (start < from || start >= to) return false;
    const expireAt = tileExpireAt(s, start);
    if (expireAt > (clocks.get(s.tileMs) as number)) return true;
    if (expireAt > (evicted.get(s.tileMs) ?? -1)) evicted.set(s.tileMs, expireAt);
    return false;
  });
  const out: Pick<EntityRecompute, 'tiles' | 'eviction'> = { tiles: [], eviction: new Map() };
  for (const [tileMs, clock] of clocks) out.eviction.set(tileMs, { clock, evictedUntil: evicted.get(tileMs) ?? -1 });
  // Every field written lies in a tile and series the same write clears first: plain sets.
  for (const group of groups) out.tiles.push(toSetWrite(group, registry));
  return out;
}
