// The tile codec and the op semantics the Redis script must implement: field layout,
// encode -> applyOps -> decode round trips, store writes == IR merges, op algebra.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emptyTile, mergeTile, updateTile, type IrKind, type Tile } from './aggregators.js';
import { decodeHash, decodePacked, encodeTileOps, encodeTileSets, parseField, TileCodecError, tilePrefix, type TileSet } from './codec.js';
import { applyOps, argvToOps, asSetsOnCleared, opsToArgv, type TileOp } from './ops.js';
import { preaggregate } from './preaggregate.js';
import { defaultRegistry } from './features/registry.js';
import { HOUR, MINUTE } from './windows.js';
import { BASE } from './testkit.js';
import type { Sample } from './sample.js';

const KINDS: IrKind[] = ['count', 'sum', 'avg', 'min', 'max', 'distinct', 'last_n', 'top_k'];
const TILE = 5 * MINUTE;
const seriesOf = (ir: IrKind) => ({ id: 'abc12', ir, limit: 3, tileMs: TILE });

const arbSample = fc.record({
  time: fc.integer({ min: BASE, max: BASE + TILE - 1 }),
  eventId: fc.constantFrom('e1', 'e2', 'e:3', 'ｚ', '😀'),
  userId: fc.constantFrom('u1', 'u2'),
  member: fc.constantFrom('a', 'b:c', '', 'ü', '1234567'),
  scaled: fc.bigInt({ min: 0n, max: 2n ** 53n }),
});

function tileFrom(kind: IrKind, samples: Sample[]): Tile {
  const tile = emptyTile(kind);
  for (const s of samples) updateTile(kind, 3, tile, s);
  return tile;
}

test('field layout: <tile base36>:<series>:<part>[:<member>]', () => {
  const registry = defaultRegistry();
  const writes = preaggregate([{ event_id: 'e1', user_id: 'u1', event_type: 'view', event_time: BASE + 90_000, ingest_time: BASE + 91_000,
    quantity: 2, item_id: 'i:1', category: 'shoes', price: 19.99 }], registry);
  const hourly = writes.find((w) => w.entity === 'user' && w.tileMs === HOUR);
  const idx = (BASE / HOUR).toString(36);
  assert.deepStrictEqual(hourly?.ops, [
    { op: 'tsum', field: `${idx}:9fr90:t`, value: `${BASE + 90_000},0` },
    { op: 'topn', field: `${idx}:9fr90:l`, n: 5, items: [[String(BASE + 90_000), 'e1', 'u1', 'i:1']] },
    { op: 'tsum', field: `${idx}:c90nt:t`, value: `${BASE + 90_000},0` },
    { op: 'incr', field: `${idx}:c90nt:k:shoes`, by: '1' },
  ]);
  assert.deepStrictEqual(hourly?.tiles, [{ start: BASE, expireAt: BASE + HOUR + 7 * 24 * HOUR + 10 * MINUTE }]);
  const fiveMin = writes.find((w) => w.entity === 'user' && w.tileMs === 5 * MINUTE);
  const avg = fiveMin?.ops.filter((op) => op.field.includes(':kq2de:'));
  const i5 = (BASE / (5 * MINUTE)).toString(36);
  assert.deepStrictEqual(avg, [
    { op: 'tsum', field: `${i5}:kq2de:t`, value: `${BASE + 90_000},0,1` },
    { op: 'incr', field: `${i5}:kq2de:s`, by: '19990000' },
  ]);
  assert.deepStrictEqual(writes.map((w) => `${w.entity} ${w.entityId} ${w.tileMs}`),
    ['item i:1 60000', 'item i:1 300000', 'user u1 60000', 'user u1 300000', 'user u1 600000', 'user u1 3600000']);
  assert.deepStrictEqual(parseField(`${idx}:c90nt:k:a:b`), { tileIndex: BASE / HOUR, seriesId: 'c90nt', part: 'k', member: 'a:b' });
  assert.equal(parseField('_seen'), undefined);
  assert.deepStrictEqual(parseField(`${idx}:c90nt:t`), { tileIndex: BASE / HOUR, seriesId: 'c90nt', part: 't' });
  for (const bad of ['x', 'a:b', 'a:b:zz', 'a:b:n:extra', 'a:b:d', 'A:b:n', '1.5:b:n', 'a:b:t:m']) assert.throws(() => parseField(bad), TileCodecError, bad);
  assert.throws(() => tilePrefix(BASE + 1, HOUR, 'abc12'), RangeError);
});

