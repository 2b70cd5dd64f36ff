// Acceptance rules (DESIGN §3): late, duplicate, accepted; bounded state; string round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AcceptanceStateError, admit, admitBatch, cloneAcceptanceState, compactAcceptanceState, emptyAcceptanceState, judge,
  parseAcceptanceState, serializeAcceptanceState, type AcceptanceState,
} from './acceptance.js';
import { referenceAccept, referenceAcceptanceStates } from './reference.js';
import { MINUTE } from './windows.js';
import type { ClickEvent } from './event.js';

const L = 10 * MINUTE;
const T0 = Date.UTC(2024, 0, 1);
const e = (event_id: string, at: number, user_id = 'u1'): ClickEvent =>
  ({ event_id, user_id, event_type: 'view', event_time: T0 + at, ingest_time: T0, quantity: 1 });

function run(events: ClickEvent[], latenessMs = L): string[] {
  const state = emptyAcceptanceState();
  return events.map((x) => { const v = admit(state, x, latenessMs); return v.accepted ? 'ok' : v.reason; });
}

test('late: more than L before the largest accepted event_time of the user', () => {
  assert.deepStrictEqual(run([e('a', L), e('b', 0), e('c', -1), e('d', 2 * L)]), ['ok', 'ok', 'late', 'ok']);
  assert.deepStrictEqual(run([e('a', 2 * L), e('b', L), e('c', 0)]), ['ok', 'ok', 'late']); // max, not the last event
  assert.deepStrictEqual(run([e('a', 5), e('b', 4)], 0), ['ok', 'late']); // L = 0: in order only
  assert.deepStrictEqual(run([e('a', 5), e('b', 5)], 0), ['ok', 'ok']);
});

test('duplicate: the same (user_id, event_id) already accepted within the horizon; late wins', () => {
  assert.deepStrictEqual(run([e('a', 0), e('a', 0), e('a', 5 * MINUTE)]), ['ok', 'duplicate', 'duplicate']);
  assert.deepStrictEqual(run([e('a', 0), e('b', L), e('a', 0)]), ['ok', 'ok', 'duplicate']); // exactly at max - L
  assert.deepStrictEqual(run([e('a', 0), e('b', L + 1), e('a', 0)]), ['ok', 'ok', 'late']); // older copy: late
  assert.deepStrictEqual(run([e('a', 0), e('b', L + 1), e('a', L + 1)]), ['ok', 'ok', 'ok']); // id forgotten: a new event
  const state = emptyAcceptanceState();
  const verdicts = admitBatch(new Map<string, AcceptanceState>(), [e('a', 0, 'u1'), e('a', 0, 'u2'), e('a', 0, 'u1')], L);
  assert.deepStrictEqual(verdicts.accepted.map((x) => x.user_id), ['u1', 'u2']);
  assert.deepStrictEqual(verdicts.rejected.map((r) => r.reason), ['duplicate']);
  assert.deepStrictEqual(judge(state, e('x', 0), L), { accepted: true });
  assert.equal(state.maxEventTime, null); // judge does not record
});

test('state is bounded: ids older than max - L are forgotten (in amortized batches; always before serializing)', () => {
  const state = emptyAcceptanceState();
  for (let i = 0; i < 1000; i++) {
    admit(state, e(`e${i}`, i * MINUTE), L);
    assert.ok(state.ids.size <= 2 * 11 + 64, `${state.ids.size} ids`);
  }
  assert.ok(serializeAcceptanceState(state).length < 200, serializeAcceptanceState(state));
  assert.equal(state.ids.size, 11); // event_times in [max - 10m, max]
  assert.deepStrictEqual(state, parseAcceptanceState(serializeAcceptanceState(state)));
});

const arbEvents = fc.array(fc.record({
  event_id: fc.constantFrom('a', 'b', 'c', 'd', 'ｚ', '"', '\\'),
  user_id: fc.constantFrom('u1', 'u2'),
  at: fc.integer({ min: 0, max: 30 }).map((m) => m * MINUTE / 2),
}), { maxLength: 40 }).map((xs) => xs.map((x) => e(x.event_id, x.at, x.user_id)));

test('agrees with the reference model (full history) on random streams', () => {
  fc.assert(fc.property(arbEvents, fc.constantFrom(0, MINUTE, L), (events, latenessMs) => {
    const { accepted } = admitBatch(new Map(), events, latenessMs);
    assert.deepStrictEqual(accepted, referenceAccept(events, latenessMs));
  }), { numRuns: 2000 });
});

