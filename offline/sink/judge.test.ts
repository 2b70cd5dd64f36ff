// The sink's judging and replay rules, without services: a generated stream consumed in
// random batches, flushed at random points, crashing at random steps of a flush (after the
// insert, after the state write, after the commit), and restarted from the committed
// offset and the stored states, inserts exactly the reference's accepted events: never one
// missing, never a different row for the same key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { serializeAcceptanceState, emptyAcceptanceState } from '../../core/acceptance.js';
import { DEFAULT_EVENT_LIMITS, decodeEvent, type ClickEvent } from '../../core/event.js';
import { referenceAccept, referenceAcceptanceStates } from '../../core/reference.js';
import { generateClickstream } from '../../fixtures/generator.js';
import { Rng } from '../../fixtures/random.js';
import type { UserCommit } from './acceptance-store.js';
import { confirmCommits, decodeRecords, entryOf, judgeRecords, judgeSlice, keyedUsers, missingUsers, takeCommits, trimUsers, type Judged, type PartitionUsers, type SinkRecord } from './judge.js';
import { applyWrite, CommitCode, decodeLog, type StoredLog } from './state-log.js';

const LATENESS = 10 * 60_000;

function stream(seed: string, users = 40): SinkRecord[] {
  const rng = new Rng(`keys-${seed}`);
  const generated = [...generateClickstream({ seed, startMs: Date.UTC(2024, 4, 1), rate: 2, count: 3_000, users, items: 100, late: 0.05, duplicates: 0.05, malformed: 0.03, outOfOrder: 0.2 })];
  // Keys are the user_id as producers write them, but judging must not depend on it: some
  // records carry none, or another record's user.
  return generated.map((r, i) => {
    const x = rng.next();
    const key = x < 0.8 ? r.key : x < 0.9 ? null : (generated[Math.floor(rng.next() * generated.length)]?.key ?? null);
    return { offset: String(i), timestamp: String(r.clockMs), key: key === null ? null : Buffer.from(key), value: Buffer.from(r.value) };
  });
}

/** The reference: decode every record, then the brute-force acceptance rules. */
function expected(records: readonly SinkRecord[]): ClickEvent[] {
  const events = records.flatMap((r) => {
    const res = decodeEvent(r.value, Number(r.timestamp));
    return res.ok ? [res.event] : [];
  });
  return referenceAccept(events, LATENESS);
}

const rowKey = (r: Pick<ClickEvent, 'user_id' | 'event_time' | 'event_id'>): string => JSON.stringify([r.user_id, r.event_time, r.event_id]);
/** The key of a TabSeparated line (event_id, user_id, event_type, event_time, ...; the generator's ids need no escapes). */
const lineKey = (line: string): string => {
  const [eventId, userId, , time] = line.split('\t');
  return JSON.stringify([userId, Number(time), eventId]);
};

