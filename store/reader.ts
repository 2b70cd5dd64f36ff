// The online store's read side: feature values of many entities at one time T, from the
// Redis tiles, in ONE round trip (a pipeline of read-tiles script calls of up to 100
// entities each, store/lua/read-tiles.lua, which returns each tile hash packed into one
// string). Values are exact or the result says which features Redis cannot answer exactly
// at T (the caller then asks ClickHouse).
//
// With a TileCache (the API's), each script call also carries the versions of the tiles
// cached for that entity, and the script answers "unchanged" instead of the tiles when
// they still match: the cached tiles are used only on that answer, from this very call, so
// every reading is exactly what an uncached read at the same moment would give.
import type { Redis } from 'ioredis';
import { decodePacked, TileCodecError, type TileSet } from '../core/codec.js';
import { evaluateMany, evaluateSnapshot, type Evaluation, type EvaluationSnapshot } from '../core/evaluate.js';
import { isRatio, type Entity, type FeatureDefinition, type FeatureValue } from '../core/features/definition.js';
import type { Registry } from '../core/features/registry.js';
import { KeySpace } from './keys.js';
import { callScript, registerScripts, SCRIPTS } from './scripts.js';
import { approximateBytes, type CachedTiles, type EntityTiles, type TileCache } from './tile-cache.js';

export interface EntityReading {
  id: string;
  /** exact values by feature name (only the features Redis could answer) */
  values: Record<string, FeatureValue>;
  /** features Redis cannot answer exactly at T */
  inexact: string[];
}

/** read-tiles.lua's answer when the caller's versions are current */
const UNCHANGED = 1;

export interface FeatureReaderOptions {
  /** decoded tiles of recently read entities, revalidated on every read (the API's) */
  cache?: TileCache;
  /**
   * Entities per read-tiles call (default 100): bounds how long one call blocks Redis. On
   * a Redis Cluster it must be 1 (or calls grouped by slot): one entity's keys share a
   * slot, several entities' do not.
   */
  entitiesPerCall?: number;
}

export class FeatureReader {
  private readonly keys: KeySpace;
  private readonly cache: TileCache | undefined;
  private readonly entitiesPerCall: number;

  constructor(private readonly redis: Redis, prefix: string, private readonly registry: Registry, options: FeatureReaderOptions = {}) {
    this.keys = new KeySpace(prefix);
    this.cache = options.cache?.enabled === true ? options.cache : undefined;
    this.entitiesPerCall = Math.max(1, options.entitiesPerCall ?? 100);
    registerScripts(redis);
  }

  /** The tile sizes holding the given features (ratios: their inputs). */
  private tileSizesFor(defs: readonly FeatureDefinition[]): number[] {
    const sizes = new Set<number>();
    const add = (def: FeatureDefinition): void => {
      if (isRatio(def)) {
        add(this.registry.get(def.numerator));
        add(this.registry.get(def.denominator));
      } else sizes.add(this.registry.seriesOf(def).tileMs);
    };
    defs.forEach(add);
    return [...sizes].sort((a, b) => a - b);
  }

  /**
   * Features `names` (all of one entity type) of `ids` as of T (epoch ms). wallNow is the
   * caller's clock: an entity with no keys at all is only known to be empty when T is
   * recent enough that its keys cannot have expired.
   */
  async read(entity: Entity, ids: readonly string[], names: readonly string[], T: number, wallNow = Date.now()): Promise<EntityReading[]> {
    const defs = names.map((n) => this.registry.get(n));
    for (const d of defs) if (d.entity !== entity) throw new RangeError(`feature ${d.name} is a ${d.entity} feature, not ${entity}`);
    const sizes = this.tileSizesFor(defs);
    const cache = this.cache;
    // The entries whose versions go with this request: an "unchanged" answer vouches for
    // exactly these objects, whatever other requests store meanwhile.
    const cacheKeys = cache ? ids.map((id) => `${this.keys.base}:${this.keys.tag(entity, id)}:${sizes.join(',')}`) : [];
    const cached = cache ? cacheKeys.map((k) => cache.peek(k)) : [];
    const replies = await this.readTiles(entity, ids, sizes, cached);
    const retention = Math.max(0, ...names.map((n) => this.registry.retentionMs(n)));

    // counted here and reported once per read: a metric update per entity costs more than the hit
    const outcomes = { hit: 0, stale: 0, cold: 0 };
    const evaluations = { reused: 0, computed: 0 };
    const readings = ids.map((id, i): EntityReading => {
      const reply = replies[i];
      // the cache entry these tiles are (or now are) stored as, for keeping snapshots
      let stored: CachedTiles | undefined;
      let fresh: EntityTiles | undefined;
      const entry = cached[i];
      if (reply === UNCHANGED) {
        if (entry === undefined || cache === undefined) throw new TileCodecError(`read-tiles: "unchanged" for ${JSON.stringify(id)}, which was not cached`);
        cache.touch(cacheKeys[i] as string, entry);
        outcomes.hit++;
        stored = entry;
      } else {
        const unpacked = unpack(reply, sizes, id);
        fresh = unpacked;
        if (cache !== undefined) {
          outcomes[entry === undefined ? 'cold' : 'stale']++;
          const key = cacheKeys[i] as string;
          // Entities without any tiles are not kept: nothing to save, and they would push out real ones.
          if (unpacked.versions !== undefined && unpacked.anyKey) cache.set(key, (stored = { ...unpacked, versions: unpacked.versions }));
          else cache.delete(key);
        }
      }
      const read = (stored ?? fresh) as EntityTiles;
      const reading: EntityReading = { id, values: {}, inexact: [] };
      // No key: either no events ever, or all expired by wall-clock TTL; only a recent T is safe.
      if (!read.anyKey && T < wallNow - retention) {
        reading.inexact.push(...names);
        return reading;
      }
      const values = this.evaluate(read, names, T, stored && cache ? { cache, key: cacheKeys[i] as string, entry: stored, counts: evaluations } : undefined);
      for (const name of names) {
        const ev = values[name];
        if (ev?.exact) reading.values[name] = ev.value;
        else reading.inexact.push(name);
      }
      return reading;
    });
    if (cache !== undefined) {
      for (const r of ['hit', 'stale', 'cold'] as const) cache.lookedUp(entity, r, outcomes[r]);
      for (const r of ['reused', 'computed'] as const) cache.evaluated(r, evaluations[r]);
    }
    return readings;
  }

