// Backfill: recompute the Redis tiles of a time range from the accepted events in
// ClickHouse (after a bug fix, a new feature, a lost Redis). The range is widened to whole
// tiles; the work is cut by entity, not by time: one pass per entity kind (users from
// `events`, items from `events_by_item`, each ordered by its id), each cut into chunks of
// consecutive ids (core/backfill.ts keyChunker). A chunk is one query, read through the
// table's primary key, and one atomic replace write per entity covering the whole range, so:
// - each entity is written once, with only the tiles still alive at its own last event
//   (time chunks wrote every entity once per chunk, with the tiles each chunk kept alive);
// - idempotent: an entity's write deletes the tiles it recomputes before writing them;
// - resumable: `resume` (the passes done and the last id finished in the next one, kept in
//   the job's data) skips finished chunks after a crash; re-running a chunk is harmless.
// Entities with tiles in the range but no events in ClickHouse are left alone (found only
// by a SCAN of Redis, which a chunked job cannot afford).
import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import type { Readable } from 'node:stream';
import { alignRange, entityBatcher, recomputeChunk, seriesForFeatures, type KeyChunk } from '../../core/backfill.js';
import type { ClickEvent } from '../../core/event.js';
import { ENTITIES, type Entity } from '../../core/features/definition.js';
import type { Registry } from '../../core/features/registry.js';
import type { Series } from '../../core/features/series.js';
import { TileStore, type EncodedReplace } from '../../store/tile-store.js';
import { eventColumns, readEvents, type EventColumns } from '../events-binary.js';
import { EVENTS_BY_ITEM_TABLE, EVENTS_TABLE, utcDay } from '../events-table.js';
import { idsIn, planKeyChunks } from '../key-chunks.js';
import { openBinary } from '../query.js';
import { ident, int64, sql, str, table, type Sql } from '../sql.js';

export interface BackfillInput {
  from: number;
  to: number;
  /** undefined: every feature */
  names?: string[];
  /** events per chunk (default 200,000): smaller chunks mean finer progress and resumption */
  chunkEvents?: number;
}

/** Where a restarted backfill continues. */
export interface BackfillResume {
  /** entity kinds whose pass is finished */
  done: Entity[];
  /** in the next pass, every id up to this one (inclusive, ClickHouse's order) is finished; null: none */
  after: string | null;
}

export interface BackfillProgress {
  /** 0..1 by events */
  fraction: number;
  chunksDone: number;
  chunks: number;
  events: number;
  entities: number;
  /** the entity kind being recomputed */
  entity: Entity;
  /** after the last finished chunk: where a restart continues */
  resume: BackfillResume;
}

export interface BackfillResult {
  from: number;
  to: number;
  chunks: number;
  /** events read: once per entity kind recomputed (an event with an item counts for its user and its item) */
  events: number;
  entityWrites: number;
  ms: number;
}

export interface BackfillDeps {
  clickhouse: ClickHouseClient;
  database: string;
  redis: Redis;
  prefix: string;
  registry: Registry;
  /** entity writes per Redis pipeline (default 200) */
  writesPerPipeline?: number;
}

/** Where each entity kind's events are read from: a table ordered by that entity's id first. */
const PASS: Record<Entity, { table: string; key: Sql }> = {
  user: { table: EVENTS_TABLE, key: ident('user_id') },
  item: { table: EVENTS_BY_ITEM_TABLE, key: ident('item_id') },
};

function inRange(column: Sql, from: number, to: number): Sql {
  return sql`${column} >= ${int64(from)} AND ${column} < ${int64(to)}`;
}

/**
 * The accepted events whose event_time (or, with ingestion-time series, ingest_time)
 * falls in [from, to); the event_time form also bounds the partition key (event_date), so
 * only the range's day partitions are read.
 */
function timeIn(from: number, to: number, ingestion: boolean): Sql {
  const byEventTime = sql`event_date >= toDate(${str(utcDay(from))}) AND event_date <= toDate(${str(utcDay(to - 1))}) AND ${inRange(sql`event_time`, from, to)}`;
  return ingestion ? sql`((${inRange(sql`event_time`, from, to)}) OR (${inRange(sql`ingest_time`, from, to)}))` : byEventTime;
}

