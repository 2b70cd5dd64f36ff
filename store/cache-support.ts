// For the tile-cache tests (store/*cache*.redis.test.ts): a cached and an uncached reader on
// ONE Redis connection (so their calls reach Redis in the order they are made), and the
// real writers: TileStore.apply as the online worker calls it, TileStore.replace as the
// backfill calls it (core/backfill.ts recomputeChunk), plus deletes and expiries.
import type { Redis } from 'ioredis';
import { alignRange, recomputeChunk, seriesForFeatures } from '../core/backfill.js';
import type { ClickEvent } from '../core/event.js';
import type { Entity } from '../core/features/definition.js';
import type { Registry } from '../core/features/registry.js';
import { preaggregate } from '../core/preaggregate.js';
import { FeatureReader, type EntityReading } from './reader.js';
import { TileCache, type LookupResult } from './tile-cache.js';
import { TileStore, type EntityWrite, type ReplaceWrite } from './tile-store.js';

export type Lookups = Record<LookupResult, number>;

/**
 * The online worker's per-entity writes of these accepted events, as the first write of
 * each entity on a partition (no marker yet): tests write tiles through the real TileStore.
 */
export function freshEntityWrites(events: readonly ClickEvent[], registry: Registry): EntityWrite[] {
  const byEntity = new Map<string, EntityWrite>();
  for (const w of preaggregate(events, registry)) {
    const key = `${w.entity}\u0000${w.entityId}`;
    let ew = byEntity.get(key);
    if (ew === undefined) byEntity.set(key, (ew = { entity: w.entity, id: w.entityId, expected: { marker: -1, rawMarker: '' }, newMarker: 0, tiles: [] }));
    ew.tiles.push(w);
  }
  return [...byEntity.values()];
}

export interface CacheHarness {
  store: TileStore;
  cache: TileCache;
  cached: FeatureReader;
  uncached: FeatureReader;
  lookups: Lookups;
  /** evaluations of cached entries: snapshot reused or computed */
  evaluations: Record<'reused' | 'computed', number>;
  /** the online path: one TileStore.apply of these events' tiles (a fresh partition each time, so markers never refuse it) */
  write(events: readonly ClickEvent[]): Promise<void>;
  /** the backfill path: recompute every series' tiles in the tile-aligned range around [from, to) from `events` */
  backfill(events: readonly ClickEvent[], from: number, to: number): Promise<void>;
  /** the tile hashes of one entity (every tile size its features use) */
  tileKeys(entity: Entity, id: string): string[];
  /** reads with both readers, cached first, without waiting in between */
  readBoth(entity: Entity, ids: readonly string[], T: number, wallNow: number): { cached: Promise<EntityReading[]>; uncached: Promise<EntityReading[]> };
}

export function cacheHarness(redis: Redis, prefix: string, registry: Registry, bounds: { maxEntries?: number; maxBytes?: number; entitiesPerCall?: number } = {}): CacheHarness {
  const store = new TileStore(redis, prefix, registry);
  const lookups: Lookups = { hit: 0, stale: 0, cold: 0 };
  const evaluations = { reused: 0, computed: 0 };
  const cache = new TileCache({
    maxEntries: bounds.maxEntries ?? 1000, maxBytes: bounds.maxBytes ?? 64 * 1024 * 1024,
    onLookup: (_, r, n) => { lookups[r] += n; },
    onEvaluate: (r, n) => { evaluations[r] += n; },
  });
  const cached = new FeatureReader(redis, prefix, registry, { cache, entitiesPerCall: bounds.entitiesPerCall });
  const uncached = new FeatureReader(redis, prefix, registry);
  const names = (entity: Entity): string[] => registry.forEntity(entity).map((d) => d.name);
  const sizes = (entity: Entity): number[] => [...new Set(seriesForFeatures(registry, names(entity)).map((s) => s.tileMs))].sort((a, b) => a - b);
  let partition = 0;
  return {
    store, cache, cached, uncached, lookups, evaluations,
    write: async (events) => {
      partition += 1;
      await store.apply(partition, freshEntityWrites(events, registry));
    },
    backfill: async (events, from, to) => {
      const series = seriesForFeatures(registry);
      const range = alignRange(series, from, to);
      const writes: ReplaceWrite[] = [];
      for (const w of recomputeChunk(events.filter((e) => e.event_time >= range.from && e.event_time < range.to), registry, series, range.from, range.to)) {
        writes.push({ entity: w.entity, id: w.id, tiles: w.tiles, clear: { from: range.from, to: range.to, series: w.clear, eviction: w.eviction } });
      }
      await store.replace(writes);
    },
    tileKeys: (entity, id) => sizes(entity).map((s) => store.keys.tiles(entity, id, s)),
    readBoth: (entity, ids, T, wallNow) => ({
      cached: cached.read(entity, ids, names(entity), T, wallNow),
      uncached: uncached.read(entity, ids, names(entity), T, wallNow),
    }),
  };
}