test('codec round trip: encode -> applyOps on an empty hash -> decode gives the IR back', () => {
  fc.assert(fc.property(fc.constantFrom(...KINDS), fc.array(arbSample, { minLength: 1, maxLength: 12 }), (kind, samples) => {
    const tile = tileFrom(kind, samples);
    const hash = applyOps({}, encodeTileOps(seriesOf(kind), BASE, tile));
    assert.deepStrictEqual(decodeHash(hash, TILE), new Map([['abc12', new Map([[BASE, tile]])]]));
  }), { numRuns: 2000 });
});

test('writing a tile into a hash == merging IRs (so any batching gives the same tiles)', () => {
  const arbTile = (kind: IrKind) => fc.array(arbSample, { maxLength: 8 }).map((s) => tileFrom(kind, s));
  fc.assert(fc.property(fc.constantFrom(...KINDS).chain((kind) => fc.tuple(fc.constant(kind), arbTile(kind), arbTile(kind))), ([kind, a, b]) => {
    const series = seriesOf(kind);
    const hash = applyOps(applyOps({}, encodeTileOps(series, BASE, a)), encodeTileOps(series, BASE, b));
    const merged = emptyTile(kind);
    mergeTile(kind, 3, merged, a);
    mergeTile(kind, 3, merged, b);
    const decoded = decodeHash(hash, TILE).get('abc12')?.get(BASE);
    if (decoded === undefined) assert.ok(merged.hi < merged.lo);
    else assert.deepStrictEqual(decoded, merged);
  }), { numRuns: 2000 });
});

test('backfill sets (hi, lo, n, s as one `t` summary), then the stream worker\'s ops into the same tile == merging IRs', () => {
  const arbTile = (kind: IrKind) => fc.array(arbSample, { maxLength: 8 }).map((s) => tileFrom(kind, s));
  fc.assert(fc.property(fc.constantFrom(...KINDS).chain((kind) => fc.tuple(fc.constant(kind), arbTile(kind), arbTile(kind))), ([kind, a, b]) => {
    const series = seriesOf(kind);
    const sets: TileOp[] = [];
    encodeTileSets(series, BASE, a, sets);
    assert.ok(sets.every((op) => op.op === 'set' && !/:(hi|lo|n|s)$/.test(op.field)));
    const backfilled = applyOps({}, sets);
    assert.deepStrictEqual(decodeHash(backfilled, TILE), decodeHash(applyOps({}, encodeTileOps(series, BASE, a)), TILE));
    const merged = emptyTile(kind);
    mergeTile(kind, 3, merged, a);
    mergeTile(kind, 3, merged, b);
    const decoded = decodeHash(applyOps(backfilled, encodeTileOps(series, BASE, b)), TILE).get('abc12')?.get(BASE);
    if (decoded === undefined) assert.ok(merged.hi < merged.lo);
    else assert.deepStrictEqual(decoded, merged);
  }), { numRuns: 2000 });
});

