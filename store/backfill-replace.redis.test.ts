// TileStore.replace (store/lua/replace-entity.lua) against the real Redis: a backfill write
// over tiles that already exist in its range (damaged counts, planted stale fields and
// tiles) leaves exactly what the same backfill leaves in an empty store; a
// replayed write changes nothing but _v; tiles outside the range are left alone. The
// script skips its clear when the tile index holds no tile of the range, so these cases
// are the ones that must still clear.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { ClickEvent } from '../core/event.js';
import { createRegistry } from '../core/features/registry.js';
import { acceptedEvents, dropPrefix, testConfig, testPrefix } from '../api/test-support.js';
import { cacheHarness, type CacheHarness } from './cache-support.js';
import { createRedis } from './redis-client.js';

const registry = createRegistry({ latenessMs: 10 * 60_000 });
const HOUR = 3600_000;
const START = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR;
let redis: Redis;
let events: ClickEvent[];
const prefixes: string[] = [];

before(() => {
  redis = createRedis(testConfig());
  events = acceptedEvents('bf-replace', START, 4 * 3600 - 60, { users: 4, items: 6, rate: 0.05 });
  assert.ok(events.length > 100, 'enough events');
});
after(async () => {
  for (const p of prefixes) await dropPrefix(redis, p);
  await redis.quit();
});

function harness(): CacheHarness {
  const prefix = testPrefix('bfr');
  prefixes.push(prefix);
  return cacheHarness(redis, prefix, registry);
}

/**
 * Every tile hash and tile index of the events' entities, by key without the prefix. Left
 * out: _v, _ttl (wall clock) and _edue (a bound that depends on the order of writes,
 * store/lua/include/tile-hash.lua).
 */
async function snapshot(h: CacheHarness): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const ids = new Map<'user' | 'item', Set<string>>([['user', new Set(events.map((e) => e.user_id))], ['item', new Set(events.flatMap((e) => (e.item_id ? [e.item_id] : [])))]]);
  for (const [entity, set] of ids) {
    for (const id of set) {
      for (const key of h.tileKeys(entity, id)) {
        const { _v: version, _ttl: _refreshed, _edue: _due, ...fields } = await redis.hgetall(key);
        const name = key.slice(h.store.keys.prefix.length);
        if (Object.keys(fields).length > 0) assert.ok(version, `${key} has a version`);
        out[name] = fields;
        out[`${name}:x`] = await redis.zrange(`${key}:x`, 0, -1, 'WITHSCORES');
      }
    }
  }
  return out;
}

test('a backfill over stored tiles of its range equals one into an empty store, and a replay changes nothing', async () => {
  const clean = harness();
  await clean.backfill(events, START, START + 4 * HOUR);
  const expected = await snapshot(clean);

  // The same backfill, then damage inside the range: every summary (hi, lo, count) of the
  // user's 1-minute tiles changed and a separate count added to each (as the stream worker
  // adds to a backfilled tile), a stale field in a stored tile, and a stale tile the
  // backfill writes nothing for (in the index, as every writer leaves it).
  const dirty = harness();
  await dirty.backfill(events, START, START + 4 * HOUR);
  const user = events[0]?.user_id as string;
  const [minuteKey] = dirty.tileKeys('user', user);
  assert.ok(minuteKey);
  const fields = Object.keys(await redis.hgetall(minuteKey)).filter((f) => f.endsWith(':t'));
  assert.ok(fields.length > 5, 'stored summaries to damage');
  for (const f of fields) {
    await redis.hset(minuteKey, f, `1${await redis.hget(minuteKey, f)}5`);
    await redis.hset(minuteKey, `${f.slice(0, -2)}:n`, '5');
  }
  const [tile, series] = (fields[0] as string).split(':') as [string, string];
  await redis.hset(minuteKey, `${tile}:${series}:k:stale`, '3');
  const busy = new Set(events.filter((e) => e.user_id === user).map((e) => Math.floor(e.event_time / 60_000)));
  let minute = START / 60_000;
  while (busy.has(minute)) minute += 1;
  const emptyTile = minute.toString(36);
  await redis.hset(minuteKey, `${emptyTile}:${series}:n`, '7');
  await redis.zadd(`${minuteKey}:x`, START + 8 * 24 * HOUR, emptyTile);
  assert.notDeepEqual(await snapshot(dirty), expected);

  const indexName = `${minuteKey.slice(dirty.store.keys.prefix.length)}:x`;
  // The planted tile's index member stays (a clear never shrinks the index): the only difference.
  const withoutPlanted = (snap: Record<string, unknown>): Record<string, unknown> => {
    const index = [...(snap[indexName] as string[])];
    const at = index.indexOf(emptyTile);
    assert.ok(at >= 0, 'planted index member');
    index.splice(at, 2);
    return { ...snap, [indexName]: index };
  };
  await dirty.backfill(events, START, START + 4 * HOUR);
  assert.deepEqual(withoutPlanted(await snapshot(dirty)), expected);

  const version = await redis.hget(minuteKey, '_v');
  await dirty.backfill(events, START, START + 4 * HOUR);
  assert.deepEqual(withoutPlanted(await snapshot(dirty)), expected);
  assert.notEqual(await redis.hget(minuteKey, '_v'), version, 'a replay is a new version');
});

