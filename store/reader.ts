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
import { evaluateMany, evaluateSnapshot, type EvaluateContext, type Evaluation, type EvaluationSnapshot } from '../core/evaluate.js';
import { isRatio, type Entity, type FeatureDefinition, type FeatureValue } from '../core/features/definition.js';
import type { Registry } from '../core/features/registry.js';
import { KeySpace } from './keys.js';
import { callScript, registerScripts, SCRIPTS } from './scripts.js';
import { approximateBytes, type CachedTiles, type EntityTiles, type TileCache } from './tile-cache.js';

/**
 * One entity's features at T. Readings may be shared by several requests (the reader
 * reuses one while its snapshot's values stand): never mutate one.
 */
export interface EntityReading {
  readonly id: string;
  /** exact values by feature name: the requested names Redis could answer, in request order */
  readonly values: Readonly<Record<string, FeatureValue>>;
  /** features Redis cannot answer exactly at T */
  readonly inexact: readonly string[];
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
  private readonly plans = new Map<string, ReadPlan>();

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
    const { namesKey, sizes, group, retention } = this.planOf(entity, names);
    const cache = this.cache;
    // The entries whose versions go with this request: an "unchanged" answer vouches for
    // exactly these objects, whatever other requests store meanwhile.
    const cacheKeys = cache ? ids.map((id) => group + id) : [];
    const cached = cache ? cacheKeys.map((k) => cache.peek(k)) : [];
    const replies = await this.readTiles(entity, ids, sizes, cached);

    // counted here and reported once per read: a metric update per entity costs more than the hit
    const outcomes = { hit: 0, stale: 0, cold: 0 };
    const evaluations = { reused: 0, computed: 0 };
    const readings = ids.map((id, i): EntityReading => {
      const reply = replies[i];
      const entry = cached[i];
      if (reply === UNCHANGED) {
        if (entry === undefined || cache === undefined) throw new TileCodecError(`read-tiles: "unchanged" for ${JSON.stringify(id)}, which was not cached`);
        cache.touch(entry);
        outcomes.hit++;
        return this.readingOf(id, entry, names, T, wallNow, retention, { cache, key: cacheKeys[i] as string, namesKey, counts: evaluations });
      }
      const unpacked = unpack(reply, sizes, id);
      if (cache === undefined) return this.readingOf(id, unpacked, names, T, wallNow, retention);
      outcomes[entry === undefined ? 'cold' : 'stale']++;
      const key = cacheKeys[i] as string;
      // Entities without any tiles are not kept: nothing to save, and they would push out real ones.
      if (unpacked.versions === undefined || !unpacked.anyKey) {
        cache.delete(key);
        return this.readingOf(id, unpacked, names, T, wallNow, retention);
      }
      const stored: CachedTiles = { ...unpacked, versions: unpacked.versions, keys: this.tileKeys(entity, id, sizes), versionArg: versionArg(unpacked.versions) };
      cache.set(key, stored);
      return this.readingOf(id, stored, names, T, wallNow, retention, { cache, key, namesKey, counts: evaluations });
    });
    if (cache !== undefined) {
      for (const r of ['hit', 'stale', 'cold'] as const) cache.lookedUp(entity, r, outcomes[r]);
      for (const r of ['reused', 'computed'] as const) cache.evaluated(r, evaluations[r]);
    }
    return readings;
  }

  /**
   * What a read of these names needs, worked out once per distinct list (a bounded table):
   * the names joined, as ONE string object per list, so that comparing it with the key a
   * snapshot was kept under is a pointer comparison rather than a read of a string
   * elsewhere in the heap for every entity; the tile sizes; the cache-key prefix; and the
   * longest retention.
   */
  private planOf(entity: Entity, names: readonly string[]): ReadPlan {
    const joined = `${entity}:${names.join(',')}`;
    const known = this.plans.get(joined);
    if (known !== undefined) return known;
    const defs = names.map((n) => this.registry.get(n));
    for (const d of defs) if (d.entity !== entity) throw new RangeError(`feature ${d.name} is a ${d.entity} feature, not ${entity}`);
    const sizes = this.tileSizesFor(defs);
    const plan: ReadPlan = {
      namesKey: joined, sizes,
      group: `${this.keys.base}:${entity}:${sizes.join(',')}:`,
      retention: Math.max(0, ...names.map((n) => this.registry.retentionMs(n))),
    };
    if (this.plans.size >= 1024) this.plans.clear();
    this.plans.set(joined, plan);
    return plan;
  }

  /** The tile hashes of one entity, one per tile size. */
  private tileKeys(entity: Entity, id: string, sizes: readonly number[]): string[] {
    return sizes.map((size) => this.keys.tiles(entity, id, size));
  }

  /**
   * One entity's reading at T from its tiles. `cached`: the tiles are (now) the cache entry
   * under that key, whose snapshots may answer and keep what is evaluated here.
   */
  private readingOf(id: string, read: EntityTiles, names: readonly string[], T: number, wallNow: number, retention: number, cached?: SnapshotUse): EntityReading {
    // No key: either no events ever, or all expired by wall-clock TTL; only a recent T is safe.
    if (!read.anyKey && T < wallNow - retention) return { id, values: {}, inexact: [...names] };
    if (cached === undefined) return readingFrom(id, names, evaluateMany(names, read.tiles, T, this.context(read)));
    const entry = read as CachedTiles;
    const known = cached.cache.snapshotOf(entry, cached.namesKey);
    if (known !== undefined && T >= known.from && T < known.until) {
      cached.counts.reused++;
      const evaluations = known.snapshot.valuesAt(T);
      // A snapshot hands out the same evaluations object for every T that moves no value:
      // its reading (this entity's id, values and inexact names) is then the same too.
      const memo = known.reading;
      if (memo !== undefined && memo.of === evaluations) return memo.reading;
      const reading = readingFrom(id, names, evaluations);
      known.reading = { of: evaluations, reading };
      return reading;
    }
    const snapshot = evaluateSnapshot(names, read.tiles, T, this.context(read));
    cached.counts.computed++;
    cached.cache.keepSnapshot(cached.key, entry, cached.namesKey, snapshot, snapshotBytes(names, snapshot));
    return readingFrom(id, names, snapshot.valuesAt(T));
  }

  private context(read: EntityTiles): EvaluateContext {
    return { registry: this.registry, now: (tileMs: number) => read.clocks.get(tileMs) };
  }

  /**
   * One read-tiles reply per id, in ONE round trip: a pipeline of script calls of up to
   * entitiesPerCall entities each (sending each cached entity's versions).
   */
  private async readTiles(entity: Entity, ids: readonly string[], sizes: readonly number[], cached: ReadonlyArray<CachedTiles | undefined>): Promise<unknown[]> {
    if (ids.length === 0) return [];
    const per = this.entitiesPerCall;
    // One call (up to `per` entities, the API's usual request) needs no pipeline object.
    const pipe = ids.length > per ? this.redis.pipeline() : undefined;
    const calls: unknown[] = [];
    for (let from = 0; from < ids.length; from += per) {
      const keys: string[] = [];
      const argv = [String(sizes.length)];
      for (let i = from; i < Math.min(ids.length, from + per); i++) {
        const entry = cached[i];
        // A cached entry's key names are the ones this id and these sizes give (same cache key).
        for (const key of entry?.keys ?? this.tileKeys(entity, ids[i] as string, sizes)) keys.push(key);
        argv.push(entry === undefined ? '-' : (entry.versionArg ?? versionArg(entry.versions)));
      }
      calls.push(callScript(pipe ?? this.redis, SCRIPTS.readTiles, keys, argv));
    }
    const replies: unknown[] = pipe === undefined ? [await calls[0]] : ((await pipe.exec()) ?? []).map(([err, reply]) => {
      if (err) throw err;
      return reply;
    });
    const out: unknown[] = [];
    for (const reply of replies) {
      if (!Array.isArray(reply)) throw new TileCodecError('read-tiles: unexpected reply');
      for (const r of reply as unknown[]) out.push(r);
    }
    if (out.length !== ids.length) throw new TileCodecError(`read-tiles: ${out.length} replies for ${ids.length} entities`);
    return out;
  }
}

