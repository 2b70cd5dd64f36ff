// Pure part of the sink: Kafka records of one partition of clickstream.events -> the
// `events` rows of the accepted ones, judged by the same core as the online worker
// (decodeEvent, then the per-user acceptance state machine admit()). No I/O: the caller
// loads missing users' stored state first (AcceptanceStore.load), then judges. The sink
// uses judgeSlice (decode and judge one record at a time, the users named by the record
// keys loaded first); decodeRecords + judgeRecords are the two-pass form it is tested
// against.
//
// Replay rule: a record at or below the user's stored marker for the partition was judged
// into the stored state and its row inserted before; it is skipped. Every later record is
// judged from that state, in offset order, and gets the same verdict as the first time.
//
// Verdicts and states come from core's admit(), the online worker's rule too; its
// amortized eviction (stale ids go when the map doubled, and always before the state is
// serialized, so before a snapshot is written; reading a stored log evicts too:
// state-log.ts) keeps a busy user (~18,000 ids within L on the benchmark stream) from
// costing a scan of all their ids per event.
import { admit, compactAcceptanceState, type AcceptanceState } from '../../core/acceptance.js';
import { decodeEvent, EVENT_BOUNDS, type ClickEvent, type EventLimits, type RejectReason } from '../../core/event.js';
import { EventRowError } from '../events-table.js';
import type { StoredUser, UserCommit } from './acceptance-store.js';
import { encodeEventLine } from './row-encoder.js';
import { appendWrite, liveDelta, mustCompact, snapshotWrite, UNKNOWN_LOG, type LogCursor } from './state-log.js';

/** A Kafka record as the sink needs it (kafkajs KafkaMessage fits). */
export interface SinkRecord {
  offset: string;
  timestamp: string;
  /** the producer's key, the user_id (a hint only: the users to load before judging) */
  key?: Buffer | null;
  value: Buffer | null;
}

export interface Decoded {
  offset: number;
  bytes: number;
  event?: ClickEvent;
  reason?: RejectReason;
}

/** One user's state in memory: the stored marker, the working state, the last judged offset. */
export interface UserEntry {
  /** stored marker ('' = none): the expected value of the next compare-and-set */
  raw: string;
  /** offset of the last record judged into `state` */
  judged: number;
  state: AcceptanceState;
  /** judged records since the last commit was taken */
  dirty: boolean;
  /** ids accepted since the last commit was taken (latest time each): the next log segment */
  accepted: Map<string, number>;
  /** the stored log as the last load or confirmed commit left it */
  log: LogCursor;
}

/** The users of one partition this sink has seen (the state cache). */
export type PartitionUsers = Map<string, UserEntry>;

export interface Judged {
  /** the accepted events' rows as TabSeparated lines (row-encoder.ts) */
  lines: string[];
  /** UTC day number (event_time / 1 day) of each line: the partition it goes to */
  days: number[];
  /** approximate size of the rows, for the byte bound */
  bytes: number;
  rejected: Partial<Record<RejectReason, number>>;
  /** at or below the stored marker: applied before (a replay) */
  skipped: number;
  /** accepted but not storable (times beyond ClickHouse's Date range) */
  unstorable: Array<{ offset: number; error: string }>;
}

export function decodeRecords(records: readonly SinkRecord[], limits: EventLimits): Decoded[] {
  // One object of one shape per record (no spread of a temporary): this runs for every record.
  const out: Decoded[] = new Array<Decoded>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as SinkRecord;
    const res = decodeEvent(r.value, Number(r.timestamp), limits);
    out[i] = { offset: Number(r.offset), bytes: r.value?.byteLength ?? 0, event: res.ok ? res.event : undefined, reason: res.ok ? undefined : res.reason };
  }
  return out;
}

/** Users of decoded events whose state is not in memory yet. */
export function missingUsers(decoded: readonly Decoded[], users: PartitionUsers): string[] {
  const out = new Set<string>();
  for (const d of decoded) if (d.event !== undefined && !users.has(d.event.user_id)) out.add(d.event.user_id);
  return [...out];
}

export function entryOf(stored: StoredUser): UserEntry {
  return { raw: stored.raw, judged: stored.marker, state: stored.state, dirty: false, accepted: new Map(), log: stored.log ?? UNKNOWN_LOG };
}

const DAY_MS = 86_400_000;

/** Judges decoded records in offset order; mutates the users' working states. */
export function judgeRecords(partition: number, decoded: readonly Decoded[], users: PartitionUsers, latenessMs: number): Judged {
  const out = emptyJudged();
  for (const d of decoded) {
    if (d.event === undefined) {
      const reason = d.reason ?? 'bad_json';
      out.rejected[reason] = (out.rejected[reason] ?? 0) + 1;
      continue;
    }
    const user = users.get(d.event.user_id);
    if (user === undefined) throw new Error(`state of user ${JSON.stringify(d.event.user_id)} was not loaded`);
    judgeOne(out, partition, d.offset, d.event, user, latenessMs);
  }
  return out;
}