test('a backfill leaves tiles outside its range alone', async () => {
  const h = harness();
  await h.write(events);
  const later = events.filter((e) => e.event_time >= START + 2 * HOUR);
  const before = await snapshot(h);
  // The range [START, START + 2h) is recomputed from its own events: nothing changes
  // outside it, and inside it the online tiles are already right.
  await h.backfill(events.filter((e) => e.event_time < START + 2 * HOUR), START, START + 2 * HOUR);
  const after = await snapshot(h);
  for (const [key, fields] of Object.entries(after)) {
    if (key.endsWith(':x')) continue;
    const was = before[key] as Record<string, string>;
    for (const [f, v] of Object.entries(fields as Record<string, string>)) {
      const tile = parseInt(f.split(':')[0] as string, 36);
      const tileMs = Number(key.split(':').pop());
      if (!f.startsWith('_') && tile * tileMs >= START + 2 * HOUR) assert.equal(v, was[f], `${key} ${f} outside the range`);
    }
  }
  assert.ok(later.length > 0);
});

test('a backfill write of more fields (and tiles) than a listpack holds is stored whole, and its conversions leave no field or index member behind', async () => {
  // One busy user over 4 hours: its 1-minute hash gets well over hash-max-listpack-entries
  // (512) fields in one write, and its index over zset-max-listpack-entries (128) tiles,
  // the cases replace-entity.lua (include/tile-hash.lua) converts before writing.
  const busy = acceptedEvents('bf-replace-big', START, 4 * 3600 - 60, { users: 1, items: 3000, rate: 0.3 });
  const user = busy[0]?.user_id as string;
  const h = harness();
  // A small hash first (a listpack): a backfill of the first events only.
  await h.backfill(busy.slice(0, 5), START, START + 4 * HOUR);
  const [minuteKey] = h.tileKeys('user', user);
  assert.ok(minuteKey);
  assert.equal(await redis.object('ENCODING', minuteKey), 'listpack');
  assert.equal(await redis.object('ENCODING', `${minuteKey}:x`), 'listpack');
  await h.backfill(busy, START, START + 4 * HOUR);
  assert.equal(await redis.object('ENCODING', `${minuteKey}:x`), 'skiplist');
  const fields = await redis.hgetall(minuteKey);
  assert.ok(Object.keys(fields).length > 600, `a big hash (${Object.keys(fields).length} fields)`);
  for (const key of [...h.tileKeys('user', user), ...new Set(busy.flatMap((e) => (e.item_id ? h.tileKeys('item', e.item_id) : [])))]) {
    assert.equal(await redis.hexists(key, '_bulk'), 0, `${key} holds no _bulk`);
    assert.equal((await redis.zrange(`${key}:x`, 0, -1)).filter((m) => m.startsWith('_')).length, 0, `${key}:x holds no conversion member`);
  }
  // The same as a backfill into an empty store: the conversion changes no value.
  const clean = harness();
  await clean.backfill(busy, START, START + 4 * HOUR);
  const strip = (f: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(f).filter(([k]) => !['_v', '_ttl', '_edue'].includes(k)));
  const [cleanKey] = clean.tileKeys('user', user);
  const want = strip(await redis.hgetall(cleanKey as string));
  const got = strip(fields);
  const differ = [...new Set([...Object.keys(want), ...Object.keys(got)])].filter((f) => want[f] !== got[f]);
  assert.deepEqual(differ.map((f) => `${f}: ${got[f]} vs ${want[f]}`), []);
  const index = await redis.zrange(`${minuteKey}:x`, 0, -1, 'WITHSCORES');
  assert.ok(index.length > 2 * 128, `a big index (${index.length / 2} tiles)`);
  assert.deepEqual(index, await redis.zrange(`${cleanKey as string}:x`, 0, -1, 'WITHSCORES'));
});

test('a backfill write stores fields and values byte for byte: newlines, quotes, non-ASCII, empty values, 5,000 fields', async () => {
  const h = harness();
  const tileMs = 60_000;
  const start = START;
  const tile = (start / tileMs).toString(36);
  const hostile = ['a\nb', '\n', 'quote"\'\\', 'ünï✓ 😀', '\r\n\t', 'x'.repeat(3000), ''];
  const ops = hostile.map((v, i) => ({ op: 'set' as const, field: `${tile}:s${i}:k:${v}`, value: v }));
  for (let i = 0; i < 5000; i++) ops.push({ op: 'set' as const, field: `${tile}:big:k:${i}`, value: String(i) });
  await h.store.replace([{
    entity: 'user', id: 'hostile\nid ✓', tiles: [{ entity: 'user', entityId: 'hostile\nid ✓', tileMs, ops, tiles: [{ start, expireAt: START + 30 * 24 * HOUR }], expireAt: START + 30 * 24 * HOUR }],
    clear: { from: start, to: start + tileMs, series: new Map([[tileMs, ['big', ...hostile.map((_, i) => `s${i}`)]]]) },
  }]);
  const stored = await redis.hgetall(h.store.keys.tiles('user', 'hostile\nid ✓', tileMs));
  for (const op of ops) assert.equal(stored[op.field], op.value, JSON.stringify(op.field).slice(0, 60));
  assert.equal(Object.keys(stored).filter((f) => !f.startsWith('_')).length, ops.length);
});