/** What a read of one name list needs (FeatureReader.planOf). */
interface ReadPlan {
  /** the entity and names, joined: the key of the entries' snapshots of these names */
  namesKey: string;
  sizes: number[];
  /** cache keys are this plus the id */
  group: string;
  /** the longest retention of the names */
  retention: number;
}

/** How readingOf uses the cache entry the tiles are stored as. */
interface SnapshotUse {
  cache: TileCache;
  key: string;
  /** the feature names, joined: which of the entry's snapshots */
  namesKey: string;
  counts: Record<'reused' | 'computed', number>;
}

/** read-tiles.lua's argument for a cached entity: '=' and its keys' versions, one per line. */
const versionArg = (versions: readonly string[]): string => `=${versions.join('\n')}`;

/** A reading from evaluations of `names`: exact values in names order, the rest inexact. */
function readingFrom(id: string, names: readonly string[], evaluations: Readonly<Record<string, Evaluation>>): EntityReading {
  const values: Record<string, FeatureValue> = {};
  const inexact: string[] = [];
  for (const name of names) {
    const ev = evaluations[name];
    if (ev?.exact) values[name] = ev.value;
    else inexact.push(name);
  }
  return { id, values, inexact };
}

/** Heap bytes of a snapshot: its values, the reading made of them and the sorted tile lists it keeps (approximate). */
const snapshotBytes = (names: readonly string[], snapshot: EvaluationSnapshot): number => 384 + 160 * names.length + 40 * snapshot.retainedTiles;

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