/** Judged, and where judgeSlice stopped: `next` = records.length, or the record whose user is not loaded (`missing`). */
export interface SliceJudged extends Judged {
  next: number;
  missing?: string;
}

/**
 * decodeRecords + judgeRecords in one pass over records[from..], one record at a time, so
 * no decoded event outlives its own judging (a slice of 2,000 decoded events alive at once
 * was most of what each young-generation collection had to copy). Stops before the first
 * valid record whose user is not in `users` (its key named someone else, or none): the
 * caller buffers what was judged, loads that user and calls again from `next`. Verdicts,
 * states and lines are those of decodeRecords + judgeRecords (judge.test.ts).
 */
export function judgeSlice(partition: number, records: readonly SinkRecord[], from: number, limits: EventLimits, users: PartitionUsers, latenessMs: number): SliceJudged {
  const out: SliceJudged = { ...emptyJudged(), next: records.length };
  for (let i = from; i < records.length; i++) {
    const r = records[i] as SinkRecord;
    const res = decodeEvent(r.value, Number(r.timestamp), limits);
    if (!res.ok) {
      out.rejected[res.reason] = (out.rejected[res.reason] ?? 0) + 1;
      continue;
    }
    const user = users.get(res.event.user_id);
    if (user === undefined) {
      out.next = i;
      out.missing = res.event.user_id;
      return out;
    }
    judgeOne(out, partition, Number(r.offset), res.event, user, latenessMs);
  }
  return out;
}

/** Users named by the records' keys whose state is not in memory yet (keys too long for a user_id are skipped). */
export function keyedUsers(records: readonly SinkRecord[], users: PartitionUsers): string[] {
  const out = new Set<string>();
  for (const r of records) {
    const key = r.key;
    if (key === null || key === undefined || key.length === 0 || key.length > KEY_MAX_BYTES) continue;
    const id = key.toString('utf8');
    if (!users.has(id)) out.add(id);
  }
  return [...out];
}

/** A user_id is at most 128 UTF-16 units (EVENT_BOUNDS; zod counts code points: up to 4 UTF-8 bytes each). */
const KEY_MAX_BYTES = 4 * EVENT_BOUNDS.idMaxLength;

const emptyJudged = (): Judged => ({ lines: [], days: [], bytes: 0, rejected: {}, skipped: 0, unstorable: [] });

/** One valid record of a loaded user, in offset order: the replay rule, admit(), the line. */
function judgeOne(out: Judged, partition: number, offset: number, event: ClickEvent, user: UserEntry, latenessMs: number): void {
  if (offset <= user.judged) {
    out.skipped += 1;
    return;
  }
  user.judged = offset;
  user.dirty = true;
  const verdict = admit(user.state, event, latenessMs);
  if (!verdict.accepted) {
    out.rejected[verdict.reason] = (out.rejected[verdict.reason] ?? 0) + 1;
    return;
  }
  user.accepted.set(event.event_id, event.event_time);
  try {
    const line = encodeEventLine(event, partition, offset);
    out.lines.push(line);
    out.days.push(Math.floor(event.event_time / DAY_MS));
    out.bytes += 2 * line.length + 64; // UTF-16 string plus its array slot
  } catch (error) {
    if (!(error instanceof EventRowError)) throw error;
    out.unstorable.push({ offset, error: error.message });
  }
}

/**
 * The compare-and-set writes for every user judged since the last call (clears `dirty` and
 * `accepted`): the ids accepted since, appended to the stored log, or, when the log would
 * grow past about twice the state, the evicted state as a snapshot (state-log.ts). Only a
 * snapshot costs the whole state, and only after as much was appended.
 */
export function takeCommits(users: PartitionUsers, latenessMs: number): UserCommit[] {
  const out: UserCommit[] = [];
  for (const [userId, u] of users) {
    if (!u.dirty) continue;
    u.dirty = false;
    const delta = liveDelta(u.state.maxEventTime, u.accepted, latenessMs);
    u.accepted = new Map();
    const compact = mustCompact(u.log, delta, u.state.ids.size);
    if (compact) compactAcceptanceState(u.state); // the snapshot holds only live ids
    const write = compact ? snapshotWrite(u.state) : appendWrite(u.log, u.state.maxEventTime, delta);
    out.push({ userId, expectedRaw: u.raw, newMarker: u.judged, write });
  }
  return out;
}

/** After a commit succeeded: the stored markers and logs are the committed ones. */
export function confirmCommits(users: PartitionUsers, commits: readonly UserCommit[]): void {
  for (const c of commits) {
    const u = users.get(c.userId);
    if (u === undefined) continue;
    u.raw = String(c.newMarker);
    u.log = c.write.after;
  }
}

/** Forgets users with nothing pending, when the cache grew past `max` entries. */
export function trimUsers(users: PartitionUsers, max: number): void {
  if (users.size <= max) return;
  for (const [id, u] of users) if (!u.dirty) users.delete(id);
}