const arbOp: fc.Arbitrary<TileOp> = fc.oneof(
  fc.record({ op: fc.constant('incr' as const), field: fc.constantFrom('a', 'b'), by: fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }).map(String) }),
  // One field only ever receives one kind of op (the codec guarantees it), so max and min fields differ.
  fc.record({ op: fc.constant('max' as const), field: fc.constantFrom('c', 'c2'), value: fc.bigInt({ min: 0n, max: 2n ** 60n }).map(String) }),
  fc.record({ op: fc.constant('min' as const), field: fc.constantFrom('d', 'd2'), value: fc.bigInt({ min: 0n, max: 2n ** 60n }).map(String) }),
  fc.record({ op: fc.constant('setnx' as const), field: fc.constantFrom('e', 'f'), value: fc.constantFrom('1') }),
  // a field gets tsum with n or without, never both (one series, one IR)
  fc.tuple(fc.integer({ min: 0, max: 2 ** 42 }), fc.integer({ min: 0, max: 2 ** 20 }), fc.integer({ min: 1, max: 1000 }), fc.boolean())
    .map(([hi, width, n, withN]): TileOp => ({ op: 'tsum', field: withN ? 't' : 't0', value: withN ? `${hi},${width},${n}` : `${hi},${width}` })),
  fc.record({ op: fc.constant('topn' as const), field: fc.constant('l'), n: fc.constant(3), items: fc.array(fc.tuple(
    fc.nat(20).map(String), fc.constantFrom('e1', 'e2', '😀'), fc.constantFrom('u1', 'u2'), fc.constantFrom('x', 'y')), { maxLength: 4 }) }),
);

/** A tile's ops as the online writer sent them before tsum: separate max hi, min lo and incr n. */
function legacyOps(ops: readonly TileOp[]): TileOp[] {
  return ops.flatMap((op): TileOp[] => {
    if (op.op !== 'tsum') return [op];
    const p = op.field.slice(0, -2);
    const [hi, width, n] = op.value.split(',').map(Number) as [number, number, number | undefined];
    const out: TileOp[] = [{ op: 'max', field: `${p}:hi`, value: String(hi) }, { op: 'min', field: `${p}:lo`, value: String(hi - width) }];
    if (n !== undefined) out.push({ op: 'incr', field: `${p}:n`, by: String(n) });
    return out;
  });
}

test('tiles written before tsum (separate hi, lo, n), backfilled or not, then tsum ops into the same tile == merging IRs', () => {
  const arbTile = (kind: IrKind) => fc.array(arbSample, { maxLength: 8 }).map((s) => tileFrom(kind, s));
  fc.assert(fc.property(fc.constantFrom(...KINDS).chain((kind) => fc.tuple(fc.constant(kind), arbTile(kind), arbTile(kind), arbTile(kind))), ([kind, a, b, c]) => {
    const series = seriesOf(kind);
    const sets: TileOp[] = [];
    encodeTileSets(series, BASE, a, sets);
    const old = applyOps(applyOps({}, sets), legacyOps(encodeTileOps(series, BASE, b)));
    const merged = emptyTile(kind);
    for (const t of [a, b, c]) mergeTile(kind, 3, merged, t);
    const decoded = decodeHash(applyOps(old, encodeTileOps(series, BASE, c)), TILE).get('abc12')?.get(BASE);
    if (decoded === undefined) assert.ok(merged.hi < merged.lo);
    else assert.deepStrictEqual(decoded, merged);
  }), { numRuns: 2000 });
});

test('tsum merges hi max, lo min, n summed, and keeps a backfilled s', () => {
  assert.deepStrictEqual(applyOps({ a: '100,10,3,5000000', b: '100,10,,7', c: '100,10', d: '100,10,2' }, [
    { op: 'tsum', field: 'a', value: '95,20,2' }, { op: 'tsum', field: 'b', value: '120,5,1' },
    { op: 'tsum', field: 'c', value: '120,40' }, { op: 'tsum', field: 'd', value: '101,0,4' }, { op: 'tsum', field: 'e', value: '7,0,1' },
  ]), { a: '100,25,5,5000000', b: '120,30,1,7', c: '120,40', d: '101,11,6', e: '7,0,1' });
});