/** A chunk of one pass; its `last` is null for the pass's final chunk (keyChunker). */
interface PlannedChunk extends KeyChunk {
  entity: Entity;
  series: Series[];
  /** the columns the pass's series read (the optional ones their filters and values need) */
  columns: EventColumns;
}

/** One pass's chunks, from the event count of each id in the range (duplicates counted: a plan, not a result). */
async function planPass(deps: BackfillDeps, entity: Entity, series: Series[], where: Sql, maxEvents: number, after: string | null): Promise<PlannedChunk[]> {
  const { table: name, key } = PASS[entity];
  const columns = eventColumns(series.flatMap((s) => s.requires));
  const chunks = await planKeyChunks(deps.clickhouse, sql`
    SELECT ${key} AS id, toString(count()) AS n FROM ${table(deps.database, name)}
    WHERE ${where} AND ${idsIn(key, { after, last: null })} GROUP BY id ORDER BY id`, maxEvents, after);
  return chunks.map((c) => ({ ...c, entity, series, columns }));
}

/**
 * The deduplicated accepted events of one chunk's ids, ordered by id (each entity's
 * events consecutive), with the fields its series read, as RowBinary.
 */
function chunkQuery(deps: BackfillDeps, chunk: PlannedChunk, where: Sql): Sql {
  const { table: name, key } = PASS[chunk.entity];
  return sql`SELECT ${chunk.columns.columns} FROM ${table(deps.database, name)} FINAL WHERE ${where} AND ${idsIn(key, chunk)} ORDER BY ${key}`;
}

/** Entities are recomputed in batches of whole entities of at least this many events (or one entity), as their rows arrive: smaller batches die younger (2,000 cost ~15% more CPU in garbage collection). */
const BATCH_EVENTS = 500;

/**
 * Replace pipelines in flight: one running in Redis, one queued behind it, so Redis never
 * waits while Node recomputes the next (with one, it idled for each pipeline's send and at
 * every chunk's end; a chunk of 200 items was a single pipeline, recomputed then written
 * with nothing overlapping).
 */
const PIPELINES_IN_FLIGHT = 2;
/** A pipeline also ends at this many fields written (~10 per event of a sparse stream): entities vary 1,000-fold in size. */
const FIELDS_PER_PIPELINE = 50_000;

/** Replace writes sent in pipelines, at most `depth` in flight (errors surface from a later send or settled). */
function pipelinedWrites(store: TileStore, depth: number): { send(writes: EncodedReplace[]): Promise<void>; settled(): Promise<void> } {
  const inFlight: Promise<void>[] = [];
  return {
    async send(writes) {
      if (writes.length === 0) return;
      while (inFlight.length >= depth) await inFlight.shift();
      const p = store.replaceEncoded(writes);
      p.catch(() => undefined); // awaited (and thrown) later
      inFlight.push(p);
    },
    // Pipelines on one connection complete in order: these are all sent so far.
    async settled() {
      await Promise.all(inFlight);
    },
  };
}

/** Where a restart continues once `chunk` is finished. */
function resumeAfter(chunk: PlannedChunk, done: readonly Entity[]): BackfillResume {
  return chunk.last === null ? { done: [...done, chunk.entity], after: null } : { done: [...done], after: chunk.last };
}