  /**
   * One read-tiles reply per id, in ONE round trip: a pipeline of script calls of up to
   * entitiesPerCall entities each (sending each cached entity's versions).
   */
  private async readTiles(entity: Entity, ids: readonly string[], sizes: readonly number[], cached: ReadonlyArray<CachedTiles | undefined>): Promise<unknown[]> {
    const pipe = this.redis.pipeline();
    const per = this.entitiesPerCall;
    for (let from = 0; from < ids.length; from += per) {
      const keys: string[] = [];
      const argv = [String(sizes.length)];
      for (let i = from; i < Math.min(ids.length, from + per); i++) {
        const id = ids[i] as string;
        for (const size of sizes) keys.push(this.keys.tiles(entity, id, size));
        const versions = cached[i]?.versions;
        if (versions === undefined) argv.push('-');
        else argv.push('=', ...versions);
      }
      callScript(pipe, SCRIPTS.readTiles, keys, argv);
    }
    const out: unknown[] = [];
    for (const [err, reply] of (await pipe.exec()) ?? []) {
      if (err) throw err;
      if (!Array.isArray(reply)) throw new TileCodecError('read-tiles: unexpected reply');
      out.push(...(reply as unknown[]));
    }
    if (out.length !== ids.length) throw new TileCodecError(`read-tiles: ${out.length} replies for ${ids.length} entities`);
    return out;
  }

  /**
   * The features at T. With a cache entry, a snapshot of these names whose range holds T
   * answers without evaluating (exact: core/evaluate.ts evaluateSnapshot); otherwise the
   * new evaluation's snapshot is kept on the entry for the next requests.
   */
  private evaluate(read: EntityTiles, names: readonly string[], T: number, cached?: { cache: TileCache; key: string; entry: CachedTiles; counts: Record<'reused' | 'computed', number> }): Record<string, Evaluation> {
    const ctx = { registry: this.registry, now: (tileMs: number) => read.clocks.get(tileMs) };
    if (cached === undefined) return evaluateMany(names, read.tiles, T, ctx);
    const namesKey = names.join(',');
    const known = cached.entry.snapshots?.get(namesKey)?.snapshot;
    if (known !== undefined && T >= known.from && T < known.until) {
      cached.counts.reused++;
      return known.valuesAt(T);
    }
    const snapshot = evaluateSnapshot(names, read.tiles, T, ctx);
    cached.counts.computed++;
    cached.cache.keepSnapshot(cached.key, cached.entry, namesKey, snapshot, snapshotBytes(names, snapshot));
    return snapshot.valuesAt(T);
  }
}

/** Heap bytes of a snapshot: its values and the sorted tile lists it keeps (approximate). */
const snapshotBytes = (names: readonly string[], snapshot: EvaluationSnapshot): number => 256 + 96 * names.length + 40 * snapshot.retainedTiles;

/**
 * Decodes one read-tiles reply: per tile size, a field count and the packed fields. The
 * result has versions (and can be cached) when every existing hash had one: a hash written
 * before writers set _v cannot be revalidated.
 */
function unpack(reply: unknown, sizes: readonly number[], id: string): EntityTiles & { versions?: string[]; bytes: number } {
  if (!Array.isArray(reply) || reply.length !== 2 * sizes.length) throw new TileCodecError(`read-tiles: unexpected reply for ${JSON.stringify(id)}`);
  const tiles: TileSet = new Map();
  const clocks = new Map<number, number>();
  const versions: string[] = [];
  let anyKey = false;
  let versioned = true;
  let chars = 0;
  sizes.forEach((size, j) => {
    const count = reply[2 * j] as unknown;
    const packed = reply[2 * j + 1] as unknown;
    if (typeof count !== 'number' || typeof packed !== 'string') throw new TileCodecError(`read-tiles: unexpected reply for ${JSON.stringify(id)}`);
    versions.push('');
    if (count === 0) return;
    chars += packed.length;
    let version: string | undefined;
    const lines = decodePacked(packed, size, tiles, (field, value) => {
      if (field === '_hi') anyKey = true;
      // Eviction clock: tiles expiring after it are guaranteed complete (store/lua/apply-entity.lua).
      else if (field === '_evc') clocks.set(size, Number(value));
      else if (field === '_v') version = value;
    });
    if (version === undefined || version === '') versioned = false;
    else versions[j] = version;
    if (lines !== count) throw new TileCodecError(`read-tiles: ${JSON.stringify(id)}, tile size ${size}: ${lines} lines for ${count} fields and values (a field or value holds a newline)`);
  });
  return { tiles, clocks, anyKey, versions: versioned ? versions : undefined, bytes: approximateBytes(chars) };
}
