// The shortcuts of the tile writers (store/lua/include/tile-hash.lua, apply-entity.lua)
// against a model of what the scripts did before them, call by call: increments added in
// Lua only where that is exact (HINCRBY otherwise), the eviction check skipped only while
// the clock is below _edue (so a sweep runs exactly when the amortised rule says so), and
// PEXPIRE at most every REFRESH_MS, yet never a key without a TTL.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { dropPrefix, testConfig, testPrefix } from '../api/test-support.js';
import { applyOps, opsToArgv, type TileOp } from '../core/ops.js';
import { KeySpace } from './keys.js';
import { createRedis } from './redis-client.js';
import { callScript, registerScripts, SCRIPTS } from './scripts.js';

const TTL = 3_600_000;
let redis: Redis;
const prefixes: string[] = [];

before(() => {
  redis = createRedis(testConfig());
  registerScripts(redis);
});
after(async () => {
  for (const p of prefixes) await dropPrefix(redis, p);
  await redis.quit();
});

interface Keys { meta: string; hash: string; index: string }

function keysFor(tag: string): Keys {
  const prefix = testPrefix(tag);
  prefixes.push(prefix);
  const ks = new KeySpace(prefix);
  return { meta: ks.meta('user', 'u1'), hash: ks.tiles('user', 'u1', 60_000), index: ks.tileIndex('user', 'u1', 60_000) };
}

/** One apply-entity call on one tile hash; partition '' = a backfill write (no marker). */
let versions = 0;
function apply(k: Keys, tiles: readonly [number, number][], ops: readonly TileOp[], marker?: { partition: number; expected: string; next: number }): Promise<unknown> {
  const argv = [marker ? String(marker.partition) : '', marker?.expected ?? '', String(marker?.next ?? ''), '', String(TTL), `v${versions++}`];
  argv.push(String(TTL), String(tiles.length), ...tiles.flatMap(([t, e]) => [t.toString(36), String(e)]), '0');
  const opArgv = opsToArgv(ops);
  argv.push(String(opArgv.length), ...opArgv);
  return callScript(redis, SCRIPTS.applyEntity, [k.meta, k.hash, k.index], argv) as Promise<unknown>;
}

async function assertTtls(k: Keys): Promise<void> {
  for (const key of [k.meta, k.hash, k.index]) {
    const pttl = await redis.pttl(key);
    assert.ok(pttl === -2 || pttl > 0, `${key} exists without a TTL (${pttl})`);
  }
}

/** What the scripts stored before the shortcuts: tile fields, index, _hi, _evc. */
interface Model { fields: Record<string, string>; index: Map<string, number>; clock: number; evc: number }

function modelApply(m: Model, tiles: readonly [number, number][], ops: readonly TileOp[]): void {
  m.fields = applyOps(m.fields, ops);
  for (const [t, e] of tiles) m.index.set(t.toString(36), Math.max(m.index.get(t.toString(36)) ?? -Infinity, e));
  for (const op of ops) {
    if (op.op === 'max' && op.field.endsWith(':hi')) m.clock = Math.max(m.clock, Number(op.value));
    if (op.op === 'tsum') m.clock = Math.max(m.clock, Number(op.value.split(',')[0]));
  }
  const dead = [...m.index].filter(([, e]) => e <= m.clock).map(([t]) => t);
  if (dead.length === 0 || (dead.length < 64 && dead.length * 8 < m.index.size)) return;
  for (const f of Object.keys(m.fields)) if (dead.includes(f.slice(0, f.indexOf(':')))) delete m.fields[f];
  for (const t of dead) m.index.delete(t);
  m.evc = Math.max(m.evc, m.clock);
}

