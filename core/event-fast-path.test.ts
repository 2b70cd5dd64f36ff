// The hand-written accept path (event-fast-path.ts) against the zod schema it shortcuts:
// for valid events, mutated ones and hostile objects, validateEventObject gives exactly
// what the schema alone gives (same event, or same reason and detail), and the fast path
// answers for every event the schema accepts (else it would save nothing).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { attrKey, attrValue, validEvent } from './event-arbitraries.js';
import { fastValidateEvent } from './event-fast-path.js';
import {
  DEFAULT_EVENT_LIMITS, EVENT_BOUNDS, decodeEvent, decodeEventSchemaOnly, toWireEvent, validateEventObject,
  validateEventObjectSchemaOnly, type DecodeResult,
} from './event.js';

const { minEventTimeMs: MIN, maxEventTimeMs: MAX } = EVENT_BOUNDS;
const limits = DEFAULT_EVENT_LIMITS;

/** Boundary lengths of every bounded string (ids 128, optional strings 256, attribute keys 64 and values 1024). */
const LENGTHS = [0, 1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1023, 1024, 1025];
/** Control characters and their neighbours, surrogates alone and paired, BOM, newline. */
const SPECIAL = ['\u0000', '\u0009', '\u000a', '\u001f', ' ', '~', '\u007f', '\u0080', '\u009f', '\u00a0', '\ud800', '\udbff',
  '\udc00', '\udfff', '\udc00\ud800', '\udc00\udc00', '\ud800\ud800', '\udbff\udfff', '\ud83d\ude00', '\ufeff', 'é', 'A', '-', '_'];

const boundaryString = fc.tuple(fc.constantFrom(...LENGTHS), fc.option(fc.constantFrom(...SPECIAL), { nil: undefined }), fc.nat(), fc.constantFrom('x', 'a', '_'))
  .map(([n, special, at, fill]) => {
    const s = fill.repeat(n);
    if (special === undefined || n === 0) return s;
    const i = at % n; // the special text replaces one unit, so the length stays n (or n + 1 for a pair)
    return s.slice(0, i) + special + s.slice(i + 1);
  });