for (const seed of ['a', 'b', 'c', 'd', 'e', 'f']) {
  test(`replays after crashes insert exactly the accepted events (seed ${seed})`, () => {
    const records = stream(seed);
    const rng = new Rng(`crash-${seed}`);
    const redis = new Map<string, StoredLog>(); // what Redis holds (commit-user.lua's model)
    const table = new Map<string, string>(); // the events table after merges: key -> row content
    let committed = 0; // next offset to consume after a restart
    let users: PartitionUsers = new Map();
    let position = committed;
    let pending: { rows: string[]; commits: UserCommit[]; next: number } = { rows: [], commits: [], next: 0 };
    let crashes = 0;
    let replayed = 0;

    const load = (ids: readonly string[]) => {
      for (const id of ids) {
        const s = redis.get(id);
        const d = decodeLog(s?.segments ?? [], LATENESS);
        users.set(id, entryOf({ raw: s?.marker ?? '', marker: s === undefined ? -1 : Number(s.marker), state: d.state, log: { segments: s?.segments.length ?? 0, units: d.units } }));
      }
    };
    const restart = () => {
      users = new Map();
      position = committed;
      pending = { rows: [], commits: [], next: 0 };
      crashes += 1;
    };

    while (position < records.length) {
      const size = 1 + Math.floor(rng.next() * 200);
      const batch = records.slice(position, position + size);
      // as consume.ts does: the keys' users loaded, then judgeSlice, loading any user it stops at
      load(keyedUsers(batch, users));
      for (let from = 0; ;) {
        const judged = judgeSlice(0, batch, from, DEFAULT_EVENT_LIMITS, users, LATENESS);
        replayed += judged.skipped;
        pending.rows.push(...judged.lines);
        if (judged.missing === undefined) break;
        load([judged.missing]);
        from = judged.next;
      }
      position += batch.length;
      if (rng.next() < 0.5 && position < records.length) continue; // keep buffering
      // flush: insert, store states, commit; crash at a random step
      pending.commits = takeCommits(users, LATENESS);
      pending.next = position;
      const crashAt = rng.next();
      for (const line of pending.rows) {
        const before = table.get(lineKey(line));
        assert.ok(before === undefined || before === line, `a re-inserted row differs: ${lineKey(line)}`);
        table.set(lineKey(line), line);
      }
      if (crashAt < 0.15) { restart(); continue; }
      for (const c of pending.commits) {
        const res = applyWrite(redis.get(c.userId) ?? { marker: '', segments: [] }, c.expectedRaw, c.newMarker, c.write);
        assert.equal(res.code, CommitCode.Applied, 'compare-and-set expectation');
        redis.set(c.userId, res.stored);
      }
      confirmCommits(users, pending.commits);
      if (crashAt < 0.3) { restart(); continue; }
      committed = pending.next;
      pending = { rows: [], commits: [], next: 0 };
      trimUsers(users, 10);
      if (crashAt < 0.4) restart();
    }
    // the final flush
    pending.commits = takeCommits(users, LATENESS);
    for (const line of pending.rows) table.set(lineKey(line), line);

    const want = expected(records).map((e) => rowKey(e)).sort();
    assert.deepStrictEqual([...table.keys()].sort(), want);
    assert.ok(crashes > 3, `crashes: ${crashes}`);
    assert.ok(replayed > 0, 'some records were skipped as already applied');
  });
}

test('judging: decode failures, late and duplicate events are counted, not inserted', () => {
  const records = stream('counts');
  const users: PartitionUsers = new Map();
  const decoded = decodeRecords(records, DEFAULT_EVENT_LIMITS);
  for (const u of missingUsers(decoded, users)) users.set(u, entryOf({ raw: '', marker: -1, state: emptyAcceptanceState() }));
  const judged = judgeRecords(3, decoded, users, LATENESS);
  assert.equal(judged.lines.length, expected(records).length);
  assert.equal(judged.days.length, judged.lines.length);
  assert.ok((judged.rejected.late ?? 0) > 0 && (judged.rejected.duplicate ?? 0) > 0);
  assert.ok(Object.keys(judged.rejected).some((r) => r !== 'late' && r !== 'duplicate'), 'decode failures are counted');
  assert.ok(judged.lines.every((l) => l.split('\t')[14] === '3'), 'source_partition');
  // a user's commit carries the offset of their last judged record and (as a log) the state after it
  const commits = takeCommits(users, LATENESS);
  assert.equal(commits.length, users.size);
  for (const c of commits) {
    const u = users.get(c.userId);
    assert.equal(c.newMarker, u?.judged);
    const stored = applyWrite({ marker: '', segments: [] }, c.expectedRaw, c.newMarker, c.write).stored;
    assert.equal(serializeAcceptanceState(decodeLog(stored.segments, LATENESS).state), serializeAcceptanceState(u?.state ?? emptyAcceptanceState()));
  }
  assert.deepStrictEqual(takeCommits(users, LATENESS), [], 'nothing judged since');
});

test('judging needs every user loaded first', () => {
  const decoded = decodeRecords(stream('x').slice(0, 20), DEFAULT_EVENT_LIMITS);
  assert.throws(() => judgeRecords(0, decoded, new Map(), LATENESS), /was not loaded/);
});