// Increments of every size: small (added in Lua), around 10^15 and 2^53 (the edge of it),
// and up to 2^56 (HINCRBY); sums stay within int64.
const byArb = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.constantFrom('0', '999999999999999', '-999999999999999', '1000000000000000', '-1000000000000000', '9007199254740993', '-9007199254740993'),
  fc.bigInt({ min: -(2n ** 56n), max: 2n ** 56n }).map(String),
);
// tsum: a summary with n (series s2), one without (s3); widths and counts far past 2^32
const summaryArb = fc.record({
  width: fc.integer({ min: 0, max: 2 ** 45 }), n: fc.integer({ min: 1, max: 2 ** 40 }), withN: fc.boolean(),
});
const writeArb = fc.record({
  tiles: fc.array(fc.record({ t: fc.integer({ min: 0, max: 40 }), e: fc.integer({ min: 0, max: 1000 }), by: byArb, sum: summaryArb }), { maxLength: 5 }),
  hi: fc.integer({ min: 0, max: 1000 }),
});
// Tiles the backfill wrote before (`t` with s, n empty or not) that the writes then merge into.
const backfilledArb = fc.array(fc.record({ t: fc.integer({ min: 0, max: 40 }), hi: fc.integer({ min: 0, max: 1000 }), width: fc.integer({ min: 0, max: 2 ** 45 }), n: fc.option(fc.nat(1000)), s: byArb }), { maxLength: 4 });

test('property: fields, index, _hi and _evc equal the model after every write; _edue never passes a due sweep; every key has a TTL', async () => {
  await fc.assert(fc.asyncProperty(backfilledArb, fc.array(writeArb, { minLength: 1, maxLength: 30 }), async (backfilled, writes) => {
    const k = keysFor('tile-hash-prop');
    const m: Model = { fields: {}, index: new Map(), clock: -1, evc: -1 };
    for (const b of backfilled) m.fields[`${b.t.toString(36)}:s2:t`] = `${b.hi},${b.width},${b.n ?? ''},${b.s}`;
    if (backfilled.length > 0) await redis.hset(k.hash, m.fields);
    for (const w of writes) {
      const tiles = w.tiles.map(({ t, e }): [number, number] => [t, e]);
      // the same field may be incremented twice in one call (a repeated tile)
      const ops: TileOp[] = w.tiles.flatMap(({ t, by, sum }): TileOp[] => [
        { op: 'incr', field: `${t.toString(36)}:s1:n`, by }, { op: 'max', field: `${t.toString(36)}:s1:hi`, value: String(w.hi) },
        sum.withN
          ? { op: 'tsum', field: `${t.toString(36)}:s2:t`, value: `${w.hi},${sum.width},${sum.n}` }
          : { op: 'tsum', field: `${t.toString(36)}:s3:t`, value: `${w.hi},${sum.width}` },
      ]);
      assert.equal(await apply(k, tiles, ops), 1);
      modelApply(m, tiles, ops);
      const { _hi: hi, _evc: evc, _edue: due, _v: _version, _ttl: _refreshed, ...fields } = await redis.hgetall(k.hash);
      assert.deepStrictEqual(fields, m.fields);
      assert.equal(hi, String(m.clock));
      assert.equal(Number(evc ?? -1), m.evc);
      const index = await redis.zrange(k.index, 0, -1, 'WITHSCORES');
      assert.deepStrictEqual(new Map(index.flatMap((v, i) => (i % 2 === 0 ? [[v, Number(index[i + 1])] as const] : []))), m.index);
      // _edue is at most the clock at which the next sweep is due
      const scores = [...m.index.values()].sort((a, b) => a - b);
      const nth = Math.max(1, Math.min(64, Math.ceil(scores.length / 8)));
      if (due !== undefined && scores.length > 0) assert.ok(Number(due) <= (scores[nth - 1] as number), `_edue ${due} after the sweep clock ${scores[nth - 1]}`);
      await assertTtls(k);
    }
    await redis.del(k.meta, k.hash, k.index);
  }), { numRuns: 60 });
});

