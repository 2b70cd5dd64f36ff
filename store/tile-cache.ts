// The API's cache of decoded tiles, per entity (and set of tile sizes). It only saves the
// transfer and the decoding of tiles Redis confirmed unchanged: store/reader.ts sends the
// cached versions with every read, and read-tiles.lua answers "unchanged" or the current
// tiles in one atomic call.
//
// An entry also keeps up to MAX_SNAPSHOTS evaluation snapshots of its tiles (one per set of
// feature names; core/evaluate.ts evaluateSnapshot), so a hit whose T is still in a
// snapshot's range skips evaluation: the snapshot vouches for every T in that range.
//
// Bounded by entries and by approximate bytes. Eviction is CLOCK (second chance), the usual
// approximation of least-recently-used: a hit only marks its entry used; the oldest entry
// goes first unless it was used since it last came up, in which case it is moved to the end
// and unmarked. (Moving every hit to the end of the Map, exact LRU, cost three Map
// operations per entity read, more than the rest of a hit.)
import type { TileSet } from '../core/codec.js';
import type { Evaluation, EvaluationSnapshot } from '../core/evaluate.js';
import type { Entity } from '../core/features/definition.js';
import type { EntityReading } from './reader.js';

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
  /** approximate heap bytes of the decoded tiles and the snapshots */
  bytes: number;
  /** the tile hashes' key names, in the read's key order */
  keys?: readonly string[];
  /** the versions as read-tiles.lua takes them (store/reader.ts) */
  versionArg?: string;
  /** evaluations of these tiles by feature-name list (derived data, added by readers) */
  snapshots?: Map<string, KeptSnapshot>;
  /** the snapshot found or kept last (a client usually asks for one name list) */
  recent?: KeptSnapshot;
  /** hit since eviction last looked at this entry (CLOCK) */
  used?: boolean;
}

/** A snapshot kept on an entry, and the reader's last reading made from it (reused while equal). */
export interface KeptSnapshot {
  /** the feature names it evaluates, joined (its key in `snapshots`) */
  names: string;
  snapshot: EvaluationSnapshot;
  /** snapshot.from and snapshot.until, at hand */
  from: number;
  until: number;
  bytes: number;
  reading?: { of: Readonly<Record<string, Evaluation>>; reading: EntityReading };
}

/** Snapshots kept per entry: one per distinct feature-name list a client asks for. */
export const MAX_SNAPSHOTS = 4;

/** hit: Redis said unchanged; stale: cached but changed (or gone); cold: not cached */
export type LookupResult = 'hit' | 'stale' | 'cold';

export interface TileCacheOptions {
  /** most entries kept; 0 turns the cache off */
  maxEntries: number;
  /** most approximate bytes of decoded tiles kept */
  maxBytes: number;
  /** called with the number of entity reads of each outcome (metrics) */
  onLookup?: (entity: Entity, result: LookupResult, n: number) => void;
  /** called with the number of evaluations of cached entries of each outcome (metrics) */
  onEvaluate?: (result: 'reused' | 'computed', n: number) => void;
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

  /** Redis confirmed this entry: it gets a second chance when eviction comes to it. */
  touch(entry: CachedTiles): void {
    entry.used = true;
  }

  /** Stores (or replaces) an entry, then evicts (CLOCK) until the bounds hold. */
  set(key: string, entry: CachedTiles): void {
    this.delete(key);
    if (!this.enabled || entry.bytes > this.options.maxBytes) return;
    this.entries.set(key, entry);
    this.totalBytes += entry.bytes;
    this.enforceBounds();
  }

  /**
   * Drops entries, oldest first, until both bounds hold; an entry used since it was last
   * looked at is moved to the end instead, unmarked (so each pass ends: after one round
   * every entry is unmarked).
   */
  private enforceBounds(): void {
    while (this.entries.size > this.options.maxEntries || this.totalBytes > this.options.maxBytes) {
      const oldest = this.entries.entries().next();
      if (oldest.done === true) break;
      const [key, entry] = oldest.value;
      if (entry.used === true) {
        entry.used = false;
        this.entries.delete(key);
        this.entries.set(key, entry);
        continue;
      }
      this.delete(key);
      this.evictions += 1;
    }
  }

  /** The entry's snapshot of these feature names (joined), if it keeps one. */
  snapshotOf(entry: CachedTiles, names: string): KeptSnapshot | undefined {
    const recent = entry.recent;
    if (recent !== undefined && recent.names === names) return recent;
    const kept = entry.snapshots?.get(names);
    if (kept !== undefined) entry.recent = kept;
    return kept;
  }

  /**
   * Keeps a snapshot on the entry stored under key (if it still is), its bytes counted in
   * the entry's; it replaces the one for the same names, or the oldest beyond MAX_SNAPSHOTS.
   */
  keepSnapshot(key: string, entry: CachedTiles, names: string, snapshot: EvaluationSnapshot, bytes: number): void {
    if (this.entries.get(key) !== entry) return;
    const snapshots = (entry.snapshots ??= new Map());
    const drop = snapshots.has(names) ? names : snapshots.size >= MAX_SNAPSHOTS ? snapshots.keys().next().value : undefined;
    let delta = bytes;
    if (drop !== undefined) {
      delta -= snapshots.get(drop)?.bytes ?? 0;
      snapshots.delete(drop);
    }
    const kept: KeptSnapshot = { names, snapshot, from: snapshot.from, until: snapshot.until, bytes };
    snapshots.set(names, kept);
    entry.recent = kept;
    entry.bytes += delta;
    this.totalBytes += delta;
    this.enforceBounds();
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

  /** Reports n lookups of one outcome (a read reports its totals once: metrics cost per call). */
  lookedUp(entity: Entity, result: LookupResult, n = 1): void {
    if (n > 0) this.options.onLookup?.(entity, result, n);
  }

  evaluated(result: 'reused' | 'computed', n = 1): void {
    if (n > 0) this.options.onEvaluate?.(result, n);
  }
}
