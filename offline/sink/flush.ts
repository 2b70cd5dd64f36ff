// One flush of a snapshot, in the order that makes it exactly-once:
//   1. ONE INSERT into events (TabSeparated lines; split only if the batch spans more than
//      maxDaysPerInsert days: history imports), then one INSERT into rejected_events;
//   2. the judged users' acceptance states, compare-and-set per user (commit-user.lua);
//   3. the consumed offsets, committed to Kafka.
// A crash between any two steps is harmless: before 2, a restart re-judges the same records
// from the old state (same verdicts, same rows: ReplacingMergeTree collapses the copies);
// between 2 and 3, the records are at or below the users' markers and are skipped.
// Failed steps are retried with exponential backoff (the caller pauses consumption);
// completed steps are not repeated. A rebalance or kill abandons the snapshot (its records
// are consumed again by whoever owns the partitions now).
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { EVENTS_TABLE, splitByDay } from '../events-table.js';
import { insertRows } from '../query.js';
import { REJECTED_TABLE, type RejectedRow } from '../rejected-table.js';
import { table } from '../sql.js';
import { CommitCode, type AcceptanceStore, type UserCommit } from './acceptance-store.js';
import type { Chunk, DayLines, Snapshot } from './buffer.js';
import type { SinkMetrics } from './metrics.js';
import { insertedAtSuffix, LINE_COLUMNS } from './row-encoder.js';
import { insertLines } from './tsv-insert.js';

export interface TopicOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface FlushDeps {
  client: ClickHouseClient;
  db: string;
  store: AcceptanceStore;
  commitOffsets(offsets: TopicOffset[]): Promise<void>;
  metrics: SinkMetrics;
  log: Logger;
  maxDaysPerInsert: number;
  backoff: { initialMs: number; maxMs: number };
  /** false once the snapshot must be given up (rebalance, kill) */
  isCurrent(snap: Snapshot): boolean;
  /** true while an attempt is failing (the sink pauses consumption), false once it went through */
  onFailing(failing: boolean): void;
  /** the user states of `partition` were stored: their markers are the new expected values */
  onStatesStored(partition: number, commits: readonly UserCommit[]): void;
  /** test hook after each step (e.g. to simulate a crash right there) */
  onStep?: (step: FlushStep, snap: Snapshot) => Promise<void> | void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export type FlushStep = 'inserted' | 'stored' | 'committed';

export interface FlushResult {
  outcome: 'done' | 'abandoned';
  /** events partitions whose stored state moved under us: to be rewound and consumed again */
  conflicted: Chunk[];
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Insert {
  name: string;
  rows: number;
  run(): Promise<void>;
}

/** The snapshot's events lines by day, in groups of at most maxDays days (ascending): blocks (lineBlock) and their lines. */
export function eventGroups(chunks: readonly Chunk[], maxDays: number): Array<{ rows: number; blocks: Buffer[] }> {
  if (!Number.isSafeInteger(maxDays) || maxDays < 1) throw new RangeError(`maxDays must be an integer >= 1, got ${maxDays}`);
  const byDay = new Map<number, DayLines[]>();
  for (const c of chunks) {
    for (const [day, lines] of c.eventLines) {
      const list = byDay.get(day);
      if (list === undefined) byDay.set(day, [lines]);
      else list.push(lines);
    }
  }
  const days = [...byDay.keys()].sort((a, b) => a - b);
  const out: Array<{ rows: number; blocks: Buffer[] }> = [];
  for (let i = 0; i < days.length; i += maxDays) {
    const lines = days.slice(i, i + maxDays).flatMap((d) => byDay.get(d) ?? []);
    out.push({ rows: lines.reduce((n, l) => n + l.rows, 0), blocks: lines.flatMap((l) => l.blocks) });
  }
  return out;
}

export async function flushSnapshot(deps: FlushDeps, snap: Snapshot): Promise<FlushResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const insertedAt = now();
  const suffix = insertedAtSuffix(insertedAt);
  const rejectedRows: RejectedRow[] = [];
  for (const c of snap.chunks) {
    for (const r of c.rejectedRows) {
      r.inserted_at = insertedAt;
      rejectedRows.push(r);
    }
  }
  const inserts: Insert[] = [
    ...eventGroups(snap.chunks, deps.maxDaysPerInsert).map((g) => ({
      name: EVENTS_TABLE, rows: g.rows, run: () => insertLines(deps.client, table(deps.db, EVENTS_TABLE), LINE_COLUMNS, g.blocks, suffix),
    })),
    ...splitByDay(rejectedRows, deps.maxDaysPerInsert).map((rows) => ({
      name: REJECTED_TABLE, rows: rows.length, run: () => insertRows(deps.client, table(deps.db, REJECTED_TABLE), rows),
    })),
  ];
  let nextInsert = 0;
  let inserted = false;
  const stored = new Set<number>();
  const conflicted = new Set<number>();
  let delay = deps.backoff.initialMs;
  let step = 'insert';

