// The offline acceptance-state store on the real Redis, under a private prefix: load of
// absent users, compare-and-set codes (applied, idempotent retry, conflict), TTL, key
// layout, values written before the log existed, and commit-user.lua agreeing with its JS
// model (state-log.ts applyWrite), which the pure tests run the sink against.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { admit, emptyAcceptanceState, serializeAcceptanceState } from '../../core/acceptance.js';
import { loadConfig } from '../../config/config.js';
import { createRegistry } from '../../core/features/registry.js';
import { createRedis } from '../../store/redis-client.js';
import { AcceptanceStore, CommitCode, offlineStateKey, stateTtlMs } from './acceptance-store.js';
import { entryOf, judgeRecords, takeCommits, type PartitionUsers } from './judge.js';
import { appendWrite, applyWrite, EMPTY_LOG, snapshotWrite, type StateWrite, type StoredLog } from './state-log.js';

const L = 600_000;
const config = loadConfig();
const redis = createRedis(config);
const prefix = `tto${randomUUID().slice(0, 8)}`;
const store = new AcceptanceStore(redis, prefix, 60_000, L);

after(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const ids = (entries: Array<[string, number]>) => new Map(entries);

test('keys: own namespace, one hash tag per user (ids escaped)', () => {
  assert.equal(offlineStateKey('ts', 'u1'), 'ts:o1:{u:u1}:m');
  assert.equal(offlineStateKey('ts', 'a{b}%'), 'ts:o1:{u:a%7Bb%7D%25}:m');
});

test('absent users load as empty state with no marker and an empty log', async () => {
  const loaded = await store.load(0, ['nobody']);
  assert.deepStrictEqual(loaded.get('nobody'), { raw: '', marker: -1, state: emptyAcceptanceState(), log: EMPTY_LOG });
});

test('compare-and-set: applied, idempotent retry, conflict; per partition markers; appends read back; TTL', async () => {
  const state = emptyAcceptanceState();
  admit(state, { event_id: 'e1', event_time: 1_000 }, L);
  const first = appendWrite(EMPTY_LOG, 1_000, ids([['e1', 1_000]]));
  assert.deepStrictEqual(await store.commit(2, [{ userId: 'u1', expectedRaw: '', newMarker: 41, write: first }]), [CommitCode.Applied]);
  // the same write again (a retried flush whose first attempt got through)
  assert.deepStrictEqual(await store.commit(2, [{ userId: 'u1', expectedRaw: '', newMarker: 41, write: first }]), [CommitCode.AlreadyApplied]);
  // the same marker and log length but another segment is not that write
  const twin = appendWrite(EMPTY_LOG, 1_000, ids([['e9', 1_000]]));
  assert.deepStrictEqual(await store.commit(2, [{ userId: 'u1', expectedRaw: '', newMarker: 41, write: twin }]), [CommitCode.Conflict]);
  // a stale writer (expected absent, another write), one that read an old marker, and one whose log is not the stored one
  const second = appendWrite(first.after, 2_000, ids([['é2😀', 2_000]]));
  assert.deepStrictEqual(await store.commit(2, [
    { userId: 'u1', expectedRaw: '', newMarker: 45, write: second },
    { userId: 'u1', expectedRaw: '17', newMarker: 50, write: second },
    { userId: 'u1', expectedRaw: '41', newMarker: 50, write: appendWrite(EMPTY_LOG, 2_000, ids([['x', 2_000]])) },
  ]), [CommitCode.Conflict, CommitCode.Conflict, CommitCode.Conflict]);
  // the owner continues from the marker and log it stored
  assert.deepStrictEqual(await store.commit(2, [{ userId: 'u1', expectedRaw: '41', newMarker: 60, write: second }]), [CommitCode.Applied]);
  admit(state, { event_id: 'é2😀', event_time: 2_000 }, L);
  const loaded = (await store.load(2, ['u1'])).get('u1');
  assert.equal(loaded?.raw, '60');
  assert.equal(loaded?.marker, 60);
  assert.deepStrictEqual(loaded?.state, state);
  assert.deepStrictEqual(loaded?.log, second.after);
  // an empty append (only rejected records since) moves the marker alone; retried, it is already applied
  const none = appendWrite(second.after, 2_000, new Map());
  assert.deepStrictEqual(await store.commit(2, [{ userId: 'u1', expectedRaw: '60', newMarker: 70, write: none }]), [CommitCode.Applied]);
  assert.deepStrictEqual(await store.commit(2, [{ userId: 'u1', expectedRaw: '60', newMarker: 70, write: none }]), [CommitCode.AlreadyApplied]);
  // markers are per source partition; the state is the user's
  assert.equal((await store.load(3, ['u1'])).get('u1')?.marker, -1);
  const ttl = await redis.pttl(offlineStateKey(prefix, 'u1'));
  assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);
});

