// Acceptance rules (DESIGN §3) as a per-user state machine. Kafka keeps one user's events
// in order, so feeding them through this in offset order gives every consumer (online
// worker, offline sink, replays) the same verdicts:
// - late:      event_time < (largest accepted event_time of the user) - L
// - duplicate: the user already accepted this event_id with event_time >= max - L
// - otherwise accepted: max grows, the id is remembered.
// Ids older than max - L are forgotten: a copy of such an event would be late anyway, so
// the state stays bounded by the user's accepted events within L of event time.
// The state is a plain value; admit() updates it in place (the worker owns it), and it
// serialises to a short string that the worker stores next to the user's tiles.
//
// Eviction is amortized: forgetting on every growth of max scanned all of a user's ids
// per event (a busy user holds ~18,000 within L; ~90 µs per event on the benchmark
// stream). admit() instead lets stale ids (event_time < max - L) linger until the map has
// doubled since the last eviction (a map of at most 64 ids is still scanned at once), and
// serializeAcceptanceState drops them first. judge()
// never looks at a stale id, so verdicts and serialized states are exactly those of eager
// eviction (acceptance.test.ts checks both against the reference), and memory stays within
// twice the live ids (+64). The online worker and the offline sink share this one rule.
import type { ClickEvent, RejectReason } from './event.js';

export interface AcceptanceState {
  /** largest accepted event_time, or null before the first accepted event */
  maxEventTime: number | null;
  /**
   * event_id -> event_time of accepted events: every one with event_time >= maxEventTime - L,
   * and possibly stale older ones that admit() has not evicted yet (judge() ignores them)
   */
  ids: Map<string, number>;
}

/**
 * admit()'s bookkeeping of a state whose ids may hold stale entries: the lateness L they
 * are stale by, and the size of ids above which admit() evicts them. No entry: no stale
 * id. Kept beside the state, not in it, so a state stays the plain value that compares
 * deep-equal with a parsed or hand-built one. A state copied by hand carries none: copy
 * with cloneAcceptanceState, or compact the original first.
 */
const pendingEviction = new WeakMap<AcceptanceState, { latenessMs: number; evictAt: number }>();

/** The two reasons of the event contract's vocabulary that acceptance decides. */
export type AcceptanceRejectReason = Extract<RejectReason, 'late' | 'duplicate'>;
export type Verdict = { accepted: true } | { accepted: false; reason: AcceptanceRejectReason };

export function emptyAcceptanceState(): AcceptanceState {
  return { maxEventTime: null, ids: new Map() };
}

/** A copy as judge() sees it: the live ids only, no stale ones and no eviction bookkeeping. */
export function cloneAcceptanceState(state: AcceptanceState): AcceptanceState {
  const max = state.maxEventTime;
  const e = pendingEviction.get(state);
  if (e === undefined || max === null) return { maxEventTime: max, ids: new Map(state.ids) };
  const horizon = max - e.latenessMs;
  const ids = new Map<string, number>();
  for (const [id, time] of state.ids) if (time >= horizon) ids.set(id, time);
  return { maxEventTime: max, ids };
}

/** Up to this many ids, admit() evicts at every growth of max (eagerly). */
const SMALL = 64;
/** Beyond, it evicts when ids holds more than twice what it kept. */
const evictThreshold = (size: number): number => 2 * size + SMALL;

/**
 * Drops the stale ids (event_time < max - L) and forgets the eviction bookkeeping: what
 * eager eviction would have kept. serializeAcceptanceState calls it; O(ids).
 */
export function compactAcceptanceState(state: AcceptanceState): void {
  const e = pendingEviction.get(state);
  if (e === undefined) return;
  evictStale(state, e.latenessMs);
  pendingEviction.delete(state);
}

function evictStale(state: AcceptanceState, latenessMs: number): void {
  const max = state.maxEventTime;
  if (max === null) return;
  const horizon = max - latenessMs;
  for (const [id, time] of state.ids) if (time < horizon) state.ids.delete(id);
}

type Judged = Pick<ClickEvent, 'event_id' | 'event_time'>;

/** The verdict for the next event of this user, without changing the state. */
export function judge(state: AcceptanceState, event: Judged, latenessMs: number): Verdict {
  if (!Number.isSafeInteger(event.event_time)) throw new RangeError(`event_time must be integer epoch ms, got ${event.event_time}`);
  const max = state.maxEventTime;
  if (max === null) return { accepted: true };
  if (event.event_time < max - latenessMs) return { accepted: false, reason: 'late' };
  const seen = state.ids.get(event.event_id);
  if (seen !== undefined && seen >= max - latenessMs) return { accepted: false, reason: 'duplicate' };
  return { accepted: true };
}

