// Chunks of consecutive ids over a ClickHouse table (core keyChunker), for the jobs that
// cut their work by the primary key's first column: the backfill's passes and the training
// sets' label chunks. A chunk read with `idsIn` is a range of that key, so ClickHouse reads
// only its granules.
import type { ClickHouseClient } from '@clickhouse/client';
import { keyChunker, type KeyChunk } from '../core/backfill.js';
import { forEachRow } from './query.js';
import { sql, str, type Sql } from './sql.js';

/**
 * Plans chunks of whole ids of at most maxCount rows each (an id with more is a chunk
 * alone) from `counts`, a SELECT of (id String, n String) ordered by id; ids after `after`
 * only. The last chunk has no upper bound. Holds one chunk at a time while it streams.
 */
export async function planKeyChunks(client: ClickHouseClient, counts: Sql, maxCount: number, after: string | null = null): Promise<KeyChunk[]> {
  const chunker = keyChunker(maxCount, after);
  const out: KeyChunk[] = [];
  await forEachRow<{ id: string; n: string }>(client, counts, ({ id, n }) => {
    const done = chunker.push(id, Number(n));
    if (done !== undefined) out.push(done);
  });
  const last = chunker.end();
  if (last !== undefined) out.push(last);
  return out;
}

/** ids of the chunk: after `after` (exclusive) up to `last` (inclusive); null bounds are open. */
export function idsIn(key: Sql, chunk: Pick<KeyChunk, 'after' | 'last'>): Sql {
  const lower = chunk.after === null ? sql`isNotNull(${key})` : sql`${key} > ${str(chunk.after)}`;
  return chunk.last === null ? lower : sql`${lower} AND ${key} <= ${str(chunk.last)}`;
}
