// Retention without TTL (DESIGN §5): a scheduled job drops whole day partitions older than
// the horizon. A partition for UTC day D holds events in [D, D + 1 day); it is dropped when
// all of it is older than the horizon: D + 1 day <= now - days.
import type { ClickHouseClient } from '@clickhouse/client';
import { execute, selectRows } from './query.js';
import { ident, isIdentifier, sql, str, table, type Sql } from './sql.js';

export class RetentionError extends Error {
  override name = 'RetentionError';
}

const DAY_MS = 86_400_000;

/** The day-partitioned tables Tessera's retention job prunes (events_by_item mirrors events). */
export const RETENTION_TABLES = ['events', 'events_by_item', 'rejected_events'] as const;

export interface DroppedPartition {
  table: string;
  partitionId: string;
  /** 'YYYY-MM-DD' */
  day: string;
  rows: number;
  bytes: number;
}

/** 'YYYYMMDD' -> epoch ms of that UTC midnight, or null when it is not a calendar day. */
export function dayOfPartitionId(partitionId: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(partitionId);
  if (m === null) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? ms : null;
}

/** Pure: the day partition ids entirely older than now - days (ids that are not days are kept). */
export function expiredPartitionIds(partitionIds: readonly string[], days: number, now: number): string[] {
  checkDays(days);
  const horizon = now - days * DAY_MS;
  return partitionIds.filter((id) => {
    const day = dayOfPartitionId(id);
    return day !== null && day + DAY_MS <= horizon;
  }).sort();
}

function checkDays(days: number): void {
  if (!Number.isSafeInteger(days) || days < 1) throw new RetentionError(`retention days must be an integer >= 1, got ${days}`);
}

interface Target {
  database: Sql;
  name: string;
  qualified: Sql;
}

function target(tableName: string): Target {
  const parts = tableName.split('.');
  const [a, b] = parts;
  if (parts.length === 1 && a !== undefined && isIdentifier(a)) return { database: sql`currentDatabase()`, name: a, qualified: ident(a) };
  if (parts.length === 2 && a !== undefined && b !== undefined && isIdentifier(a) && isIdentifier(b)) return { database: str(a), name: b, qualified: table(a, b) };
  throw new RetentionError(`not a table name: ${JSON.stringify(tableName)} (expected name or database.name)`);
}

/** The table must be partitioned by a Date column or toYYYYMMDD(...), or ids would not be days. */
async function assertDayPartitioned(client: ClickHouseClient, t: Target): Promise<void> {
  const [info] = await selectRows<{ partition_key: string }>(client, sql`
    SELECT partition_key FROM system.tables WHERE database = ${t.database} AND name = ${str(t.name)}`);
  if (info === undefined) throw new RetentionError(`table ${t.name} does not exist`);
  const key = info.partition_key;
  let byDay = /^toYYYYMMDD\(.+\)$/.test(key);
  if (!byDay && isIdentifier(key)) {
    const [column] = await selectRows<{ type: string }>(client, sql`
      SELECT type FROM system.columns WHERE database = ${t.database} AND table = ${str(t.name)} AND name = ${str(key)}`);
    byDay = column?.type === 'Date';
  }
  if (!byDay) throw new RetentionError(`table ${t.name} is not partitioned by day (PARTITION BY ${key || 'nothing'})`);
}

/**
 * Drops every whole-day partition of `tableName` ('name' in the client's database, or
 * 'database.name') whose day ended at least `days` days before `now`; returns what it dropped.
 */
export async function dropPartitionsOlderThan(client: ClickHouseClient, tableName: string, days: number, now: number = Date.now()): Promise<DroppedPartition[]> {
  checkDays(days);
  const t = target(tableName);
  await assertDayPartitioned(client, t);
  const parts = await selectRows<{ partition_id: string; rows: string; bytes: string }>(client, sql`
    SELECT partition_id, toString(sum(rows)) AS rows, toString(sum(bytes_on_disk)) AS bytes
    FROM system.parts
    WHERE database = ${t.database} AND table = ${str(t.name)} AND active
    GROUP BY partition_id`);
  const expired = new Set(expiredPartitionIds(parts.map((p) => p.partition_id), days, now));
  const dropped: DroppedPartition[] = [];
  for (const p of parts.filter((x) => expired.has(x.partition_id)).sort((x, y) => x.partition_id.localeCompare(y.partition_id))) {
    await execute(client, sql`ALTER TABLE ${t.qualified} DROP PARTITION ID ${str(p.partition_id)}`);
    const day = dayOfPartitionId(p.partition_id) ?? 0;
    dropped.push({ table: t.name, partitionId: p.partition_id, day: new Date(day).toISOString().slice(0, 10), rows: Number(p.rows), bytes: Number(p.bytes) });
  }
  return dropped;
}

/** Runs dropPartitionsOlderThan on every table of RETENTION_TABLES in database db. */
export async function applyRetention(client: ClickHouseClient, db: string, days: number, now: number = Date.now()): Promise<DroppedPartition[]> {
  const out: DroppedPartition[] = [];
  for (const name of RETENTION_TABLES) out.push(...(await dropPartitionsOlderThan(client, `${db}.${name}`, days, now)));
  return out;
}

export interface CompactedPartition {
  table: string;
  partitionId: string;
  /** active parts before the merge */
  parts: number;
}

/**
 * Merges each finished day partition that has more than one active part into one
 * (OPTIMIZE ... PARTITION ID ... FINAL): duplicates disappear physically, and FINAL reads
 * (which on 18.16 cost memory per part and column) stay cheap. Meant to run with the
 * retention job, e.g. daily; a day is finished once now is past its end.
 */
export async function compactClosedDays(client: ClickHouseClient, tableName: string, now: number = Date.now()): Promise<CompactedPartition[]> {
  const t = target(tableName);
  await assertDayPartitioned(client, t);
  const parts = await selectRows<{ partition_id: string; parts: string }>(client, sql`
    SELECT partition_id, toString(count()) AS parts
    FROM system.parts
    WHERE database = ${t.database} AND table = ${str(t.name)} AND active
    GROUP BY partition_id
    HAVING count() > 1
    ORDER BY partition_id`);
  const out: CompactedPartition[] = [];
  for (const p of parts) {
    const day = dayOfPartitionId(p.partition_id);
    if (day === null || day + DAY_MS > now) continue;
    await execute(client, sql`OPTIMIZE TABLE ${t.qualified} PARTITION ID ${str(p.partition_id)} FINAL`);
    out.push({ table: t.name, partitionId: p.partition_id, parts: Number(p.parts) });
  }
  return out;
}