test('ops commute; all but incr and topn are idempotent; the argv wire form round-trips', () => {
  fc.assert(fc.property(fc.array(arbOp, { maxLength: 12 }), fc.array(fc.nat()), (ops, keys) => {
    const shuffled = ops.map((op, i) => ({ op, k: keys[i] ?? i })).sort((x, y) => x.k - y.k).map((x) => x.op);
    const norm = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).sort().map(([f, v]) => [f, f === 'l' ? JSON.parse(v) : v]));
    assert.deepStrictEqual(norm(applyOps({}, shuffled)), norm(applyOps({}, ops)));
    const noIncr = ops.filter((op) => op.op !== 'incr' && op.op !== 'topn' && !(op.op === 'tsum' && op.field === 't'));
    assert.deepStrictEqual(applyOps(applyOps({}, noIncr), noIncr), applyOps({}, noIncr));
    assert.deepStrictEqual(argvToOps(opsToArgv(ops)), JSON.parse(JSON.stringify(ops)));
  }), { numRuns: 2000 });
});

test('applyOps semantics, one op at a time', () => {
  const hash = { a: '5', c: '10', d: '10', e: 'old', l: '[["5","e1","u1","x"]]' };
  assert.deepStrictEqual(applyOps(hash, [
    { op: 'incr', field: 'a', by: '-7' }, { op: 'incr', field: 'b', by: '9007199254740993' },
    { op: 'max', field: 'c', value: '9' }, { op: 'min', field: 'd', value: '9' }, { op: 'max', field: 'x', value: '1' },
    { op: 'setnx', field: 'e', value: 'new' }, { op: 'setnx', field: 'f', value: '1' },
    { op: 'topn', field: 'l', n: 2, items: [['10', 'e2', 'u1', 'y'], ['5', 'e1', 'u1', 'x'], ['5', 'e0', 'u1', 'z']] },
  ]), { a: '-2', b: '9007199254740993', c: '10', d: '9', x: '1', e: 'old', f: '1', l: '[["10","e2","u1","y"],["5","e1","u1","x"]]' });
  assert.deepStrictEqual(hash.a, '5'); // input untouched
  // Backfill: on absent fields, the sets store exactly what the ops would; their wire form packs them.
  const ops: TileOp[] = [
    { op: 'incr', field: 'b', by: '9007199254740993' }, { op: 'max', field: 'x', value: '1' }, { op: 'setnx', field: 'f', value: '1' },
    { op: 'topn', field: 'l', n: 2, items: [['5', 'e1', 'u1', 'x'], ['10', 'e2', 'u1', 'y'], ['5', 'e1', 'u1', 'x']] },
  ];
  const sets = asSetsOnCleared(ops);
  assert.ok(sets.every((o) => o.op === 'set'));
  assert.deepStrictEqual(applyOps({ a: '1' }, sets), applyOps({ a: '1' }, ops));
  const wire = opsToArgv([...sets, { op: 'set', field: 'n', value: 'line\nbreak' }, { op: 'incr', field: 'a', by: '1' }]);
  assert.deepStrictEqual(wire.slice(0, 6), ['set', 'n', 'line\nbreak', 'incr', 'a', '1']);
  assert.deepStrictEqual(wire.slice(6, 8), ['mset', '4']);
  assert.deepStrictEqual(argvToOps(wire), [{ op: 'set', field: 'n', value: 'line\nbreak' }, { op: 'incr', field: 'a', by: '1' }, ...sets]);
  assert.throws(() => argvToOps(['mset', '2', 'a\n1']), TypeError);
  assert.throws(() => argvToOps(['incr', 'a']), TypeError);
  assert.throws(() => argvToOps(['hset', 'a', '1']), TypeError);
  assert.throws(() => decodeHash({ '1:abc12:n': '3' }, TILE), TileCodecError); // a tile without hi/lo is corrupt
  assert.throws(() => decodeHash({ '1:abc12:hi': '3', '1:abc12:lo': 'x' }, TILE), TileCodecError);
  assert.throws(() => decodeHash({ '1:abc12:hi': '3', '1:abc12:lo': '3', '1:abc12:l': '{}' }, TILE), TileCodecError);
});

