// Every Redis key name Tessera uses comes from here. Keys of one entity share a hash tag,
// `{u:<id>}` or `{i:<id>}`, so one Lua script can update all of an entity's hashes
// atomically, also on Redis Cluster. Ids are escaped so the tag is exactly the id.
import { CODEC_VERSION } from '../core/codec.js';
import type { Entity } from '../core/features/definition.js';

const ENTITY_TAG: Record<Entity, string> = { user: 'u', item: 'i' };

/** '{', '}' and '%' would change the hash tag; percent-encode just those. */
export function escapeId(id: string): string {
  return id.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export class KeySpace {
  /** e.g. `ts:t2` — the codec version is part of every tile key, so a new layout never misreads old tiles */
  readonly base: string;

  constructor(readonly prefix: string) {
    this.base = `${prefix}:t${CODEC_VERSION}`;
  }

  /** `{u:<id>}`: the hash tag of one entity */
  tag(entity: Entity, id: string): string {
    return `{${ENTITY_TAG[entity]}:${escapeId(id)}}`;
  }

  /** the HASH holding all tiles of one entity with one tile size */
  tiles(entity: Entity, id: string, tileMs: number): string {
    return `${this.base}:${this.tag(entity, id)}:${tileMs}`;
  }

  /** ZSET index of the tiles in one tile hash (tile index -> event-time expiry), for eviction */
  tileIndex(entity: Entity, id: string, tileMs: number): string {
    return `${this.tiles(entity, id, tileMs)}:x`;
  }

  /** per entity: applied offset per source partition (`o:<partition>`) and, for users, acceptance state */
  meta(entity: Entity, id: string): string {
    return `${this.base}:${this.tag(entity, id)}:m`;
  }

  /** a key family this KeySpace owns (for tests that clean up after themselves) */
  pattern(): string {
    return `${this.prefix}:*`;
  }
}
