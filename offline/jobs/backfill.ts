// Backfill: recompute the Redis tiles of a time range from the accepted events in
// ClickHouse (after a bug fix, a new feature, a lost Redis). The range is widened to whole
// tiles and cut into chunks of whole tiles (core/backfill.ts); each chunk is one query and
// one set of per-entity atomic replace writes, so:
// - idempotent: a chunk deletes the tiles it recomputes before writing them;
// - resumable: `resumeFrom` (the end of the last finished chunk, kept in the job's data)
//   skips finished chunks after a crash; re-running a half-written chunk is harmless.
// Entities with tiles in the range but no events in ClickHouse are left alone (found only
// by a SCAN of Redis, which a chunked job cannot afford).
import type { ClickHouseClient } from '@clickhouse/client';
import type { Redis } from 'ioredis';
import { alignRange, planChunks, recomputeChunk, seriesForFeatures } from '../../core/backfill.js';
import type { Registry } from '../../core/features/registry.js';
import { TileStore, type ReplaceWrite } from '../../store/tile-store.js';
import { EVENT_COLUMNS, EVENTS_TABLE, rowToEvent, utcDay, type StoredEventRow } from '../events-table.js';
import { selectRows } from '../query.js';
import { ident, int64, join, sql, str, table, type Sql } from '../sql.js';

export interface BackfillInput {
  from: number;
  to: number;
  /** undefined: every feature */
  names?: string[];
  /** events per chunk (default 200,000): smaller chunks mean finer progress and resumption */
  chunkEvents?: number;
}

export interface BackfillProgress {
  /** 0..1 by events */
  fraction: number;
  chunksDone: number;
  chunks: number;
  events: number;
  entities: number;
  /** end of the last finished chunk: where a restart continues */
  doneUntil: number;
}

export interface BackfillResult {
  from: number;
  to: number;
  chunks: number;
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

const COLUMNS = join(EVENT_COLUMNS.filter((c) => c !== 'inserted_at').map((c) => ident(c)));

function inRange(column: Sql, from: number, to: number): Sql {
  return sql`${column} >= ${int64(from)} AND ${column} < ${int64(to)}`;
}

/**
 * event_time in [from, to), plus the same bound on the partition key (event_date), so a
 * chunk reads only its own day partitions instead of scanning the table per chunk.
 */
function eventTimeIn(from: number, to: number): Sql {
  return sql`event_date >= toDate(${str(utcDay(from))}) AND event_date <= toDate(${str(utcDay(to - 1))}) AND ${inRange(sql`event_time`, from, to)}`;
}

/** Events per tile-sized bucket of event_time (and ingest_time when ingestion-time series are included). */
async function bucketCounts(deps: BackfillDeps, from: number, to: number, tileMs: number, ingestion: boolean): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const columns: Array<[Sql, Sql]> = [[sql`event_time`, eventTimeIn(from, to)]];
  if (ingestion) columns.push([sql`ingest_time`, inRange(sql`ingest_time`, from, to)]);
  for (const [c, where] of columns) {
    const rows = await selectRows<{ b: string; n: string }>(deps.clickhouse, sql`
      SELECT toString(intDiv(${c}, ${int64(tileMs)}) * ${int64(tileMs)}) AS b, toString(count()) AS n
      FROM ${table(deps.database, EVENTS_TABLE)} WHERE ${where} GROUP BY b`);
    for (const r of rows) counts.set(Number(r.b), (counts.get(Number(r.b)) ?? 0) + Number(r.n));
  }
  return counts;
}

/** The deduplicated accepted events whose event_time (or ingest_time) falls in [from, to). */
async function chunkEvents(deps: BackfillDeps, from: number, to: number, ingestion: boolean) {
  const where = ingestion ? sql`(${inRange(sql`event_time`, from, to)}) OR (${inRange(sql`ingest_time`, from, to)})` : eventTimeIn(from, to);
  const rows = await selectRows<StoredEventRow>(deps.clickhouse, sql`SELECT ${COLUMNS} FROM ${table(deps.database, EVENTS_TABLE)} FINAL WHERE ${where}`);
  return rows.map(rowToEvent);
}

export async function runBackfill(deps: BackfillDeps, input: BackfillInput, opts: {
  resumeFrom?: number;
  onProgress?: (p: BackfillProgress) => Promise<void> | void;
  signal?: AbortSignal;
} = {}): Promise<BackfillResult> {
  const t0 = performance.now();
  const series = seriesForFeatures(deps.registry, input.names);
  const range = alignRange(series, input.from, input.to);
  const ingestion = series.some((s) => s.time === 'ingestion');
  const start = Math.max(range.from, opts.resumeFrom ?? range.from);
  const chunks = planChunks({ ...range, from: start }, await bucketCounts(deps, start, range.to, range.tileMs, ingestion), input.chunkEvents ?? 200_000);
  const total = chunks.reduce((a, c) => a + c.events, 0);
  const store = new TileStore(deps.redis, deps.prefix, deps.registry);
  const perPipeline = deps.writesPerPipeline ?? 200;
  let events = 0;
  let entityWrites = 0;
  // The next chunk's query runs in ClickHouse while this chunk is recomputed and written.
  const fetch = (k: number) => {
    const c = chunks[k];
    if (c === undefined) return undefined;
    const p = chunkEvents(deps, c.from, c.to, ingestion);
    p.catch(() => undefined); // awaited (and thrown) when its turn comes
    return p;
  };
  let next = fetch(0);
  for (const [i, chunk] of chunks.entries()) {
    opts.signal?.throwIfAborted();
    const batch = (await next) ?? [];
    next = fetch(i + 1);
    // One pipeline in flight while the next one is computed: Redis runs the Lua writes on
    // its own core meanwhile (waiting for each before computing the next left the job idle
    // most of the time).
    let inFlight: Promise<void> = Promise.resolve();
    let pending: ReplaceWrite[] = [];
    const send = async (): Promise<void> => {
      await inFlight;
      inFlight = store.replace(pending);
      inFlight.catch(() => undefined); // awaited (and thrown) by the next send
      pending = [];
    };
    for (const w of recomputeChunk(batch, deps.registry, series, chunk.from, chunk.to)) {
      pending.push({ entity: w.entity, id: w.id, tiles: w.tiles, clear: { from: chunk.from, to: chunk.to, series: w.clear, eviction: w.eviction } });
      entityWrites += 1;
      if (pending.length >= perPipeline) await send();
    }
    await send();
    await inFlight;
    events += chunk.events;
    await opts.onProgress?.({ fraction: total === 0 ? 1 : events / total, chunksDone: i + 1, chunks: chunks.length, events, entities: entityWrites, doneUntil: chunk.to });
  }
  if (chunks.length === 0) await opts.onProgress?.({ fraction: 1, chunksDone: 0, chunks: 0, events: 0, entities: 0, doneUntil: range.to });
  return { from: range.from, to: range.to, chunks: chunks.length, events, entityWrites, ms: performance.now() - t0 };
}