export async function runBackfill(deps: BackfillDeps, input: BackfillInput, opts: {
  resume?: BackfillResume;
  onProgress?: (p: BackfillProgress) => Promise<void> | void;
  signal?: AbortSignal;
} = {}): Promise<BackfillResult> {
  const t0 = performance.now();
  const series = seriesForFeatures(deps.registry, input.names);
  const range = alignRange(series, input.from, input.to);
  const where = timeIn(range.from, range.to, series.some((s) => s.time === 'ingestion'));
  const maxEvents = input.chunkEvents ?? 200_000;
  const done = (opts.resume?.done ?? []).filter((e) => ENTITIES.includes(e));
  const chunks: PlannedChunk[] = [];
  let after = opts.resume?.after ?? null; // applies to the first pass not done
  for (const entity of ENTITIES) {
    const own = series.filter((s) => s.entity === entity);
    if (own.length === 0 || done.includes(entity)) continue;
    chunks.push(...await planPass(deps, entity, own, where, maxEvents, after));
    after = null;
  }
  const total = chunks.reduce((a, c) => a + c.events, 0);
  const store = new TileStore(deps.redis, deps.prefix, deps.registry);
  const perPipeline = deps.writesPerPipeline ?? 200;
  const writer = pipelinedWrites(store, PIPELINES_IN_FLIGHT);
  let events = 0;
  let entityWrites = 0;
  // The next chunk's query runs, and its rows arrive, while this chunk is read, recomputed and written.
  const open = (k: number): Promise<Readable> | undefined => {
    const c = chunks[k];
    if (c === undefined) return undefined;
    const p = openBinary(deps.clickhouse, chunkQuery(deps, c, where), 'RowBinary', { prefetch: true });
    p.catch(() => undefined); // awaited (and thrown) when its turn comes
    return p;
  };
  let next = open(0);
  // A chunk is reported (its resume point saved) once its writes are acknowledged, in
  // chunk order, without waiting for that here: the next chunk is recomputed meanwhile.
  let reported: Promise<void> = Promise.resolve();
  let pending: EncodedReplace[] = [];
  let fields = 0;
  const write = async (batch: readonly ClickEvent[], chunk: PlannedChunk): Promise<void> => {
    for (const w of recomputeChunk(batch, deps.registry, chunk.series, range.from, range.to)) {
      // Encoded at once: the write's ops die young (TileStore.encodeReplace).
      pending.push(store.encodeReplace({ entity: w.entity, id: w.id, tiles: w.tiles, clear: { from: range.from, to: range.to, series: w.clear, eviction: w.eviction } }));
      entityWrites += 1;
      for (const t of w.tiles) fields += t.ops.length;
      if (pending.length >= perPipeline || fields >= FIELDS_PER_PIPELINE) await flush();
    }
  };
  const flush = async (): Promise<void> => {
    const writes = pending;
    pending = [];
    fields = 0;
    await writer.send(writes);
  };
  try {
    for (const [i, chunk] of chunks.entries()) {
      opts.signal?.throwIfAborted();
      const body = await (next as Promise<Readable>);
      next = open(i + 1);
      const batcher = entityBatcher(chunk.entity, BATCH_EVENTS);
      await readEvents(body, chunk.columns, async (rows) => {
        for (const e of rows) {
          const batch = batcher.push(e);
          if (batch !== undefined) await write(batch, chunk);
        }
      });
      const last = batcher.end();
      if (last !== undefined) await write(last, chunk);
      await flush();
      events += chunk.events;
      const progress: BackfillProgress = { fraction: total === 0 ? 1 : events / total, chunksDone: i + 1, chunks: chunks.length, events, entities: entityWrites, entity: chunk.entity, resume: resumeAfter(chunk, done) };
      if (chunk.last === null) done.push(chunk.entity);
      const written = writer.settled();
      await reported; // the previous chunk's: its writes went before this chunk's, so this rarely waits
      reported = written.then(() => opts.onProgress?.(progress));
      reported.catch(() => undefined); // awaited (and thrown) with the next chunk or below
    }
    await reported;
  } finally {
    void next?.then((body) => body.destroy(), () => undefined); // an unread query, after an error
  }
  if (chunks.length === 0) await opts.onProgress?.({ fraction: 1, chunksDone: 0, chunks: 0, events: 0, entities: 0, entity: ENTITIES[0], resume: { done: [...ENTITIES], after: null } });
  return { from: range.from, to: range.to, chunks: chunks.length, events, entityWrites, ms: performance.now() - t0 };
}