/**
 * Judges the next event of this user and, when accepted, records it (mutates state).
 * Every call on one state must pass the same latenessMs (the stored state depends on it).
 */
export function admit(state: AcceptanceState, event: Judged, latenessMs: number): Verdict {
  const verdict = judge(state, event, latenessMs);
  if (!verdict.accepted) return verdict;
  const previous = state.maxEventTime;
  state.ids.set(event.event_id, event.event_time);
  let e = pendingEviction.get(state);
  if (previous === null || event.event_time > previous) {
    state.maxEventTime = event.event_time;
    if (state.ids.size <= SMALL) {
      // a small map is scanned at once, as eager eviction did: cheap, and most users' states stay exact
      evictStale(state, latenessMs);
      pendingEviction.delete(state);
      return verdict;
    }
    // ids below the new horizon are stale from now on; they go at the next eviction
    if (e === undefined) pendingEviction.set(state, (e = { latenessMs, evictAt: evictThreshold(state.ids.size) }));
    else e.latenessMs = latenessMs;
  }
  if (e !== undefined && state.ids.size > e.evictAt) {
    evictStale(state, latenessMs);
    e.evictAt = evictThreshold(state.ids.size);
  }
  return verdict;
}

/** Splits a batch (in offset order) into accepted and rejected events, updating states per user. */
export function admitBatch<E extends Judged & Pick<ClickEvent, 'user_id'>>(
  states: Map<string, AcceptanceState>, events: Iterable<E>, latenessMs: number,
): { accepted: E[]; rejected: Array<{ event: E; reason: AcceptanceRejectReason }> } {
  const accepted: E[] = [];
  const rejected: Array<{ event: E; reason: AcceptanceRejectReason }> = [];
  for (const event of events) {
    let state = states.get(event.user_id);
    if (state === undefined) states.set(event.user_id, (state = emptyAcceptanceState()));
    const verdict = admit(state, event, latenessMs);
    if (verdict.accepted) accepted.push(event);
    else rejected.push({ event, reason: verdict.reason });
  }
  return { accepted, rejected };
}

const FORMAT = 1;

/**
 * Compact, canonical JSON: [1] when empty, else [1, max, id, max - time, id, max - time, ...],
 * ids ordered by (max - time, id). Deltas are small (<= L) so the string stays short.
 * Evicts the stale ids first (compactAcceptanceState; in place, verdicts unchanged), so the
 * string is the same whatever admit() left lingering.
 */
export function serializeAcceptanceState(state: AcceptanceState): string {
  compactAcceptanceState(state);
  const max = state.maxEventTime;
  if (max === null) return `[${FORMAT}]`;
  const entries: Array<[string, number]> = [];
  for (const [id, time] of state.ids) entries.push([id, max - time]);
  entries.sort(byDeltaThenId);
  // [FORMAT, max, ...entries.flat()], built without the spread and flat copies: the online
  // worker serializes every touched user per batch, a busy user's ~18,000 ids in ~6 ms (was ~12)
  const flat: Array<string | number> = new Array<string | number>(2 + 2 * entries.length);
  flat[0] = FORMAT;
  flat[1] = max;
  let k = 2;
  for (const [id, delta] of entries) {
    flat[k++] = id;
    flat[k++] = delta;
  }
  return JSON.stringify(flat);
}

const byDeltaThenId = (a: [string, number], b: [string, number]): number => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export class AcceptanceStateError extends Error {
  override name = 'AcceptanceStateError';
}

export function parseAcceptanceState(text: string): AcceptanceState {
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { throw new AcceptanceStateError('acceptance state is not JSON'); }
  if (!Array.isArray(parsed) || parsed[0] !== FORMAT) throw new AcceptanceStateError(`unknown acceptance state format: ${text.slice(0, 40)}`);
  if (parsed.length === 1) return emptyAcceptanceState();
  const max: unknown = parsed[1];
  if (!Number.isSafeInteger(max) || parsed.length % 2 !== 0) throw new AcceptanceStateError('malformed acceptance state');
  const ids = new Map<string, number>();
  for (let i = 2; i < parsed.length; i += 2) {
    const id: unknown = parsed[i];
    const delta: unknown = parsed[i + 1];
    if (typeof id !== 'string' || !Number.isSafeInteger(delta) || (delta as number) < 0) throw new AcceptanceStateError('malformed acceptance state entry');
    ids.set(id, (max as number) - (delta as number));
  }
  return { maxEventTime: max as number, ids };
}