test('state serialises to a compact canonical string and back, mid-stream', () => {
  fc.assert(fc.property(arbEvents, fc.nat(40), (events, cut) => {
    const state = emptyAcceptanceState();
    for (const x of events.slice(0, cut)) admit(state, x, L);
    const text = serializeAcceptanceState(state);
    const parsed = parseAcceptanceState(text);
    assert.deepStrictEqual(parsed, state);
    assert.equal(serializeAcceptanceState(parsed), text);
    const copy = cloneAcceptanceState(state);
    for (const x of events.slice(cut)) assert.deepStrictEqual(admit(parsed, x, L), admit(copy, x, L));
  }), { numRuns: 2000 });
  assert.equal(serializeAcceptanceState(emptyAcceptanceState()), '[1]');
  const s = emptyAcceptanceState();
  admit(s, e('a', 0), L);
  admit(s, e('b', -MINUTE), L);
  assert.equal(serializeAcceptanceState(s), `[1,${T0},"a",0,"b",60000]`);
  for (const bad of ['', '{}', '[2]', '[1,"x"]', '[1,5,"a"]', '[1,5,"a",-1]', '[1,5,7,0]']) {
    assert.throws(() => parseAcceptanceState(bad), AcceptanceStateError, bad);
  }
});

/** One busy user: event times drifting forward with jitter, ids repeating, so late, duplicate and stale-id cases all occur. */
const arbBusyUser = fc.tuple(
  fc.array(fc.record({ dt: fc.integer({ min: -300, max: 600 }), id: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 1_000_000 })), check: fc.nat(60) }),
    { minLength: 100, maxLength: 600 }),
  fc.integer({ min: 0, max: 2_000 }),
).map(([steps, lateness]) => {
  let t = T0;
  return { lateness, steps: steps.map((s) => ({ event: e(`e${s.id}`, (t += s.dt) - T0), check: s.check === 0 })) };
});

test('amortized eviction: verdicts and serialized states equal the reference; memory within twice the peak of live ids', () => {
  fc.assert(fc.property(arbBusyUser, ({ steps, lateness }) => {
    const state = emptyAcceptanceState();
    const events = steps.map((s) => s.event);
    const accepted = new Set(referenceAccept(events, lateness));
    let peakLive = 0;
    steps.forEach((s, i) => {
      assert.equal(admit(state, s.event, lateness).accepted, accepted.has(s.event), `event ${i}`);
      const max = state.maxEventTime ?? 0;
      peakLive = Math.max(peakLive, [...state.ids.values()].filter((t) => t >= max - lateness).length);
      // + 1: the threshold is first set from a size that counts the event which made others stale
      assert.ok(state.ids.size <= 2 * (peakLive + 1) + 64, 'stale ids are bounded by twice the live ones');
      if (!s.check) return;
      const want = referenceAcceptanceStates(events.slice(0, i + 1), lateness).get('u1');
      const copy = cloneAcceptanceState(state);
      assert.equal(serializeAcceptanceState(copy), serializeAcceptanceState({ maxEventTime: want?.maxEventTime ?? null, ids: want?.ids ?? new Map() }));
      assert.deepStrictEqual(copy.ids, want?.ids ?? new Map(), 'compacted: exactly the ids within the horizon');
      if (i % 2 === 0) compactAcceptanceState(state); // a commit mid-stream changes nothing that follows
    });
  }), { numRuns: 300 });
});

test('admitBatch with a stored state between batches equals one pass (the worker\'s and the sink\'s replays)', () => {
  fc.assert(fc.property(arbEvents, fc.array(fc.nat(40), { maxLength: 4 }), fc.constantFrom(0, MINUTE, L), (events, cuts, latenessMs) => {
    const whole = admitBatch(new Map(), events, latenessMs);
    const stored = new Map<string, string>();
    const accepted: ClickEvent[] = [];
    const bounds = [...new Set([0, ...cuts, events.length])].filter((c) => c <= events.length).sort((a, b) => a - b);
    for (let i = 0; i + 1 < bounds.length; i++) {
      const states = new Map([...stored].map(([u, text]) => [u, parseAcceptanceState(text)]));
      accepted.push(...admitBatch(states, events.slice(bounds[i], bounds[i + 1]), latenessMs).accepted);
      for (const [u, st] of states) stored.set(u, serializeAcceptanceState(st));
    }
    assert.deepStrictEqual(accepted, whole.accepted);
    const want = referenceAcceptanceStates(events, latenessMs);
    for (const [u, text] of stored) {
      const w = want.get(u);
      assert.equal(text, serializeAcceptanceState({ maxEventTime: w?.maxEventTime ?? null, ids: w?.ids ?? new Map() }));
    }
  }), { numRuns: 1000 });
});

test('serialisation is the plain rendering: JSON of [1, max, id, delta, ...] sorted by (delta, id)', () => {
  const plain = (st: AcceptanceState): string => {
    const max = st.maxEventTime;
    if (max === null) return '[1]';
    const entries = [...st.ids].map(([id, t]) => [id, max - t] as const).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return JSON.stringify([1, max, ...entries.flat()]);
  };
  const id = fc.oneof(fc.string({ maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 4 }), fc.constantFrom('"', '\\', '\u2028', '😀', '\n'));
  fc.assert(fc.property(fc.array(fc.tuple(id, fc.integer({ min: -5, max: 30 })), { maxLength: 60 }), (pairs) => {
    const st = emptyAcceptanceState();
    for (const [x, at] of pairs) admit(st, e(x, at * MINUTE / 3), L);
    compactAcceptanceState(st);
    assert.equal(serializeAcceptanceState(st), plain(st));
  }), { numRuns: 1000 });
});