test('packed decoding (the read-tiles wire form): what decodeHash gives, metadata aside, and malformed fields refused', () => {
  const hash = { _hi: '9', '1:abc12:hi': '9', '1:abc12:lo': '-3', '1:abc12:n': '007', '1:abc12:s': '-9007199254740993', '1:abc12:d:a:b': '1',
    '1:abc12:k:😀': '2', 'z:xyz99:hi': '5', 'z:xyz99:lo': '5', 'z:xyz99:l': '[["5","e1","u1","x"]]', '-2:abc12:hi': '1', '-2:abc12:lo': '1', _evc: '4',
    '2:abc12:t': '20,5', '3:abc12:t': '30,0,2', '4:abc12:t': '40,1,,-5', '5:abc12:t': '50,2,3,7', '5:abc12:hi': '51', '5:abc12:lo': '49', '5:abc12:n': '1', '5:abc12:s': '1' };
  const packed = Object.entries(hash).flat().join('\n');
  const meta: string[] = [];
  const into: TileSet = new Map();
  assert.equal(decodePacked(packed, TILE, into, (f, v) => meta.push(`${f}=${v}`)), 2 * Object.keys(hash).length);
  assert.deepStrictEqual(into, decodeHash(hash, TILE));
  assert.deepStrictEqual(meta, ['_hi=9', '_evc=4']);
  assert.equal(into.get('abc12')?.get(TILE)?.n, 7);
  assert.equal(into.get('abc12')?.get(TILE)?.s, -9007199254740993n);
  // `t` summaries: hi, hi - lo, then n and s when present; merged with separate fields of the same tile.
  assert.deepStrictEqual(into.get('abc12')?.get(2 * TILE), { hi: 20, lo: 15 });
  assert.deepStrictEqual(into.get('abc12')?.get(3 * TILE), { hi: 30, lo: 30, n: 2 });
  assert.deepStrictEqual(into.get('abc12')?.get(4 * TILE), { hi: 40, lo: 39, s: -5n });
  assert.deepStrictEqual(into.get('abc12')?.get(5 * TILE), { hi: 51, lo: 48, n: 4, s: 8n });
  assert.equal(decodePacked('', TILE, new Map()), 0);
  for (const bad of ['1:abc12:hi', '1:abc12:hi\n', '1:abc12:hx\n1', '1:abc12:n:m\n1', '1:abc12:d\n1', 'A:abc12:hi\n1', ':abc12:hi\n1', '1abc12hi\n1',
    '1:abc12:t\n1', '1:abc12:t\n1,-1', '1:abc12:t\n1,,1', '1:abc12:t\n1,0,1,2,3', '1:abc12:t\nx,0', '1:abc12:t\n1,0,1,', '1:abc12:t\n1,0,1.5', '1:abc12:t:m\n1,0',
    '1:abc12:hi\n1\n1:abc12:lo\n1.5', '1:abc12:hi\n9007199254740992\n1:abc12:lo\n1', '1:abc12:hi\n1\n1:abc12:lo\n+1', '1:abc12:hi\n1\n1:abc12:lo\n']) {
    assert.throws(() => decodePacked(bad, TILE, new Map()), TileCodecError, JSON.stringify(bad));
  }
  assert.throws(() => decodeHash({ '1:abc12:d:a\nb': '1' }, TILE), TileCodecError); // cannot travel packed
});

test('pre-aggregation skips events a series does not select, and items need an item_id', () => {
  const registry = defaultRegistry();
  const writes = preaggregate([{ event_id: 'e1', user_id: 'u1', event_type: 'search', event_time: BASE, ingest_time: BASE, quantity: 1 }], registry);
  assert.deepStrictEqual(writes.map((w) => `${w.entity} ${w.tileMs}`), ['user 60000', 'user 300000']); // session/recency, hopping count
  assert.throws(() => preaggregate([{ event_id: 'e1', user_id: 'u1', event_type: 'view', event_time: 1.5, ingest_time: 0, quantity: 1 }], registry), RangeError);
});