  for (;;) {
    if (!deps.isCurrent(snap)) return abandon(deps);
    try {
      for (; nextInsert < inserts.length; nextInsert++) {
        step = 'insert';
        const { name, rows, run } = inserts[nextInsert] as Insert;
        const t0 = performance.now();
        await run();
        deps.metrics.insertSeconds.observe({ table: name }, (performance.now() - t0) / 1000);
        deps.metrics.rowsPerInsert.observe({ table: name }, rows);
        deps.metrics.rowsInserted.inc({ table: name }, rows);
        deps.metrics.inserts.inc({ table: name });
      }
      if (!inserted) {
        inserted = true;
        await deps.onStep?.('inserted', snap);
        if (!deps.isCurrent(snap)) return abandon(deps);
      }
      const s0 = performance.now();
      for (const [partition, commits] of snap.commits) {
        if (stored.has(partition)) continue;
        step = 'state';
        const codes = await deps.store.commit(partition, commits);
        if (codes.includes(CommitCode.Conflict)) conflicted.add(partition);
        else deps.onStatesStored(partition, commits);
        stored.add(partition);
      }
      deps.metrics.stateSeconds.observe((performance.now() - s0) / 1000);
      break;
    } catch (error) {
      deps.metrics.retries.inc({ step });
      deps.onFailing(true);
      deps.log.warn({ step, err: (error as Error).message, retryInMs: delay }, 'flush step failed; retrying');
      await sleep(delay);
      delay = Math.min(delay * 2, deps.backoff.maxMs);
    }
  }
  deps.onFailing(false);
  await deps.onStep?.('stored', snap);
  if (!deps.isCurrent(snap)) return abandon(deps);

  const conflictedChunks = snap.chunks.filter((c) => c.kind === 'events' && conflicted.has(c.partition));
  const offsets = snap.chunks.filter((c) => !conflictedChunks.includes(c))
    .map((c) => ({ topic: c.topic, partition: c.partition, offset: (BigInt(c.lastOffset) + 1n).toString() }));
  try {
    if (offsets.length > 0) await deps.commitOffsets(offsets);
  } catch (error) {
    // Rows and states are stored; uncommitted records are skipped by marker (events) or
    // deduplicated (rejected_events) when consumed again.
    deps.log.warn({ err: (error as Error).message }, 'offset commit failed; the records will be consumed again and skipped');
  }
  await deps.onStep?.('committed', snap);
  if (conflictedChunks.length > 0) deps.metrics.conflicts.inc(conflictedChunks.length);
  deps.metrics.flushes.inc({ outcome: 'done' });
  return { outcome: 'done', conflicted: conflictedChunks };
}

function abandon(deps: FlushDeps): FlushResult {
  deps.onFailing(false);
  deps.metrics.flushes.inc({ outcome: 'abandoned' });
  return { outcome: 'abandoned', conflicted: [] };
}