test('stored states are the reference\'s at every commit; memory stays bounded (core admit(), amortized eviction)', () => {
  // one user, event times drifting forward with jitter, repeated ids: late, duplicate and
  // stale-id cases all occur; judged one record at a time, committed to a log at random points
  const id = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 1_000_000 }));
  const step = fc.record({ dt: fc.integer({ min: -300, max: 600 }), id, commit: fc.integer({ min: 0, max: 40 }).map((x) => x === 0) });
  fc.assert(fc.property(fc.array(step, { minLength: 100, maxLength: 600 }), fc.integer({ min: 1, max: 2_000 }), (steps, lateness) => {
    const users: PartitionUsers = new Map([['u', entryOf({ raw: '', marker: -1, state: emptyAcceptanceState() })]]);
    const mine = users.get('u');
    assert.ok(mine);
    let t = Date.UTC(2024, 4, 1);
    const events: ClickEvent[] = steps.map((s) => ({ event_id: `e${s.id}`, user_id: 'u', event_type: 'view', event_time: (t += s.dt), ingest_time: t, quantity: 1 }));
    const accepted = new Set(referenceAccept(events, lateness));
    let stored: StoredLog = { marker: '', segments: [] };
    let rows = 0;
    let wantRows = 0;
    let peak = 0;
    steps.forEach((s, i) => {
      const event = events[i] as ClickEvent;
      rows += judgeRecords(0, [{ offset: i, bytes: 0, event }], users, lateness).lines.length;
      if (accepted.has(event)) wantRows += 1;
      assert.equal(rows, wantRows, `verdict of event ${i}`);
      peak = Math.max(peak, mine.state.ids.size - [...mine.state.ids.values()].filter((x) => x < (mine.state.maxEventTime ?? 0) - lateness).length);
      assert.ok(mine.state.ids.size <= 2 * (peak + 1) + 64, 'stale ids are bounded by twice the live ones');
      if (!s.commit) return;
      const commits = takeCommits(users, lateness);
      for (const c of commits) stored = applyWrite(stored, c.expectedRaw, c.newMarker, c.write).stored;
      confirmCommits(users, commits);
      const want = referenceAcceptanceStates(events.slice(0, i + 1), lateness).get('u');
      assert.equal(serializeAcceptanceState(decodeLog(stored.segments, lateness).state),
        serializeAcceptanceState({ maxEventTime: want?.maxEventTime ?? null, ids: want?.ids ?? new Map() }));
    });
  }), { numRuns: 300, endOnFailure: true });
});

test('judgeSlice = decodeRecords + judgeRecords: the same lines, counts and states, whatever the keys', () => {
  for (const seed of ['s1', 's2', 's3']) {
    const records = stream(seed, 1_000); // many users: some first seen under another's key
    const rng = new Rng(`slice-${seed}`);
    const a: PartitionUsers = new Map();
    const b: PartitionUsers = new Map();
    const empty = (ids: readonly string[], users: PartitionUsers) => {
      for (const id of ids) if (!users.has(id)) users.set(id, entryOf({ raw: '', marker: -1, state: emptyAcceptanceState() }));
    };
    const merge = (into: Judged, j: Judged) => {
      into.lines.push(...j.lines);
      into.days.push(...j.days);
      into.bytes += j.bytes;
      into.skipped += j.skipped;
      into.unstorable.push(...j.unstorable);
      for (const [r, n] of Object.entries(j.rejected)) into.rejected[r as keyof Judged['rejected']] = (into.rejected[r as keyof Judged['rejected']] ?? 0) + (n ?? 0);
    };
    let stops = 0;
    for (let position = 0; position < records.length;) {
      // a replayed range now and then: records at or below a user's marker are skipped by both
      if (rng.next() < 0.1) position = Math.max(0, position - Math.floor(rng.next() * 100));
      const batch = records.slice(position, position + 1 + Math.floor(rng.next() * 300));
      const decoded = decodeRecords(batch, DEFAULT_EVENT_LIMITS);
      empty(missingUsers(decoded, a), a);
      const want = judgeRecords(2, decoded, a, LATENESS);
      const got: Judged = { lines: [], days: [], bytes: 0, rejected: {}, skipped: 0, unstorable: [] };
      empty(keyedUsers(batch, b), b);
      for (let from = 0; ;) {
        const j = judgeSlice(2, batch, from, DEFAULT_EVENT_LIMITS, b, LATENESS);
        merge(got, j);
        if (j.missing === undefined) {
          assert.equal(j.next, batch.length);
          break;
        }
        assert.ok(!b.has(j.missing) && j.next >= from);
        stops += 1;
        empty([j.missing], b);
        from = j.next;
      }
      assert.deepStrictEqual(got, want);
      position += batch.length;
    }
    assert.ok(stops > 0, 'some records named a user their key did not');
    const byUser = (cs: UserCommit[]) => cs.sort((x, y) => (x.userId < y.userId ? -1 : x.userId > y.userId ? 1 : 0));
    assert.deepStrictEqual(byUser(takeCommits(b, LATENESS)), byUser(takeCommits(a, LATENESS)));
  }
});