test('tsum at real magnitudes: event times in ms, counts past 2^32, a backfilled s kept byte for byte', async () => {
  const k = keysFor('tile-hash-tsum');
  const now = 1_796_660_504_664;
  await redis.hset(k.hash, { '0:a:t': `${now},1000,,90071992547409930`, '0:b:t': `${now},0,5` });
  const ops: TileOp[] = [
    { op: 'tsum', field: '0:a:t', value: `${now + 17},2000,${2 ** 40}` }, { op: 'tsum', field: '0:b:t', value: `${now - 3},0,${2 ** 33}` },
    { op: 'tsum', field: '0:c:t', value: `${now + 5},4` }, { op: 'tsum', field: '0:c:t', value: `${now + 1},9` },
  ];
  assert.equal(await apply(k, [[0, now + 3_600_000]], ops), 1);
  const { _hi: hi, ...fields } = await redis.hgetall(k.hash);
  const expected = applyOps({ '0:a:t': `${now},1000,,90071992547409930`, '0:b:t': `${now},0,5` }, ops);
  assert.deepStrictEqual(Object.fromEntries(Object.entries(fields).filter(([f]) => !f.startsWith('_'))), expected);
  assert.deepStrictEqual(expected, { '0:a:t': `${now + 17},2000,${2 ** 40},90071992547409930`, '0:b:t': `${now},3,${2 ** 33 + 5}`, '0:c:t': `${now + 5},13` });
  assert.equal(hi, String(now + 17));
  await redis.del(k.meta, k.hash, k.index);
});

test('an increment past int64 fails as HINCRBY does, and the sum below it is exact', async () => {
  const k = keysFor('tile-hash-overflow');
  await apply(k, [[1, 500]], [{ op: 'incr', field: '1:s1:n', by: '9223372036854775806' }]);
  await apply(k, [[1, 500]], [{ op: 'incr', field: '1:s1:n', by: '1' }]);
  assert.equal(await redis.hget(k.hash, '1:s1:n'), '9223372036854775807');
  await assert.rejects(apply(k, [[1, 500]], [{ op: 'incr', field: '1:s1:n', by: '1' }]), /overflow/);
  await apply(k, [[1, 500]], [{ op: 'incr', field: '1:s1:n', by: '-9223372036854775807' }, { op: 'incr', field: '1:s1:n', by: '5' }]);
  assert.equal(await redis.hget(k.hash, '1:s1:n'), '5');
});

test('TTLs: set on the first write, refreshed only once _ttl is REFRESH_MS old, and set on an index an eviction had emptied', async () => {
  const k = keysFor('tile-hash-ttl');
  const write = (n: number, tiles: [number, number][], hi: number): Promise<unknown> =>
    apply(k, tiles, [{ op: 'max', field: `${(tiles[0]?.[0] ?? 1).toString(36)}:s1:hi`, value: String(hi) }], { partition: 3, expected: n === 0 ? '' : String(n - 1), next: n });
  assert.equal(await write(0, [[1, 100]], 50), 1);
  for (const key of [k.meta, k.hash, k.index]) assert.ok((await redis.pttl(key)) > TTL - 60_000, key);
  // a recent _ttl: no PEXPIRE
  for (const key of [k.meta, k.hash, k.index]) await redis.pexpire(key, 500_000);
  assert.equal(await write(1, [[1, 100]], 60), 1);
  for (const key of [k.meta, k.hash, k.index]) assert.ok((await redis.pttl(key)) <= 500_000, key);
  // 11 minutes old: refreshed
  const old = String(Date.now() - 11 * 60_000);
  await redis.hset(k.hash, '_ttl', old);
  await redis.hset(k.meta, '_ttl', old);
  assert.equal(await write(2, [[1, 100]], 70), 1);
  for (const key of [k.meta, k.hash, k.index]) assert.ok((await redis.pttl(key)) > TTL - 60_000, key);
  // clock 200 makes the only tile dead: the sweep empties (deletes) the index ...
  assert.equal(await write(3, [], 200), 1);
  assert.equal(await redis.exists(k.index), 0);
  assert.equal(await redis.hget(k.hash, '_evc'), '200');
  // ... and the next tile creates it again, with a TTL although the hash's _ttl is recent
  assert.equal(await write(4, [[5, 10_000]], 300), 1);
  assert.ok((await redis.pttl(k.index)) > TTL - 60_000);
  assert.deepStrictEqual(await redis.zrange(k.index, 0, -1), ['5']);
});
