// The online store's write side: per-entity markers and acceptance state in, atomic
// per-entity tile writes out (store/lua/apply-entity.lua; backfill rewrites:
// store/lua/replace-entity.lua). A fixed number of round trips per call, whatever the
// number of entities.
import { randomBytes } from 'node:crypto';
import { Command, type Redis } from 'ioredis';
import { parseAcceptanceState, serializeAcceptanceState, emptyAcceptanceState, type AcceptanceState } from '../core/acceptance.js';
import type { HashEviction } from '../core/backfill.js';
import { hiOfSetField } from '../core/codec.js';
import type { Entity } from '../core/features/definition.js';
import type { Registry } from '../core/features/registry.js';
import { opsToArgv } from '../core/ops.js';
import type { TileWrite } from '../core/preaggregate.js';
import { KeySpace } from './keys.js';
import { packStrings } from './pack-strings.js';
import { Semaphore } from './semaphore.js';
import { callScript, registerScripts, ScriptCode, SCRIPTS, StoreConflictError } from './scripts.js';

/**
 * Wall-clock slack added to every retention: keys of an idle entity live this much longer.
 * The scripts refresh a key's TTL at most every 10 minutes (store/lua/include/tile-hash.lua
 * REFRESH_MS), which this slack covers many times over.
 */
export const WALL_SLACK_MS = 24 * 3600_000;

/** Entity writes per pipeline in apply(): a few hundred KB of commands. */
const APPLY_CHUNK = 256;
/** ...and at most this many arguments per pipeline (a write of a sparse entity over a long backlog has thousands). */
const APPLY_CHUNK_ARGS = 32_768;
/**
 * apply() pipelines in flight per TileStore (over all partitions): enough for Redis to run
 * one while Node builds the next, few enough that a command never waits behind seconds of
 * other writes (batches of several fetches, six partitions at once, queued ~30 s of Lua on
 * a loaded machine, past the worker's 15 s command timeout).
 */
const APPLY_IN_FLIGHT = 8;

export interface EntityMeta {
  /** last applied offset of this entity's records from the partition; -1 when none */
  marker: number;
  /** the raw stored marker ('' when absent), for the compare-and-set */
  rawMarker: string;
}

export interface UserMeta extends EntityMeta {
  acceptance: AcceptanceState;
}

/** One backfill write of one entity: tiles of `clear.series` (by tile size) in [from, to) are recomputed. */
export interface ReplaceWrite {
  entity: Entity;
  id: string;
  tiles: TileWrite[];
  clear: { from: number; to: number; series: ReadonlyMap<number, readonly string[]>; eviction?: ReadonlyMap<number, HashEviction> };
}

/** A ReplaceWrite as replace-entity.lua's keys and arguments (TileStore.encodeReplace). */
export interface EncodedReplace {
  keys: string[];
  argv: (string | Buffer)[];
}

/** One atomic write of one entity: its tile hashes plus the new marker (and user state). */
export interface EntityWrite {
  entity: Entity;
  id: string;
  expected: EntityMeta;
  newMarker: number;
  acceptance?: AcceptanceState;
  tiles: TileWrite[];
}


export class TileStore {
  readonly keys: KeySpace;
  private readonly metaTtlMs: number;
  private readonly ttlByTileMs = new Map<string, number>();
  /**
   * Tile-hash versions (field _v, read by the API's tile cache through read-tiles.lua):
   * 96 random bits per TileStore plus a counter, so a version never repeats, also after
   * the hash was deleted or expired and is written again by another process.
   */
  private readonly runId = randomBytes(12).toString('base64url');
  private written = 0;
  private readonly inFlight = new Semaphore(APPLY_IN_FLIGHT);

  constructor(private readonly redis: Redis, prefix: string, private readonly registry: Registry) {
    this.keys = new KeySpace(prefix);
    registerScripts(redis);
    let maxRetention = registry.latenessMs;
    for (const s of registry.series.values()) {
      const k = `${s.entity}:${s.tileMs}`;
      this.ttlByTileMs.set(k, Math.max(this.ttlByTileMs.get(k) ?? 0, s.retentionMs + s.tileMs + WALL_SLACK_MS));
      maxRetention = Math.max(maxRetention, s.retentionMs);
    }
    this.metaTtlMs = maxRetention + WALL_SLACK_MS;
  }

