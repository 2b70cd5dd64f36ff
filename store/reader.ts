// The online store's read side: feature values of many entities at one time T, from the
// Redis tiles, in ONE round trip (a pipeline of one read-tiles script call per entity,
// store/lua/read-tiles.lua, which returns each of the entity's tile hashes packed into one
// string). Values are exact or the result says which features Redis cannot answer exactly
// at T (the caller then asks ClickHouse).
import type { Redis } from 'ioredis';
import { decodePacked, TileCodecError, type TileSet } from '../core/codec.js';
import { evaluateMany } from '../core/evaluate.js';
import { isRatio, type Entity, type FeatureDefinition, type FeatureValue } from '../core/features/definition.js';
import type { Registry } from '../core/features/registry.js';
import { KeySpace } from './keys.js';
import { callScript, registerScripts, SCRIPTS } from './scripts.js';

export interface EntityReading {
  id: string;
  /** exact values by feature name (only the features Redis could answer) */
  values: Record<string, FeatureValue>;
  /** features Redis cannot answer exactly at T */
  inexact: string[];
}

/** One entity's tiles as read: decoded tiles, eviction clocks by tile size, and whether any key exists. */
interface EntityTiles {
  tiles: TileSet;
  clocks: Map<number, number>;
  anyKey: boolean;
}

export class FeatureReader {
  private readonly keys: KeySpace;

  constructor(private readonly redis: Redis, prefix: string, private readonly registry: Registry) {
    this.keys = new KeySpace(prefix);
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
    const pipe = this.redis.pipeline();
    for (const id of ids) callScript(pipe, SCRIPTS.readTiles, sizes.map((size) => this.keys.tiles(entity, id, size)), []);
    const replies = (await pipe.exec()) ?? [];
    const retention = Math.max(0, ...names.map((n) => this.registry.retentionMs(n)));

    return ids.map((id, i) => {
      const [err, reply] = replies[i] ?? [new Error('missing reply'), null];
      if (err) throw err;
      const read = unpack(reply, sizes, id);
      const reading: EntityReading = { id, values: {}, inexact: [] };
      // No key: either no events ever, or all expired by wall-clock TTL; only a recent T is safe.
      if (!read.anyKey && T < wallNow - retention) {
        reading.inexact.push(...names);
        return reading;
      }
      const evaluations = evaluateMany(names, read.tiles, T, { registry: this.registry, now: (tileMs) => read.clocks.get(tileMs) });
      for (const name of names) {
        const ev = evaluations[name];
        if (ev?.exact) reading.values[name] = ev.value;
        else reading.inexact.push(name);
      }
      return reading;
    });
  }
}

/** Decodes one read-tiles reply: per tile size, a field count and the packed fields. */
function unpack(reply: unknown, sizes: readonly number[], id: string): EntityTiles {
  if (!Array.isArray(reply) || reply.length !== 2 * sizes.length) throw new TileCodecError(`read-tiles: unexpected reply for ${JSON.stringify(id)}`);
  const out: EntityTiles = { tiles: new Map(), clocks: new Map(), anyKey: false };
  sizes.forEach((size, j) => {
    const count = reply[2 * j] as unknown;
    const packed = reply[2 * j + 1] as unknown;
    if (typeof count !== 'number' || typeof packed !== 'string') throw new TileCodecError(`read-tiles: unexpected reply for ${JSON.stringify(id)}`);
    if (count === 0) return;
    const lines = decodePacked(packed, size, out.tiles, (field, value) => {
      if (field === '_hi') out.anyKey = true;
      // Eviction clock: tiles expiring after it are guaranteed complete (store/lua/apply-entity.lua).
      else if (field === '_evc') out.clocks.set(size, Number(value));
    });
    if (lines !== count) throw new TileCodecError(`read-tiles: ${JSON.stringify(id)}, tile size ${size}: ${lines} lines for ${count} fields and values (a field or value holds a newline)`);
  });
  return out;
}
