// The offline acceptance-state store on the real Redis, under a private prefix: load of
// absent users, compare-and-set codes (applied, idempotent retry, conflict), TTL, key layout.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { admit, emptyAcceptanceState, serializeAcceptanceState } from '../../core/acceptance.js';
import { loadConfig } from '../../config/config.js';
import { createRegistry } from '../../core/features/registry.js';
import { createRedis } from '../../store/redis-client.js';
import { AcceptanceStore, CommitCode, offlineStateKey, stateTtlMs } from './acceptance-store.js';

const config = loadConfig();
const redis = createRedis(config);
const prefix = `tto${randomUUID().slice(0, 8)}`;
const store = new AcceptanceStore(redis, prefix, 60_000);

after(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

test('keys: own namespace, one hash tag per user (ids escaped)', () => {
  assert.equal(offlineStateKey('ts', 'u1'), 'ts:o1:{u:u1}:m');
  assert.equal(offlineStateKey('ts', 'a{b}%'), 'ts:o1:{u:a%7Bb%7D%25}:m');
});

test('absent users load as empty state with no marker', async () => {
  const loaded = await store.load(0, ['nobody']);
  assert.deepStrictEqual(loaded.get('nobody'), { raw: '', marker: -1, state: emptyAcceptanceState() });
});

test('compare-and-set: applied, idempotent retry, conflict; per partition markers', async () => {
  const state = emptyAcceptanceState();
  admit(state, { event_id: 'e1', event_time: 1_000 }, 600_000);
  const text = serializeAcceptanceState(state);
  assert.deepStrictEqual(await store.commit(2, [{ userId: 'u1', expectedRaw: '', newMarker: 41, state: text }]), [CommitCode.Applied]);
  // the same write again (a retried flush whose first attempt got through)
  assert.deepStrictEqual(await store.commit(2, [{ userId: 'u1', expectedRaw: '', newMarker: 41, state: text }]), [CommitCode.AlreadyApplied]);
  // a stale writer (expected absent, another state) and a writer that read an old marker
  assert.deepStrictEqual(await store.commit(2, [
    { userId: 'u1', expectedRaw: '', newMarker: 45, state: '[1]' },
    { userId: 'u1', expectedRaw: '17', newMarker: 50, state: text },
  ]), [CommitCode.Conflict, CommitCode.Conflict]);
  // the owner continues from the marker it stored
  assert.deepStrictEqual(await store.commit(2, [{ userId: 'u1', expectedRaw: '41', newMarker: 60, state: text }]), [CommitCode.Applied]);
  const loaded = (await store.load(2, ['u1'])).get('u1');
  assert.equal(loaded?.raw, '60');
  assert.equal(loaded?.marker, 60);
  assert.deepStrictEqual(loaded?.state, state);
  // markers are per source partition; the state is the user's
  assert.equal((await store.load(3, ['u1'])).get('u1')?.marker, -1);
  const ttl = await redis.pttl(offlineStateKey(prefix, 'u1'));
  assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);
});

test('state TTL follows the online worker meta retention (largest series retention + slack)', () => {
  const ttl = stateTtlMs(createRegistry());
  assert.ok(ttl >= 7 * 86_400_000 + 10 * 60_000 + 86_400_000, `ttl ${ttl}`);
});
