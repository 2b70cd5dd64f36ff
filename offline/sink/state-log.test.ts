// The stored acceptance-state log (state-log.ts), without services: the sink's own judging
// and commit functions, run against the JS model of commit-user.lua, with commits that fail
// and are retried (applied or not), and crashes that reload the stored value. Whatever
// happens, reading the stored log gives core admit()'s state at the stored marker, and the
// log stays bounded while each commit writes about what changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AcceptanceStateError, admit, cloneAcceptanceState, emptyAcceptanceState, serializeAcceptanceState, type AcceptanceState } from '../../core/acceptance.js';
import type { ClickEvent } from '../../core/event.js';
import type { StoredUser, UserCommit } from './acceptance-store.js';
import { confirmCommits, entryOf, judgeRecords, takeCommits, type Decoded, type PartitionUsers } from './judge.js';
import { applyWrite, CommitCode, decodeLog, EMPTY_LOG, UNKNOWN_LOG, type StoredLog } from './state-log.js';

const T0 = Date.UTC(2024, 5, 1);
const event = (id: string, time: number): ClickEvent => ({ event_id: id, user_id: 'u', event_type: 'view', event_time: time, ingest_time: T0, quantity: 1 });
const decoded = (events: readonly ClickEvent[], first: number): Decoded[] => events.map((e, i) => ({ offset: first + i, bytes: 100, event: e }));

/** What AcceptanceStore.load makes of a stored value (the log, or a legacy whole state). */
function load(s: StoredLog, latenessMs: number, legacy?: string): StoredUser {
  const base = { raw: s.marker, marker: s.marker === '' ? -1 : Number(s.marker) };
  if (s.segments.length === 0 && legacy !== undefined) return { ...base, state: decodeLog([legacy], latenessMs).state, log: UNKNOWN_LOG };
  const { state, units } = decodeLog(s.segments, latenessMs);
  return { ...base, state, log: s.segments.length === 0 ? EMPTY_LOG : { segments: s.segments.length, units } };
}
const NONE: StoredLog = { marker: '', segments: [] };

type Fault = 'none' | 'reply-lost-then-retry' | 'crash-before' | 'crash-after';
const FAULTS: Fault[] = ['none', 'none', 'reply-lost-then-retry', 'crash-before', 'crash-after'];

test('the stored log reads back as core admit()\'s state, through retries and crashes', () => {
  // each step: one event; maybe the end of a fetched batch (judged); maybe a flush takes its
  // commits there, which are applied some batches later (judging goes on meanwhile), with a fault
  const id = fc.oneof(fc.integer({ min: 0, max: 30 }).map((n) => `e${n}`), fc.integer({ min: 0, max: 1_000_000 }).map((n) => `é-${n}-😀`));
  const step = fc.record({
    // coarse times with some 1 ms jitter, so events land on the horizon (max - L) and right next to it
    dt: fc.tuple(fc.integer({ min: -8, max: 12 }), fc.constantFrom(0, 0, 0, -1, 1)).map(([x, j]) => 50 * x + j), id, batchEnd: fc.boolean(), take: fc.boolean(), apply: fc.boolean(), fault: fc.constantFrom(...FAULTS),
  });
  fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 400 }), fc.integer({ min: 1, max: 60 }).map((x) => 50 * x), fc.boolean(), (steps, lateness, legacy) => {
    let t = T0;
    const events = steps.map((s) => event(s.id, (t += s.dt)));
    // core's state after each offset: the reference
    const core = emptyAcceptanceState();
    const coreAt: AcceptanceState[] = events.map((e) => (admit(core, e, lateness), cloneAcceptanceState(core)));
    // legacy: a value written before the log existed, the whole state after the first event
    const legacyText = legacy ? serializeAcceptanceState(coreAt[0] ?? emptyAcceptanceState()) : undefined;
    let stored: StoredLog = { marker: legacy ? '0' : '', segments: [] };
    let kafkaNext = legacy ? 1 : 0; // the committed Kafka offset
    let users: PartitionUsers = new Map();
    let position = kafkaNext;
    let inflight: { commits: UserCommit[]; next: number } | null = null;
    let peak = 0;

    const check = () => {
      const read = decodeLog(stored.segments.length === 0 && legacyText !== undefined ? [legacyText] : stored.segments, lateness);
      const want = coreAt[Number(stored.marker)] ?? emptyAcceptanceState();
      assert.deepStrictEqual(read.state, want);
      assert.equal(serializeAcceptanceState(read.state), serializeAcceptanceState(want));
      peak = Math.max(peak, want.ids.size);
      // compaction: at most about twice the in-memory ids, which amortized eviction keeps within 2 x peak + 64
      assert.ok(read.units <= 2 * (2 * peak + 64) + 64, `log of ${read.units} units, peak state ${peak}`);
    };
    const apply = (fault: Fault) => {
      if (inflight === null) return;
      const { commits, next } = inflight;
      inflight = null;
      if (fault === 'crash-before') return restart();
      for (const c of commits) {
        let res = applyWrite(stored, c.expectedRaw, c.newMarker, c.write);
        assert.equal(res.code, CommitCode.Applied);
        if (fault === 'reply-lost-then-retry') {
          res = applyWrite(res.stored, c.expectedRaw, c.newMarker, c.write);
          assert.equal(res.code, CommitCode.AlreadyApplied);
        }
        stored = res.stored;
        check();
      }
      confirmCommits(users, commits);
      if (fault === 'crash-after') return restart();
      kafkaNext = next;
    };
    const restart = () => {
      users = new Map();
      position = kafkaNext;
    };

    steps.forEach((s, i) => {
      const last = i + 1 === steps.length;
      if (!s.batchEnd && !last) return;
      if (position <= i) {
        if (!users.has('u')) users.set('u', entryOf(load(stored, lateness, legacyText)));
        judgeRecords(0, decoded(events.slice(position, i + 1), position), users, lateness);
        position = i + 1;
      }
      if (s.apply || last) apply(s.fault);
      if ((s.take || last) && inflight === null) inflight = { commits: takeCommits(users, lateness), next: position };
      if (last) apply('none');
    });
  }), { numRuns: 300, endOnFailure: true });
});