  /** Markers (and users' acceptance states) of the given entities for one partition: one round trip. */
  async loadMeta(partition: number, users: readonly string[], items: readonly string[]): Promise<{ users: Map<string, UserMeta>; items: Map<string, EntityMeta> }> {
    const field = `o:${partition}`;
    const pipe = this.redis.pipeline();
    for (const u of users) pipe.hmget(this.keys.meta('user', u), field, 'acc');
    for (const i of items) pipe.hget(this.keys.meta('item', i), field);
    const res = (await pipe.exec()) ?? [];
    const userOut = new Map<string, UserMeta>();
    const itemOut = new Map<string, EntityMeta>();
    users.forEach((u, n) => {
      const [err, value] = res[n] ?? [new Error('missing reply'), null];
      if (err) throw err;
      const [marker, acc] = value as [string | null, string | null];
      userOut.set(u, { ...markerOf(marker), acceptance: acc ? parseAcceptanceState(acc) : emptyAcceptanceState() });
    });
    items.forEach((i, n) => {
      const [err, value] = res[users.length + n] ?? [new Error('missing reply'), null];
      if (err) throw err;
      itemOut.set(i, markerOf(value as string | null));
    });
    return { users: userOut, items: itemOut };
  }

  /**
   * Applies the writes atomically per entity, in one pipeline. Returns how many were applied
   * and how many had been applied before (a replay). Throws StoreConflictError when another
   * consumer moved a marker since loadMeta (the partition changed hands).
   */
  async apply(partition: number, writes: readonly EntityWrite[]): Promise<{ applied: number; replayed: number }> {
    if (writes.length === 0) return { applied: 0, replayed: 0 };
    // Sent in chunks, each written to the socket as soon as it is built, with a turn of the
    // event loop between chunks: Redis executes chunk k while this builds chunk k + 1 (one
    // pipeline of a whole batch is tens of MB, built in one blocking piece before Redis
    // sees any of it). One connection, so Redis runs the chunks in order.
    const chunks: Promise<[Error | null, unknown][] | null>[] = [];
    const starts: number[] = [];
    for (let i = 0; i < writes.length;) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      await this.inFlight.acquire();
      const pipe = this.redis.pipeline();
      // EVALSHA needs the script on the server: loading it ahead, in the same pipeline,
      // replaces ioredis's per-command EVAL fallback (see evalSha).
      pipe.script('LOAD', SCRIPTS.applyEntity.source);
      starts.push(i);
      const end = Math.min(writes.length, i + APPLY_CHUNK);
      // Redis's work per write grows with its arguments (ops): a chunk also ends at
      // APPLY_CHUNK_ARGS, so the work in flight stays bounded when writes are large.
      for (let args = 0; i < end && args < APPLY_CHUNK_ARGS; i++) {
        const command = this.applyCommand(partition, writes[i] as EntityWrite);
        (pipe as unknown as { sendCommand(c: Command): unknown }).sendCommand(command);
        args += command.args.length;
      }
      const done = pipe.exec().then((res) => res?.slice(1) ?? null);
      void done.finally(() => this.inFlight.release()).catch(() => undefined); // awaited below, after every chunk is sent
      chunks.push(done);
    }
    const settled = await Promise.allSettled(chunks);
    let applied = 0;
    let replayed = 0;
    let conflict: StoreConflictError | undefined;
    settled.forEach((s, c) => {
      if (s.status === 'rejected') throw s.reason;
      (s.value ?? []).forEach(([err, code], n) => {
        if (err) throw err;
        if (code === ScriptCode.Applied) applied += 1;
        else if (code === ScriptCode.AlreadyApplied) replayed += 1;
        else if (conflict === undefined) {
          const w = writes[(starts[c] as number) + n];
          conflict = new StoreConflictError(`marker of ${w?.entity} ${JSON.stringify(w?.id)} on partition ${partition} moved: another consumer owns it now`);
        }
      });
    });
    if (conflict !== undefined) throw conflict;
    return { applied, replayed };
  }

  /**
   * Backfill: per entity, atomically deletes the given series' tiles in [from, to) and
   * writes the recomputed ones (store/lua/replace-entity.lua), so running it twice leaves
   * the same state. No offset markers are involved; the acceptance state is left as it is.
   * The tile writes must hold only 'set' ops (final values, core/ops.ts asSetsOnCleared) of
   * fields in the cleared tiles and series.
   */
  async replace(writes: readonly ReplaceWrite[]): Promise<void> {
    await this.replaceEncoded(writes.map((w) => this.encodeReplace(w)));
  }

  /** replace() of writes encoded by encodeReplace, in one pipeline. */
  async replaceEncoded(writes: readonly EncodedReplace[]): Promise<void> {
    if (writes.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const w of writes) void callScript(pipe, SCRIPTS.replaceEntity, w.keys, w.argv);
    const res = (await pipe.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
  }

  private nextVersion(): string {
    return `${this.runId}.${(this.written++).toString(36)}`;
  }

  private ttlOf(entity: Entity, tileMs: number): string {
    return String(this.ttlByTileMs.get(`${entity}:${tileMs}`) ?? this.metaTtlMs);
  }

  /**
   * One apply-entity.lua call (argument layout in its header) as an EVALSHA Command, its
   * arguments written once into one array: ioredis's script commands copy them three times
   * (spread, unshift, Array#flat: ~15% of the worker's CPU at a few hundred arguments per
   * entity write). The tile ops come as built by the writer (TileWrite.wire) when it did.
   * No NOSCRIPT fallback: apply() loads the script earlier in the same pipeline.
   */
  private applyCommand(partition: number, w: EntityWrite): Command {
    const { entity, id, tiles } = w;
    const args: string[] = [SCRIPTS.applyEntity.sha, String(1 + 2 * tiles.length), this.keys.meta(entity, id)];
    for (const t of tiles) args.push(this.keys.tiles(entity, id, t.tileMs), this.keys.tileIndex(entity, id, t.tileMs));
    args.push(String(partition), w.expected.rawMarker, String(w.newMarker), w.acceptance ? serializeAcceptanceState(w.acceptance) : '', String(this.metaTtlMs), this.nextVersion());
    for (const t of tiles) {
      args.push(this.ttlOf(entity, t.tileMs), String(t.tiles.length));
      for (const tile of t.tiles) args.push((tile.start / t.tileMs).toString(36), String(tile.expireAt));
      args.push('0');
      const ops = t.wire ?? opsToArgv(t.ops);
      args.push(String(ops.length));
      for (let k = 0; k < ops.length; k++) args.push(ops[k] as string);
    }
    const command = new Command('evalsha');
    command.args = args;
    return command;
  }

  /**
   * One replace-entity.lua call (argument layout in its header), to send with
   * replaceEncoded: the backfill encodes each entity's write as soon as it is recomputed,
   * so its ops and field strings die young instead of waiting (and being promoted, then
   * collected from the old generation) for the pipeline they go in.
   */
  encodeReplace(w: ReplaceWrite): EncodedReplace {
    const keys = [this.keys.meta(w.entity, w.id)];
    const argv: (string | Buffer)[] = [String(this.metaTtlMs), this.nextVersion()];
    for (const t of w.tiles) {
      keys.push(this.keys.tiles(w.entity, w.id, t.tileMs), this.keys.tileIndex(w.entity, w.id, t.tileMs));
      // Scores as strings: a Lua number argument costs Redis 7.0 a printf("%.17g") (measured).
      const tiles: string[] = new Array<string>(2 * t.tiles.length);
      let lowest = Infinity;
      t.tiles.forEach((tile, i) => {
        tiles[2 * i] = String(tile.expireAt);
        tiles[2 * i + 1] = (tile.start / t.tileMs).toString(36);
        if (tile.expireAt < lowest) lowest = tile.expireAt;
      });
      argv.push(this.ttlOf(w.entity, t.tileMs), packStrings(tiles), lowest === Infinity ? '' : String(lowest));
      const from = Math.floor(w.clear.from / t.tileMs);
      const ev = w.clear.eviction?.get(t.tileMs);
      const series = w.clear.series.get(t.tileMs) ?? [];
      let clock = ev?.clock ?? -1;
      const clockAt = argv.length + 3;
      argv.push(String(from), String(Math.ceil(w.clear.to / t.tileMs)), String((from + 1) * t.tileMs), '', String(ev?.evictedUntil ?? -1), String(series.length), ...series);
      const fields: string[] = new Array<string>(2 * t.ops.length);
      t.ops.forEach((op, i) => {
        if (op.op !== 'set') throw new TypeError(`replace: ${op.op} op on ${op.field}; backfill writes carry final values (set)`);
        fields[2 * i] = op.field;
        fields[2 * i + 1] = op.value;
        // Without the recompute's clock, the tiles' hi give it (`t` summaries start with it).
        if (ev === undefined) {
          const hi = hiOfSetField(op.field, op.value);
          if (hi !== undefined && hi > clock) clock = hi;
        }
      });
      argv.push(packStrings(fields));
      argv[clockAt] = String(clock);
    }
    return { keys, argv };
  }
}

function markerOf(raw: string | null): EntityMeta {
  return raw === null ? { marker: -1, rawMarker: '' } : { marker: Number(raw), rawMarker: raw };
}

