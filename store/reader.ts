// The online store's read side: feature values of many entities at one time T, from the
// Redis tiles, in ONE round trip (a pipeline of HGETALLs, one per entity and tile size).
// Values are exact or the result says which features Redis cannot answer exactly at T
// (the caller then asks ClickHouse).
import type { Redis } from 'ioredis';
import { decodeHash, type TileSet } from '../core/codec.js';
import { evaluateFromTiles } from '../core/evaluate.js';
import { isRatio, type Entity, type FeatureDefinition, type FeatureValue } from '../core/features/definition.js';
import type { Registry } from '../core/features/registry.js';
import { KeySpace } from './keys.js';

export interface EntityReading {
  id: string;
  /** exact values by feature name (only the features Redis could answer) */
  values: Record<string, FeatureValue>;
  /** features Redis cannot answer exactly at T */
  inexact: string[];
}

export class FeatureReader {
  private readonly keys: KeySpace;

  constructor(private readonly redis: Redis, prefix: string, private readonly registry: Registry) {
    this.keys = new KeySpace(prefix);
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
    const pipe = this.redis.pipeline();
    for (const id of ids) for (const size of sizes) pipe.hgetall(this.keys.tiles(entity, id, size));
    const replies = (await pipe.exec()) ?? [];
    const retention = Math.max(0, ...names.map((n) => this.registry.retentionMs(n)));

    return ids.map((id, i) => {
      const tiles: TileSet = new Map();
      const clocks = new Map<number, number>();
      let anyKey = false;
      sizes.forEach((size, j) => {
        const [err, fields] = replies[i * sizes.length + j] ?? [new Error('missing reply'), null];
        if (err) throw err;
        const hash = fields as Record<string, string>;
        if (hash._hi !== undefined) anyKey = true;
        // Eviction clock: tiles expiring after it are guaranteed complete (store/lua/apply-entity.lua).
        if (hash._evc !== undefined) clocks.set(size, Number(hash._evc));
        decodeHash(hash, size, tiles);
      });
      const reading: EntityReading = { id, values: {}, inexact: [] };
      // No key: either no events ever, or all expired by wall-clock TTL; only a recent T is safe.
      const unknown = !anyKey && T < wallNow - retention;
      for (const def of defs) {
        const ev = unknown ? { exact: false as const } : evaluateFromTiles(def, tiles, T, { registry: this.registry, now: (tileMs) => clocks.get(tileMs) });
        if (ev.exact) reading.values[def.name] = ev.value;
        else reading.inexact.push(def.name);
      }
      return reading;
    });
  }
}
