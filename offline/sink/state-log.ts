// The offline sink's stored acceptance state (DESIGN §3) as an append log, so that a flush
// writes what changed since the previous commit instead of the user's whole state (a busy
// user holds ~18,000 ids within the lateness; rewriting them all at every flush cost as
// much as the ClickHouse INSERT).
//
// The log is a sequence of segments (hash fields s:0, s:1, ... of the user's meta hash:
// acceptance-store.ts), each core's serializeAcceptanceState of a small state. Reading it
// merges the segments in order (max = the largest max, id -> the time of its latest
// segment) and then drops the ids older than max - L. A commit appends one segment: the
// ids accepted since the previous commit (latest time each) with the current max. That
// gives admit()'s state exactly: admit() keeps, per id, the time of its last acceptance
// if it is within L of the final max (an id is only accepted again once its earlier time
// fell below the horizon, so its times only grow), and max only grows; evicting once at
// the end or after every segment is the same, because the horizon only grows.
//
// Compaction: when the stored log holds more than about twice the state (counted in
// entries + segments, against the in-memory ids), the commit rewrites it as one snapshot
// segment instead. Each compaction writes the state once after at least as much was
// appended, so writes stay proportional to what changed, and the stored value bounded.
//
// A value written before the log existed (the hash field `acc` holding one whole state)
// is a one-segment log: it is read as such, and the first commit replaces it by a snapshot.
import { emptyAcceptanceState, parseAcceptanceState, serializeAcceptanceState, type AcceptanceState } from '../../core/acceptance.js';

export enum CommitCode {
  Conflict = -1,
  AlreadyApplied = 0,
  Applied = 1,
}

/** Where the stored log ends, as the last load or confirmed commit left it. */
export interface LogCursor {
  /** segments in the stored log: an append expects exactly this many */
  segments: number;
  /** entries + segments in the stored log: its size for the compaction rule */
  units: number;
}

/** The stored log is not known to be ours (a legacy value, or a caller that did not say): the next write replaces it. */
export const UNKNOWN_LOG: Readonly<LogCursor> = Object.freeze({ segments: 0, units: Number.POSITIVE_INFINITY });
export const EMPTY_LOG: Readonly<LogCursor> = Object.freeze({ segments: 0, units: 0 });

/** One user's state write, as commit-user.lua applies it. */
export interface StateWrite {
  /** append: add `payload` ('' = nothing) to a log of exactly `expectedSegments` segments; snapshot: replace the log */
  mode: 'append' | 'snapshot';
  payload: string;
  /** append only (a snapshot is guarded by the marker alone, as the whole-state writes were) */
  expectedSegments: number;
  /** the cursor once applied */
  after: LogCursor;
}

/** Slack of the compaction rule, so small states are not rewritten at every commit. */
const COMPACT_SLACK = 64;

/** The merged state of a stored log (its segments in order), and its size in units. */
export function decodeLog(segments: readonly string[], latenessMs: number): { state: AcceptanceState; units: number } {
  const state = emptyAcceptanceState();
  let units = 0;
  for (const text of segments) {
    const seg = parseAcceptanceState(text);
    units += 1 + seg.ids.size;
    if (seg.maxEventTime === null) continue;
    if (state.maxEventTime === null || seg.maxEventTime > state.maxEventTime) state.maxEventTime = seg.maxEventTime;
    for (const [id, time] of seg.ids) state.ids.set(id, time);
  }
  if (state.maxEventTime !== null) {
    const horizon = state.maxEventTime - latenessMs;
    for (const [id, time] of state.ids) if (time < horizon) state.ids.delete(id);
  }
  return { state, units };
}

/** The ids of `accepted` (accepted since the last commit) that are still within L of `max`. */
export function liveDelta(max: number | null, accepted: ReadonlyMap<string, number>, latenessMs: number): Map<string, number> {
  const out = new Map<string, number>();
  if (max === null) return out;
  const horizon = max - latenessMs;
  for (const [id, time] of accepted) if (time >= horizon) out.set(id, time);
  return out;
}

/** Whether appending `delta` would leave the log more than about twice the state (`stateIds`: ids in memory). */
export function mustCompact(cursor: LogCursor, delta: ReadonlyMap<string, number>, stateIds: number): boolean {
  return cursor.units + delta.size + 1 > 2 * stateIds + COMPACT_SLACK;
}

/** Appends the segment of `delta` (nothing when no id was accepted: max moves only with an accepted id). */
export function appendWrite(cursor: LogCursor, max: number | null, delta: Map<string, number>): StateWrite {
  if (max === null || delta.size === 0) return { mode: 'append', payload: '', expectedSegments: cursor.segments, after: { ...cursor } };
  return {
    mode: 'append', payload: serializeAcceptanceState({ maxEventTime: max, ids: delta }), expectedSegments: cursor.segments,
    after: { segments: cursor.segments + 1, units: cursor.units + delta.size + 1 },
  };
}

/** Replaces the log by one segment: `state`, already evicted (only live ids). */
export function snapshotWrite(state: AcceptanceState): StateWrite {
  return { mode: 'snapshot', payload: serializeAcceptanceState(state), expectedSegments: 0, after: { segments: 1, units: state.ids.size + 1 } };
}

/** One user's stored value for a partition: marker ('' = absent) and log. */
export interface StoredLog {
  marker: string;
  segments: readonly string[];
}

/**
 * What commit-user.lua does, in JS: the model the pure tests run the sink against
 * (acceptance-store.redis.test.ts checks that the script agrees with it).
 */
export function applyWrite(stored: StoredLog, expectedRaw: string, newMarker: number, write: StateWrite): { code: CommitCode; stored: StoredLog } {
  const marker = String(newMarker);
  const n = stored.segments.length;
  if (stored.marker === marker) {
    // a retry: applied iff the log ends with exactly this write
    const want = write.mode === 'snapshot' ? 1 : write.expectedSegments + (write.payload === '' ? 0 : 1);
    const applied = n === want && (write.payload === '' || stored.segments[want - 1] === write.payload);
    return { code: applied ? CommitCode.AlreadyApplied : CommitCode.Conflict, stored };
  }
  if (stored.marker !== expectedRaw) return { code: CommitCode.Conflict, stored };
  if (write.mode === 'snapshot') return { code: CommitCode.Applied, stored: { marker, segments: [write.payload] } };
  if (n !== write.expectedSegments) return { code: CommitCode.Conflict, stored };
  return { code: CommitCode.Applied, stored: { marker, segments: write.payload === '' ? stored.segments : [...stored.segments, write.payload] } };
}