const isoTime = fc.oneof(
  fc.constantFrom('2000-01-01T00:00:00Z', '1999-12-31T23:59:59.999Z', '1999-12-31T23:59:59.999-00:01', '2000-01-01T00:00:00+00:01',
    '2099-12-31T23:59:59.999Z', '2100-01-01T00:00:00Z', '2099-12-31T23:59:59.999-00:01', '2024-02-29T00:00:00Z', '2023-02-29T00:00:00Z',
    '2024-05-01T12:00:00+18:00', '2024-05-01T12:00:00+18:01', '2024-05-01T12:00:00-19:00', '2024-05-01T12:00:00', '2024-05-01',
    '2024-05-01T24:00:00Z', '2024-05-01T12:60:00Z', '2024-05-01 12:00:00z', '2024-05-01t12:00,123456789Z', ' 2024-05-01T12:00:00Z',
    '2024-05-01T12:00:00Z\n', '+002024-05-01T12:00:00Z', '1714564800000', ''),
  fc.integer({ min: MIN - 86_400_000, max: MAX + 86_400_000 }).map((ms) => new Date(ms).toISOString()),
  fc.tuple(fc.integer({ min: MIN, max: MAX - 1 }), fc.integer({ min: -18 * 60, max: 18 * 60 })).map(([ms, off]) => {
    const local = new Date(ms + off * 60_000).toISOString().slice(0, 19);
    const a = Math.abs(off);
    return `${local}${off < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
  }),
);

const hostileNumber = fc.oneof(
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 0, 0.5, 1, 1.5, 2, 999_999.5, 1e6, 1e6 + 1, -1, -0.01, 2 ** 53, 2 ** 53 + 2,
    Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, Number.EPSILON, 1e308, MIN - 1, MIN, MIN + 0.5, MAX - 1,
    MAX, MAX - 0.5, 1_714_564_800, 9.4e8, 4.2e9),
  fc.double(),
  fc.integer(),
  fc.integer({ min: MIN - 10, max: MIN + 10 }),
  fc.integer({ min: MAX - 10, max: MAX + 10 }),
);

const hostileAttrValue = fc.oneof(attrValue, boundaryString, hostileNumber, fc.constantFrom(undefined, {}, [], [1], { a: 1 }, true));
const hostileAttrKey = fc.oneof(attrKey, boundaryString, fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', ''));

/** Builds attributes with defineProperty, so '__proto__' becomes an own key as JSON.parse makes it. */
function attributesOf(entries: ReadonlyArray<readonly [string, unknown]>, nullProto: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = nullProto ? Object.create(null) as Record<string, unknown> : {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

const hostileAttributes = fc.oneof(
  fc.integer({ min: 30, max: 34 }).map((n) => attributesOf(Array.from({ length: n }, (_, i) => [`k${i}`, i]), false)),
  fc.tuple(fc.array(fc.tuple(hostileAttrKey, hostileAttrValue), { maxLength: 34 }), fc.boolean()).map(([entries, np]) => attributesOf(entries, np)),
  fc.tuple(fc.array(fc.tuple(attrKey, attrValue), { minLength: 28, maxLength: 36 }), fc.boolean()).map(([entries, np]) => attributesOf(entries, np)),
  fc.constantFrom(JSON.parse('{"__proto__":1}') as unknown, JSON.parse('{"__proto__":{"polluted":true}}') as unknown, [], [1], 'x', 0, new Date(0), new Map([['a', 1]])),
);

/** Valid attributes plus one hostile entry: the entry alone decides. */
const oneBadAttribute = fc.tuple(fc.array(fc.tuple(attrKey, attrValue), { maxLength: 31 }), hostileAttrKey, hostileAttrValue, fc.boolean())
  .map(([entries, k, v, np]) => attributesOf([...entries, [k, v]], np));

/** Values aimed at one field's rules, so that a single mutation is what decides. */
const aimedAt: Record<string, fc.Arbitrary<unknown>> = {
  event_id: boundaryString, user_id: boundaryString, session_id: boundaryString, item_id: boundaryString, category: boundaryString, brand: boundaryString,
  event_type: fc.oneof(boundaryString, fc.stringMatching(/^[a-z_]{1,33}$/), fc.constantFrom('View', 'add-to-cart', 'view\n', 'ß', 'a'.repeat(32), 'a'.repeat(33))),
  event_time: fc.oneof(hostileNumber, isoTime),
  price: hostileNumber,
  quantity: hostileNumber,
  attributes: fc.oneof(hostileAttributes, oneBadAttribute),
};

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: boundaryString, weight: 4 },
  { arbitrary: hostileNumber, weight: 3 },
  { arbitrary: isoTime, weight: 2 },
  { arbitrary: hostileAttributes, weight: 2 },
  { arbitrary: fc.constantFrom(null, undefined, true, false, '', 'view', 'View', 'add-to-cart', 'a'.repeat(32), 'a'.repeat(33), [], {}), weight: 2 },
  { arbitrary: fc.anything(), weight: 1 },
);

const FIELDS = ['event_id', 'user_id', 'event_type', 'event_time', 'session_id', 'item_id', 'category', 'brand', 'price', 'quantity', 'attributes'];
const mutation = fc.record({
  field: fc.constantFrom(...FIELDS, ...FIELDS, 'extra', 'ingest_time', '__proto__', 'constructor'),
  op: fc.constantFrom('set', 'set', 'set', 'delete', 'null'),
  value: hostileValue,
});

/** A valid event's wire object, sometimes with an ISO event_time and null optionals, then 0..3 mutations. */
const eventObject: fc.Arbitrary<{ obj: Record<string, unknown>; time: number; mutated: boolean }> = fc
  .tuple(validEvent, fc.boolean(), fc.subarray(['session_id', 'item_id', 'category', 'brand', 'price', 'quantity', 'attributes']),
    fc.oneof(fc.array(mutation, { maxLength: 3 }), fc.constantFrom(...FIELDS).chain((field) => fc.tuple(fc.constant(field), aimedAt[field] ?? hostileValue)
      .map(([f, value]) => [{ field: f, op: 'set', value }]))), fc.nat(4))
  .map(([event, iso, nulls, mutations, proto]) => {
    const obj: Record<string, unknown> = proto === 0 ? Object.create(null) as Record<string, unknown> : {};
    Object.assign(obj, toWireEvent(event));
    if (iso) obj.event_time = new Date(event.event_time).toISOString();
    for (const k of nulls) obj[k] = null;
    for (const m of mutations) {
      if (m.op === 'delete') delete obj[m.field];
      else Object.defineProperty(obj, m.field, { value: m.op === 'null' ? null : m.value, enumerable: true, writable: true, configurable: true });
    }
    return { obj, time: event.event_time, mutated: mutations.length > 0 };
  });

/** Record timestamps around the future_time bound, and odd ones. */
const recordTime = (eventTime: number) => fc.oneof(
  fc.constantFrom(eventTime, eventTime - limits.maxFutureMs, eventTime - limits.maxFutureMs - 1, eventTime + 1e10),
  fc.constantFrom(Date.UTC(2024, 4, 1), Number.NaN, Infinity, -Infinity, 0),
);

const inputs = fc.oneof(
  { arbitrary: eventObject.chain((e) => fc.tuple(fc.constant(e), recordTime(e.time))), weight: 12 },
  { arbitrary: fc.tuple(fc.oneof(fc.object(), fc.anything(), hostileAttributes).map((obj) => ({ obj: obj as Record<string, unknown>, time: 0, mutated: true })), recordTime(Date.UTC(2024, 4, 1))), weight: 1 },
);

/** Every string within its bound counted in UTF-16 units (the schema counts code points; the fast path defers beyond). */
function withinUnits(obj: Record<string, unknown>): boolean {
  const within = (v: unknown, max: number) => typeof v !== 'string' || v.length <= max;
  const attrs = obj.attributes;
  return within(obj.event_id, 128) && within(obj.user_id, 128) && ['session_id', 'item_id', 'category', 'brand'].every((k) => within(obj[k], 256))
    && (typeof attrs !== 'object' || attrs === null || Object.values(attrs).every((v) => within(v, 1024)));
}

test('validateEventObject equals the schema alone, and the fast path answers for every valid event (6,000 objects)', () => {
  const seen = { accepted: 0, rejected: 0, fastHits: 0 };
  fc.assert(fc.property(inputs, ([{ obj, mutated }, ts]) => {
    const both = validateEventObject(obj, ts, limits);
    const schemaOnly = validateEventObjectSchemaOnly(obj, ts, limits);
    assert.deepStrictEqual(both, schemaOnly);
    const fast = typeof obj === 'object' && obj !== null && !Array.isArray(obj) ? fastValidateEvent(obj) : undefined;
    if (schemaOnly.ok && withinUnits(obj)) assert.notEqual(fast, undefined, 'the fast path gave up on a valid event');
    if (!mutated) assert.notEqual(fast, undefined, 'the fast path gave up on an unmutated generated event');
    seen[schemaOnly.ok ? 'accepted' : 'rejected'] += 1;
    if (fast !== undefined) seen.fastHits += 1;
    // the same through the bytes, when the object has a JSON form
    let text: string | undefined;
    try { text = JSON.stringify(obj); } catch { text = undefined; }
    if (text !== undefined) assert.deepStrictEqual(decodeEvent(text, ts, limits), decodeEventSchemaOnly(text, ts, limits));
  }), { numRuns: 6_000 });
  // not vacuous: both outcomes are well represented
  assert.ok(seen.accepted > 1_000 && seen.rejected > 1_000, JSON.stringify(seen));
});

test('the fast path on hand-picked edges: first field failing, each bound exactly met and just missed', () => {
  const base = { event_id: 'e', user_id: 'u', event_type: 'view', event_time: MIN };
  const ts = MIN;
  const cases: Record<string, unknown>[] = [
    base, { ...base, event_id: 'e'.repeat(128) }, { ...base, event_id: 'e'.repeat(129) }, { ...base, user_id: '' },
    { ...base, brand: 'b'.repeat(256) }, { ...base, brand: 'b'.repeat(257) }, { ...base, brand: null }, { ...base, brand: '' },
    { ...base, event_time: MAX - 1 }, { ...base, event_time: MIN - 1 }, { ...base, event_time: '2000-01-01T00:00:00Z' },
    { ...base, price: -0 }, { ...base, price: 0 }, { ...base, price: -Number.MIN_VALUE }, { ...base, price: Number.NaN },
    { ...base, quantity: 1e6 }, { ...base, quantity: 1e6 + 1 }, { ...base, quantity: 0 }, { ...base, quantity: -0 }, { ...base, quantity: 2 ** 53 },
    { ...base, attributes: { a: -0, b: 'v'.repeat(1024), c: null, d: false } }, { ...base, attributes: { a: 'v'.repeat(1025) } },
    { ...base, attributes: { ['k'.repeat(64)]: 1 } }, { ...base, attributes: { ['k'.repeat(65)]: 1 } }, { ...base, attributes: { 'k\u0085': 1 } },
    { ...base, attributes: { a: '\ud800' } }, { ...base, attributes: { a: 'line\nbreak\u0000' } }, { ...base, item_id: 'i\u00a0' },
    { ...base, price: 90_000_000, quantity: 1_000 },
    { ...base, attributes: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, i])) },
    { ...base, attributes: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) },
    { ...base, attributes: { a: Number.NaN } }, { ...base, attributes: { a: -Infinity } }, { ...base, attributes: { a: undefined } },
    { ...base, session_id: 'a\udc00\udc00' }, { ...base, session_id: 'a\udbff\udfff' },
  ];
  const results: DecodeResult[] = cases.map((c) => validateEventObject(c, ts, limits));
  assert.deepStrictEqual(results, cases.map((c) => validateEventObjectSchemaOnly(c, ts, limits)));
  assert.deepStrictEqual(results.map((r) => r.ok), [true, true, false, false, true, false, true, false, false, false, true,
    true, true, false, false, true, false, false, false, false, true, false, true, false, false, false, true, true, false,
    true, false, false, false, false, false, true]);
});

test('string bounds: the schema counts code points (zod 4), the fast path defers beyond the bound in UTF-16 units', () => {
  const base = { event_id: 'e', user_id: 'u', event_type: 'view', event_time: MIN };
  for (const patch of [{ event_id: '😀'.repeat(128) }, { event_id: '😀'.repeat(129) }, { brand: `${'b'.repeat(255)}😀` }, { attributes: { a: '😀'.repeat(1024) } }]) {
    const obj = { ...base, ...patch };
    assert.equal(fastValidateEvent(obj), undefined);
    assert.deepStrictEqual(validateEventObject(obj, MIN, limits), validateEventObjectSchemaOnly(obj, MIN, limits));
  }
});
