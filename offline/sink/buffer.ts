// What the sink holds between flushes: rows per source (topic, partition), with the offset
// range they came from, across kafkajs batches and partitions. A snapshot takes everything
// at once (a plain value: what one flush inserts and then commits); the buffer starts over.
// `events` rows are TabSeparated lines (row-encoder.ts) grouped by UTC day, so a flush can
// bound the day partitions one INSERT touches without looking at the rows again; each add
// keeps a day's lines as one UTF-8 block (tsv-insert.ts: why not one string per line).
import type { RejectedRow } from '../rejected-table.js';
import type { UserCommit } from './acceptance-store.js';
import { lineBlock } from './tsv-insert.js';

export type ChunkKind = 'events' | 'dlq';

/** The buffered lines of one UTC day: blocks (lineBlock) in offset order, and how many lines they hold. */
export interface DayLines {
  rows: number;
  blocks: Buffer[];
}

/** Everything buffered from one (topic, partition) since the last snapshot. */
export interface Chunk {
  topic: string;
  partition: number;
  kind: ChunkKind;
  /** UTC day number -> lines of accepted events of that day, in offset order */
  eventLines: Map<number, DayLines>;
  eventRows: number;
  rejectedRows: RejectedRow[];
  /** first and last offset consumed (rows or not: rejected records count too) */
  firstOffset: string;
  lastOffset: string;
  records: number;
  bytes: number;
}

/** One flush: the chunks, plus the user states to store once the rows are in (events partitions). */
export interface Snapshot {
  /** consumer-group generation it was consumed in; a rebalance abandons it */
  generation: number;
  chunks: Chunk[];
  commits: Map<number, UserCommit[]>;
  eventRows: number;
  rejectedRows: number;
  bytes: number;
  records: number;
}

export class SinkBuffer {
  private chunks = new Map<string, Chunk>();
  rows = 0;
  bytes = 0;
  records = 0;
  /** wall-clock ms of the first record buffered since the last snapshot */
  firstAt: number | null = null;
  /** wall-clock ms of the last add since the last snapshot (the idle-flush trigger) */
  lastAt: number | null = null;

  add(topic: string, partition: number, kind: ChunkKind, part: { lines?: readonly string[]; days?: readonly number[]; rejectedRows?: RejectedRow[]; bytes: number; firstOffset: string; lastOffset: string; records: number }, now: number): void {
    const key = `${topic}\u0000${partition}`;
    let chunk = this.chunks.get(key);
    if (chunk === undefined) {
      chunk = { topic, partition, kind, eventLines: new Map(), eventRows: 0, rejectedRows: [], firstOffset: part.firstOffset, lastOffset: part.lastOffset, records: 0, bytes: 0 };
      this.chunks.set(key, chunk);
    }
    const lines = part.lines ?? [];
    const days = part.days ?? [];
    if (days.length !== lines.length) throw new Error(`buffer.add: ${lines.length} lines but ${days.length} days`);
    // The lines of each day (one day in all but history imports), then one block per day.
    const byDay = new Map<number, string[]>();
    for (let i = 0; i < lines.length; i++) {
      const d = days[i] as number;
      const list = byDay.get(d);
      if (list === undefined) byDay.set(d, [lines[i] as string]);
      else list.push(lines[i] as string);
    }
    for (const [d, list] of byDay) {
      let day = chunk.eventLines.get(d);
      if (day === undefined) chunk.eventLines.set(d, (day = { rows: 0, blocks: [] }));
      day.blocks.push(lineBlock(list));
      day.rows += list.length;
    }
    for (const r of part.rejectedRows ?? []) chunk.rejectedRows.push(r);
    chunk.eventRows += lines.length;
    chunk.lastOffset = part.lastOffset;
    chunk.records += part.records;
    chunk.bytes += part.bytes;
    this.rows += lines.length + (part.rejectedRows?.length ?? 0);
    this.bytes += part.bytes;
    this.records += part.records;
    this.firstAt ??= now;
    this.lastAt = now;
  }

  /** Drops what was buffered from one partition (its records will be consumed again). */
  drop(topic: string, partition: number): void {
    const key = `${topic}\u0000${partition}`;
    const chunk = this.chunks.get(key);
    if (chunk === undefined) return;
    this.chunks.delete(key);
    this.rows -= chunk.eventRows + chunk.rejectedRows.length;
    this.records -= chunk.records;
    this.bytes -= chunk.bytes;
    if (this.chunks.size === 0) {
      this.firstAt = null;
      this.lastAt = null;
    }
  }

  clear(): void {
    this.chunks = new Map();
    this.rows = 0;
    this.bytes = 0;
    this.records = 0;
    this.firstAt = null;
    this.lastAt = null;
  }

  isEmpty(): boolean {
    return this.records === 0;
  }

  /** Takes everything; `commitsOf` gives the user-state writes of an events partition. */
  snapshot(generation: number, commitsOf: (partition: number) => UserCommit[]): Snapshot {
    const chunks = [...this.chunks.values()];
    const commits = new Map<number, UserCommit[]>();
    for (const c of chunks) if (c.kind === 'events') commits.set(c.partition, commitsOf(c.partition));
    const snap: Snapshot = {
      generation,
      chunks,
      commits,
      eventRows: chunks.reduce((n, c) => n + c.eventRows, 0),
      rejectedRows: chunks.reduce((n, c) => n + c.rejectedRows.length, 0),
      bytes: this.bytes,
      records: this.records,
    };
    this.clear();
    return snap;
  }
}