test('a stale writer conflicts: wrong marker, or a log that moved', () => {
  const users: PartitionUsers = new Map([['u', entryOf(load(NONE, 1_000))]]);
  judgeRecords(0, decoded([event('a', T0)], 0), users, 1_000);
  const [first] = takeCommits(users, 1_000);
  assert.ok(first);
  const after = applyWrite(NONE, first.expectedRaw, first.newMarker, first.write);
  assert.equal(after.code, CommitCode.Applied);
  // another writer expected no marker, or the log it extends is not this one
  assert.equal(applyWrite(after.stored, '', 7, first.write).code, CommitCode.Conflict);
  assert.equal(applyWrite({ marker: '0', segments: [...after.stored.segments, 'x'] }, '0', 7, { ...first.write, expectedSegments: 1 }).code, CommitCode.Conflict);
  // the same marker with another write is not "already applied"
  assert.equal(applyWrite(after.stored, '', 0, { ...first.write, payload: '[1]' }).code, CommitCode.Conflict);
});

test('a busy user: commits write the new ids, not the state again; a sliding window compacts and stays bounded', () => {
  const L = 600_000;
  // 5,000 live ids, then 100 commits of 10 new ids each (all within L: nothing evicted)
  let users: PartitionUsers = new Map([['u', entryOf(load(NONE, L))]]);
  let stored: StoredLog = NONE;
  let written = 0;
  let offset = 0;
  const flush = (events: ClickEvent[]) => {
    judgeRecords(0, decoded(events, offset), users, L);
    offset += events.length;
    for (const c of takeCommits(users, L)) {
      written += Buffer.byteLength(c.write.payload);
      stored = applyWrite(stored, c.expectedRaw, c.newMarker, c.write).stored;
      confirmCommits(users, [c]);
    }
  };
  flush(Array.from({ length: 5_000 }, (_, i) => event(`id-${i}`, T0 + i)));
  const full = written;
  for (let k = 0; k < 100; k++) flush(Array.from({ length: 10 }, (_, i) => event(`k${k}-${i}`, T0 + 5_000 + 10 * k + i)));
  const snapshot = Buffer.byteLength(serializeAcceptanceState(users.get('u')?.state ?? emptyAcceptanceState()));
  assert.ok(written < 2 * snapshot, `${written} bytes written in 101 commits, one snapshot is ${snapshot} (the whole state each time: ~${101 * full})`);

  // steady sliding window: ~100 live ids, 10 new per commit, 2,000 commits
  users = new Map([['u', entryOf(load(NONE, 1_000))]]);
  stored = NONE;
  written = 0;
  let deltas = 0;
  for (let k = 0; k < 2_000; k++) {
    judgeRecords(0, decoded(Array.from({ length: 10 }, (_, i) => event(`w${k}-${i}`, T0 + 100 * k + 10 * i)), offset), users, 1_000);
    offset += 10;
    for (const c of takeCommits(users, 1_000)) {
      written += Buffer.byteLength(c.write.payload);
      if (c.write.mode === 'append') deltas += Buffer.byteLength(c.write.payload);
      stored = applyWrite(stored, c.expectedRaw, c.newMarker, c.write).stored;
      confirmCommits(users, [c]);
      assert.ok(decodeLog(stored.segments, 1_000).units <= 2 * 200 + 64 + 11, 'bounded by compaction');
    }
  }
  assert.ok(written < 4 * deltas, `written ${written} bytes for ${deltas} bytes of deltas`);
});

test('decodeLog: segments merge in order and evict; a legacy whole state is a one-segment log; garbage is refused', () => {
  const L = 100;
  const log = [JSON.stringify([1, 1_000, 'a', 0, 'b', 50]), JSON.stringify([1, 1_120, 'c', 0, 'b', 30])];
  const { state, units } = decodeLog(log, L);
  // b re-accepted at 1,090 (its first time, 950, fell below 1,120 - 100); a (1,000) is now stale
  assert.deepStrictEqual(state, { maxEventTime: 1_120, ids: new Map([['b', 1_090], ['c', 1_120]]) });
  assert.equal(units, 6);
  assert.deepStrictEqual(decodeLog([], L), { state: emptyAcceptanceState(), units: 0 });
  for (const bad of [['[1,5,"a"]'], ['{}'], ['[1,5]', '[2]']]) assert.throws(() => decodeLog(bad, L), AcceptanceStateError, bad.join());
});