test('a value written before the log existed is read, and the first commit replaces it by a snapshot', async () => {
  const state = emptyAcceptanceState();
  admit(state, { event_id: 'old', event_time: 5_000 }, L);
  await redis.hset(offlineStateKey(prefix, 'u2'), 'o:1', '9', 'acc', serializeAcceptanceState(state));
  const loaded = (await store.load(1, ['u2'])).get('u2');
  assert.ok(loaded);
  assert.deepStrictEqual([loaded.raw, loaded.state], ['9', state]);
  const users: PartitionUsers = new Map([['u2', entryOf(loaded)]]);
  const event = { event_id: 'new', user_id: 'u2', event_type: 'view', event_time: Date.UTC(2024, 0, 1), ingest_time: Date.UTC(2024, 0, 1), quantity: 1 };
  admit(state, event, L);
  judgeRecords(1, [{ offset: 12, bytes: 1, event }], users, L);
  const commits = takeCommits(users, L);
  assert.equal(commits[0]?.write.mode, 'snapshot');
  assert.deepStrictEqual(await store.commit(1, commits), [CommitCode.Applied]);
  assert.equal(await redis.hget(offlineStateKey(prefix, 'u2'), 'acc'), null, 'the old field is gone');
  assert.deepStrictEqual((await store.load(1, ['u2'])).get('u2')?.state, state);
});

test('a snapshot drops every old segment, however many (deleted in chunks)', async () => {
  let cursor = EMPTY_LOG;
  const commits = [];
  for (let k = 0; k < 2_500; k++) {
    const write = appendWrite(cursor, 1_000 + k, ids([[`e${k}`, 1_000 + k]]));
    commits.push({ userId: 'u3', expectedRaw: k === 0 ? '' : String(k - 1), newMarker: k, write });
    cursor = write.after;
  }
  assert.ok((await store.commit(0, commits)).every((c) => c === CommitCode.Applied));
  const state = { maxEventTime: 3_499, ids: ids([['e2499', 3_499]]) };
  assert.deepStrictEqual(await store.commit(0, [{ userId: 'u3', expectedRaw: '2499', newMarker: 2_500, write: snapshotWrite(state) }]), [CommitCode.Applied]);
  const hash = await redis.hgetall(offlineStateKey(prefix, 'u3'));
  assert.deepStrictEqual(Object.keys(hash).sort(), ['n', 'o:0', 's:0']);
  assert.deepStrictEqual((await store.load(0, ['u3'])).get('u3')?.state, state);
});

test('commit-user.lua agrees with its model on random writes, stale ones included', async () => {
  const write = fc.record({
    expected: fc.constantFrom('ok', '', 'other'), advance: fc.integer({ min: 0, max: 3 }), snapshot: fc.boolean(), lengthOff: fc.constantFrom(0, 0, 0, 1),
    ids: fc.array(fc.tuple(fc.constantFrom('a', 'b', 'ç', '😀'), fc.integer({ min: 0, max: 50 })), { maxLength: 4 }),
  });
  let run = 0;
  await fc.assert(fc.asyncProperty(fc.array(write, { minLength: 1, maxLength: 12 }), async (writes) => {
    const user = `m${run++}`;
    let model: StoredLog = { marker: '', segments: [] };
    let marker = 0;
    for (const w of writes) {
      marker += w.advance; // 0: the same marker again (a retry, or a conflicting one)
      const expectedRaw = w.expected === 'ok' ? model.marker : w.expected === 'other' ? '999' : '';
      const cursor = { segments: model.segments.length + w.lengthOff, units: 0 };
      const state = { maxEventTime: 100, ids: new Map(w.ids.map(([id, t]) => [id, 100 - t])) };
      const sw: StateWrite = w.snapshot ? snapshotWrite(state) : appendWrite(cursor, 100, state.ids);
      const want = applyWrite(model, expectedRaw, marker, sw);
      const [code] = await store.commit(4, [{ userId: user, expectedRaw, newMarker: marker, write: sw }]);
      assert.equal(code, want.code);
      model = want.stored;
      const hash = await redis.hgetall(offlineStateKey(prefix, user));
      assert.equal(hash['o:4'] ?? '', model.marker);
      assert.deepStrictEqual(Object.keys(hash).filter((f) => f.startsWith('s:')).sort(), model.segments.map((_, k) => `s:${k}`).sort(), 'no segment left behind');
      assert.deepStrictEqual(model.segments.map((_, k) => hash[`s:${k}`]), model.segments);
    }
  }), { numRuns: 60 });
});

test('state TTL follows the online worker meta retention (largest series retention + slack)', () => {
  const ttl = stateTtlMs(createRegistry());
  assert.ok(ttl >= 7 * 86_400_000 + 10 * 60_000 + 86_400_000, `ttl ${ttl}`);
});
