// Routing between the stores, with recording fakes: Redis is asked once per read for every
// id; only what it reports inexact goes to the offline source, in one call; sources are
// labelled per row; an offline failure keeps the Redis answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entity, FeatureValue } from '../core/features/definition.js';
import { defaultRegistry } from '../core/features/registry.js';
import type { EntityReading } from '../store/reader.js';
import { ApiError } from './errors.js';
import { FeatureService, parseEntity } from './service.js';
import type { OfflineSource, OnlineSource } from './sources.js';

const registry = defaultRegistry();
const T = Date.UTC(2024, 0, 10);

/** Redis fake: `inexact[id]` lists the names it cannot answer; the rest are 1. */
function fakes(inexact: Record<string, string[]>, offlineFails = false) {
  const onlineCalls: { ids: readonly string[]; names: readonly string[]; T: number }[] = [];
  const offlineCalls: { ids: readonly string[]; names: readonly string[]; T: number }[] = [];
  const online: OnlineSource = {
    async read(_e: Entity, ids, names, t) {
      onlineCalls.push({ ids, names, T: t });
      return ids.map((id): EntityReading => {
        const bad = inexact[id] ?? [];
        return { id, values: Object.fromEntries(names.filter((n) => !bad.includes(n)).map((n) => [n, 1])), inexact: names.filter((n) => bad.includes(n)) };
      });
    },
  };
  const offline: OfflineSource = {
    async features(_e, ids, names, t) {
      offlineCalls.push({ ids, names, T: t });
      if (offlineFails) throw new Error('connect ECONNREFUSED 127.0.0.1:8123');
      return new Map(ids.map((id) => [id, Object.fromEntries(names.map((n): [string, FeatureValue] => [n, 2]))]));
    },
  };
  return { online, offline, onlineCalls, offlineCalls };
}

const names = ['user_views_1h', 'user_session_events', 'user_last_5_items'];

test('all exact: one Redis read for all (unique) ids, no offline query, source redis', async () => {
  const f = fakes({});
  const svc = new FeatureService({ registry, online: f.online, offline: f.offline, now: () => T });
  const { rows } = await svc.read('user', ['a', 'b', 'a'], names);
  assert.equal(f.onlineCalls.length, 1);
  assert.deepEqual(f.onlineCalls[0]?.ids, ['a', 'b']);
  assert.equal(f.onlineCalls[0]?.T, T, 'asOf omitted means now');
  assert.equal(f.offlineCalls.length, 0);
  assert.deepEqual(rows.map((r) => [r.id, r.source, r.asOf]), [['a', 'redis', T], ['b', 'redis', T], ['a', 'redis', T]]);
});

test('inexact pairs go to ClickHouse in one query, only the ids and names needing it', async () => {
  const f = fakes({ b: ['user_session_events'], c: names });
  const svc = new FeatureService({ registry, online: f.online, offline: f.offline, now: () => T + 1 });
  const { rows, offlineError } = await svc.read('user', ['a', 'b', 'c'], names, T);
  assert.equal(offlineError, undefined);
  assert.equal(f.offlineCalls.length, 1);
  assert.deepEqual(f.offlineCalls[0], { ids: ['b', 'c'], names: ['user_session_events', 'user_views_1h', 'user_last_5_items'], T });
  assert.deepEqual(rows.map((r) => r.source), ['redis', 'mixed', 'clickhouse']);
  assert.deepEqual(rows[1]?.values, { user_views_1h: 1, user_session_events: 2, user_last_5_items: 1 });
  assert.deepEqual(rows[2]?.values, { user_views_1h: 2, user_session_events: 2, user_last_5_items: 2 });
});

test('ClickHouse down: Redis answers are kept, the rest is listed as unavailable with a clear error', async () => {
  const f = fakes({ b: ['user_session_events'] }, true);
  const svc = new FeatureService({ registry, online: f.online, offline: f.offline });
  const { rows, offlineError } = await svc.read('user', ['a', 'b'], names, T);
  assert.ok(offlineError instanceof ApiError);
  assert.equal(offlineError.code, 'OFFLINE_UNAVAILABLE');
  assert.match(offlineError.message, /offline store \(ClickHouse\) unavailable, needed for user_session_events of 1 user\(s\) at 2024-01-10T00:00:00.000Z: connect ECONNREFUSED/);
  assert.deepEqual(rows[0]?.unavailable, []);
  assert.deepEqual(rows[1]?.unavailable, ['user_session_events']);
  assert.deepEqual(rows[1]?.values, { user_views_1h: 1, user_last_5_items: 1 });
});

test('Redis errors become STORE_UNAVAILABLE; no ids or no names touch no store', async () => {
  const failing: OnlineSource = { read: async () => { throw new Error('Connection is closed.'); } };
  const f = fakes({});
  const svc = new FeatureService({ registry, online: failing, offline: f.offline });
  await assert.rejects(svc.read('user', ['a'], names), (e: ApiError) => e.code === 'STORE_UNAVAILABLE' && /Redis\) unavailable: Connection is closed/.test(e.message));
  assert.deepEqual((await svc.read('user', [], names)).rows, []);
  assert.deepEqual((await svc.read('user', ['a'], [])).rows.map((r) => [r.id, r.values]), [['a', {}]]);
});

test('names: deduplicated; unknown or other-entity names list the valid ones', () => {
  const svc = new FeatureService({ registry, ...fakes({}) });
  assert.deepEqual(svc.resolveNames('user', ['user_views_1h', 'user_views_1h']), ['user_views_1h']);
  assert.throws(() => svc.resolveNames('user', ['nope']), (e: ApiError) => e.code === 'UNKNOWN_FEATURE' && /unknown feature "nope"; valid user features: user_views_1h, /.test(e.message)
    && (e.extensions.validNames as string[]).length === registry.forEntity('user').length);
  assert.throws(() => svc.resolveNames('user', ['item_views_1h']), (e: ApiError) => /"item_views_1h" belongs to entity item, not user/.test(e.message));
  assert.throws(() => parseEntity('users'), (e: ApiError) => e.code === 'UNKNOWN_ENTITY' && /valid entities: user, item/.test(e.message));
});

test('asOf too far in the future is refused; an offline source that skips ids is an error, not a silent gap', async () => {
  const f = fakes({ b: ['user_views_1h'] });
  const svc = new FeatureService({ registry, online: f.online, offline: { features: async () => new Map() }, now: () => T, maxFutureMs: 60_000 });
  await assert.rejects(svc.read('user', ['a'], names, T + 60_001), (e: ApiError) => e.code === 'BAD_USER_INPUT' && /is in the future/.test(e.message));
  assert.equal((await svc.read('user', ['a'], names, T + 60_000)).rows[0]?.source, 'redis');
  const { offlineError, rows } = await svc.read('user', ['a', 'b'], names, T);
  assert.equal(offlineError?.code, 'OFFLINE_UNAVAILABLE');
  assert.match(offlineError?.message ?? '', /returned no values for 1 user\(s\), e.g. "b"/);
  assert.deepEqual(rows[1]?.unavailable, ['user_views_1h']);
});
