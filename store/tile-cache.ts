// The API's cache of decoded tiles, per entity (and set of tile sizes). It only saves the
// transfer and the decoding of tiles Redis confirmed unchanged: store/reader.ts sends the
// cached versions with every read, and read-tiles.lua answers "unchanged" or the current
// tiles in one atomic call. Evaluation at the request's T still runs per request, so an
// entry never holds a value, only tiles, and "latest" stays exact as time moves.
//
// Bounded by entries and by approximate bytes; least recently used entries go first
// (a Map keeps insertion order: a hit moves its entry to the end).
import type { TileSet } from '../core/codec.js';
import type { Entity } from '../core/features/definition.js';

/** One entity's tiles as read from Redis. Never mutated once built (requests share it). */
export interface EntityTiles {
  tiles: TileSet;
  /** eviction clock (_evc) by tile size: tiles expiring after it are all stored */
  clocks: ReadonlyMap<number, number>;
  /** whether any of the tile hashes existed */
  anyKey: boolean;
}

export interface CachedTiles extends EntityTiles {
  /** per tile hash, in the read's key order: its _v as read ('' = the hash did not exist) */
  versions: readonly string[];
  /** approximate heap bytes of the decoded tiles */
  bytes: number;
}

/** hit: Redis said unchanged; stale: cached but changed (or gone); cold: not cached */
export type LookupResult = 'hit' | 'stale' | 'cold';

export interface TileCacheOptions {
  /** most entries kept; 0 turns the cache off */
  maxEntries: number;
  /** most approximate bytes of decoded tiles kept */
  maxBytes: number;
  /** called once per entity read (metrics) */
  onLookup?: (entity: Entity, result: LookupResult) => void;
}

/**
 * Decoded tiles cost several times their packed text (a Map entry and a Tile object per
 * tile, numbers, member strings). Measured (heap growth after gc) on the serve benchmark's
 * data: 51 KiB per user for ~13 KiB packed, 8.2 KiB per item for ~2 KiB: about 4x.
 */
export function approximateBytes(packedChars: number): number {
  return 256 + 4 * packedChars;
}

export class TileCache {
  private readonly entries = new Map<string, CachedTiles>();
  private totalBytes = 0;
  evictions = 0;

  constructor(readonly options: TileCacheOptions) {}

  get enabled(): boolean {
    return this.options.maxEntries > 0 && this.options.maxBytes > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The entry without changing its recency (the read may still find it stale). */
  peek(key: string): CachedTiles | undefined {
    return this.entries.get(key);
  }

  /** Redis confirmed this entry: make it the most recently used (if it is still the one stored). */
  touch(key: string, entry: CachedTiles): void {
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  /** Stores (or replaces) an entry, then drops the least recently used ones over the bounds. */
  set(key: string, entry: CachedTiles): void {
    this.delete(key);
    if (!this.enabled || entry.bytes > this.options.maxBytes) return;
    this.entries.set(key, entry);
    this.totalBytes += entry.bytes;
    while (this.entries.size > this.options.maxEntries || this.totalBytes > this.options.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
      this.evictions += 1;
    }
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    this.totalBytes -= old.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }

  lookedUp(entity: Entity, result: LookupResult): void {
    this.options.onLookup?.(entity, result);
  }
}
