// Hostile Kafka records for the pipeline fuzz suite (streams/fuzz-pipeline.kafka.test.ts):
// every family the event contract (core/event.ts) must reject, each record tagged with the
// reasons the pipeline may give it. Payloads come from fast-check arbitraries and from a
// hand-written list (hostile-cases.ts); both are seeded, so a run is reproducible.
//
// Every family has exactly one defect on top of an otherwise valid event, so the expected
// reason is known by construction (not by asking the decoder under test).
import fc from 'fast-check';
import { EVENT_BOUNDS, type RejectReason } from '../../core/event.js';
import { anyUtf16, hostileString } from '../../offline/sql-arbitraries.js';

/** A record the pipeline must send to the DLQ. */
export interface HostileRecord {
  key: Buffer | null;
  value: Buffer | null;
  /** the Kafka record timestamp (epoch ms) */
  timestamp: number;
  /** e.g. 'schema/wrong-type:price' */
  family: string;
  /** the reasons the pipeline may give it (usually exactly one) */
  expect: readonly RejectReason[];
}

/** A record before it gets its key and timestamp: `value` is text (UTF-8 encoded) or raw bytes. */
export interface Payload {
  value: string | Uint8Array | null;
  family: string;
  expect: readonly RejectReason[];
  /** record timestamp relative to the run's `now` (default 0) */
  timestampShiftMs?: number;
}

const MAX_BYTES = 64 * 1024;
const FUTURE_MS = 5 * 60_000;

/** A valid wire event for a record stamped `now`; families break exactly one thing in it. */
export function baseEvent(tag: string): Record<string, unknown> {
  return {
    event_id: `fz-${tag}`, user_id: 'fz-user', event_type: 'view', event_time: -60_000, session_id: 's-1',
    item_id: 'i-1', category: 'shoes', brand: 'acme', price: 9.99, quantity: 1, attributes: { page: 'home' },
  };
}

/**
 * JSON text of an event whose event_time is relative (negative = before now): the time is
 * resolved when the record gets its timestamp, so "valid except for X" stays true.
 */
export const RELATIVE_TIME = '"__REL_TIME__"';

function withRelTime(o: Record<string, unknown>): string {
  return JSON.stringify(o).replace('"event_time":-60000', `"event_time":${RELATIVE_TIME}`);
}

const p = (family: string, expect: RejectReason, value: Payload['value'], timestampShiftMs?: number): Payload =>
  ({ family, expect: [expect], value, ...(timestampShiftMs === undefined ? {} : { timestampShiftMs }) });

const validText = withRelTime(baseEvent('x'));

// ---------------------------------------------------------------------------------------
// empty, bad_encoding, bad_json, not_object

const empty = fc.constantFrom<Payload['value']>(null, '', ' ', '\n\t \r ', '\uFEFF', ' \uFEFF\n').map((v) => p('empty', 'empty', v));

/** Bytes that are never UTF-8, wherever they stand: 0xFF, overlong '/', a CESU-8 surrogate, a 5-byte form. */
const NEVER_UTF8: readonly number[][] = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]];
/** ... plus sequences that are invalid before an ASCII byte: a lone continuation, a truncated 4-byte form. */
const BAD_UTF8: readonly number[][] = [...NEVER_UTF8, [0x80], [0xf0, 0x9f, 0x98]];
const badEncoding = fc.oneof(
  fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...NEVER_UTF8), fc.nat()).map(([bytes, bad, at]) => {
    const i = bytes.length === 0 ? 0 : at % bytes.length;
    return p('bad_encoding/random-bytes', 'bad_encoding', Buffer.concat([bytes.subarray(0, i), Buffer.from(bad), bytes.subarray(i)]));
  }),
  fc.tuple(fc.constantFrom(...BAD_UTF8), fc.constantFrom('event_id', 'user_id', 'category')).map(([bad, field]) => {
    const [head, tail] = validText.split(`"${field}":"`) as [string, string];
    return p(`bad_encoding/in-${field}`, 'bad_encoding', Buffer.concat([Buffer.from(`${head}"${field}":"`), Buffer.from(bad), Buffer.from(tail)]));
  }),
);

const NOT_JSON_TWEAKS: readonly [string, (t: string) => string][] = [
  ['nan-literal', (t) => t.replace('"price":9.99', '"price":NaN')],
  ['infinity-literal', (t) => t.replace('"price":9.99', '"price":Infinity')],
  ['minus-infinity-time', (t) => t.replace(RELATIVE_TIME, '-Infinity')],
  ['undefined-literal', (t) => t.replace('"brand":"acme"', '"brand":undefined')],
  ['single-quotes', (t) => t.replaceAll('"', "'")],
  ['comment', (t) => t.replace('{', '{/* hi */')],
  ['line-comment', (t) => t.replace('{', '{// hi\n')],
  ['unquoted-key', (t) => t.replace('"brand"', 'brand')],
  ['trailing-comma', (t) => t.replace(/}$/, ',}')],
  ['hex-number', (t) => t.replace('"quantity":1', '"quantity":0x1')],
  ['leading-zero', (t) => t.replace('"quantity":1', '"quantity":01')],
  ['plus-sign', (t) => t.replace('"quantity":1', '"quantity":+1')],
  ['raw-nul-in-string', (t) => t.replace('"shoes"', '"sh\u0000oes"')],
  ['raw-newline-in-string', (t) => t.replace('"shoes"', '"sh\noes"')],
  ['nul-between-tokens', (t) => t.replace(',"brand"', ',\u0000"brand"')],
  ['two-objects', (t) => `${t}${t}`],
  ['bad-escape', (t) => t.replace('"shoes"', '"sh\\xoes"')],
  ['short-unicode-escape', (t) => t.replace('"shoes"', '"\\u12"')],
];

const badJson = fc.oneof(
  fc.nat().map((n) => p('bad_json/truncated', 'bad_json', validText.slice(0, 1 + (n % (validText.length - 1))))),
  fc.constantFrom('x', '}', ',', ']', '{}', '\u0000', 'null', '"').map((g) => p('bad_json/trailing-garbage', 'bad_json', `${validText}${g}`)),
  fc.constantFrom(...NOT_JSON_TWEAKS).map(([name, f]) => p(`bad_json/${name}`, 'bad_json', f(validText))),
  fc.boolean().map((be) => p(`bad_json/utf16${be ? 'be' : 'le'}`, 'bad_json', be ? Buffer.from(validText, 'utf16le').swap16() : Buffer.from(validText, 'utf16le'))),
  fc.integer({ min: 2, max: 500 }).map((n) => p('bad_json/unclosed-nesting', 'bad_json', '['.repeat(n))),
  fc.integer({ min: 2, max: 100 }).map((n) => p('bad_json/unclosed-objects', 'bad_json', '{"a":'.repeat(n))),
  // Random text (lone surrogates become U+FFFD when encoded) that is not JSON and not blank.
  fc.oneof(anyUtf16, hostileString(60)).filter((s) => !isJson(s) && s.trim().replaceAll('\uFEFF', '').length > 0)
    .map((s) => p('bad_json/random-text', 'bad_json', s)),
);

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

const notObject = fc.oneof(
  fc.constantFrom('null', '[]', '0', '-1', '1e400', '"event"', 'true', 'false', `[${validText.replace(RELATIVE_TIME, '0')}]`, '"{}"')
    .map((v) => p('not_object/literal', 'not_object', v)),
  fc.jsonValue({ maxDepth: 4 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
    .map((v) => p('not_object/json-value', 'not_object', JSON.stringify(v))),
  // Deep but closed nesting: V8's JSON.parse is iterative, so this parses (to an array).
  fc.integer({ min: 100, max: 300 }).map((n) => p('not_object/deep-array', 'not_object', `${'['.repeat(n)}${']'.repeat(n)}`)),
);

// ---------------------------------------------------------------------------------------
// schema: one field broken in an otherwise valid event

function mutate(tag: string, f: (o: Record<string, unknown>) => void): string {
  const o = baseEvent(tag);
  f(o);
  return withRelTime(o);
}

// No NaN/Infinity: JSON.stringify writes them as null, which means "absent" (valid).
const nonString = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.array(fc.nat(), { maxLength: 3 }), fc.object({ maxDepth: 1, maxKeys: 3 }));
/** Strings the id fields must refuse: a control character, a lone surrogate, too long, or empty. */
const badIdString = fc.oneof(
  fc.tuple(hostileString(20), fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)), hostileString(20)).map(([a, c, b]) => `${a}${c}${b}`),
  fc.tuple(hostileString(10), fc.constantFrom('\u007f', '\u0085', '\u009f')).map(([a, c]) => `${a}${c}`),
  fc.tuple(hostileString(10), fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF')).map(([a, s]) => `${a}${s}x`),
  // longer than both bounds (ids 128, other strings 256)
  fc.integer({ min: EVENT_BOUNDS.optionalStringMaxLength + 1, max: 600 }).map((n) => 'u'.repeat(n)),
  fc.constant(''),
);
const REQUIRED = ['event_id', 'user_id', 'event_type', 'event_time'] as const;
const OPTIONAL_STRINGS = ['session_id', 'item_id', 'category', 'brand'] as const;

const BAD_TIMES: readonly unknown[] = [
  -1, 0, 1.5, -86_400_000, 1_700_000_000, 946_684_799_999, 4_102_444_800_000, 'NaN', 'Infinity', '', 'now', '2024-01-01',
  '2024-01-01T00:00:00', '2024-02-30T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-01T24:00:00Z', '1999-12-31T23:59:59Z',
  '2100-01-01T00:00:00Z', '+002024-01-01T00:00:00Z', '2024-01-01T00:00:00+19:00', true, [], {}, null,
];

const schema = fc.oneof(
  fc.constantFrom(...REQUIRED).map((k) => p(`schema/missing:${k}`, 'schema', mutate(k, (o) => { delete o[k]; }))),
  fc.tuple(fc.constantFrom('event_id', 'user_id', 'event_type'), fc.oneof(nonString, fc.constant(null)))
    .map(([k, v]) => p(`schema/wrong-type:${k}`, 'schema', mutate(k, (o) => { o[k] = v; }))),
  fc.tuple(fc.constantFrom(...OPTIONAL_STRINGS), nonString).map(([k, v]) => p(`schema/wrong-type:${k}`, 'schema', mutate(k, (o) => { o[k] = v; }))),
  fc.tuple(fc.constantFrom('event_id', 'user_id', ...OPTIONAL_STRINGS), badIdString)
    .map(([k, v]) => p(`schema/bad-string:${k}`, 'schema', mutate(k, (o) => { o[k] = v; }))),
  fc.integer({ min: EVENT_BOUNDS.optionalStringMaxLength + 1, max: 600 }).map((n) => p('schema/too-long:category', 'schema', mutate('c', (o) => { o.category = 'c'.repeat(n); }))),
  fc.constantFrom('', 'VIEW', 'view!', 'vi ew', 'viéw', 'a'.repeat(33), 'view\u0000', '__proto__x9', 'drop;table')
    .map((v) => p('schema/event-type', 'schema', mutate('t', (o) => { o.event_type = v; }))),
  fc.constantFrom(...BAD_TIMES).map((v) => p('schema/event-time', 'schema', mutate('t', (o) => { o.event_time = v; }))),
  fc.oneof(fc.constantFrom<unknown>(-0.01, -1e300, '9.99', 'NaN', 'Infinity', true, [], {}), fc.double({ max: -Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }))
    .map((v) => p('schema/price', 'schema', mutate('p', (o) => { o.price = v; }))),
  fc.constantFrom<unknown>(0, -1, 1.5, EVENT_BOUNDS.maxQuantity + 1, '1', true, [1], {})
    .map((v) => p('schema/quantity', 'schema', mutate('q', (o) => { o.quantity = v; }))),
  fc.oneof(fc.constantFrom<unknown>([], 'a=b', 7, true), fc.array(fc.string(), { minLength: 1, maxLength: 3 }))
    .map((v) => p('schema/attributes-not-object', 'schema', mutate('a', (o) => { o.attributes = v; }))),
  fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.oneof(fc.object({ maxDepth: 2 }), fc.array(fc.nat(), { maxLength: 3 })))
    .map(([k, v]) => p('schema/attributes-nested', 'schema', mutate('a', (o) => { o.attributes = { [`k${k}`]: v }; }))),
  fc.integer({ min: EVENT_BOUNDS.maxAttributes + 1, max: 60 })
    .map((n) => p('schema/attributes-too-many', 'schema', mutate('a', (o) => { o.attributes = Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])); }))),
  fc.integer({ min: EVENT_BOUNDS.attributeStringMaxLength + 1, max: 1_500 })
    .map((n) => p('schema/attribute-too-long', 'schema', mutate('a', (o) => { o.attributes = { a: 'v'.repeat(n) }; }))),
  fc.tuple(badIdString.filter((s) => s.length <= EVENT_BOUNDS.attributeKeyMaxLength), fc.nat())
    .filter(([k]) => k.length === 0 || hasControlOrSurrogate(k))
    .map(([k, v]) => p('schema/attribute-key', 'schema', mutate('a', (o) => { o.attributes = { [k]: v }; }))),
  fc.constantFrom('__proto__', 'constructor', 'prototype').map((k) =>
    // JSON.parse makes "__proto__" an own key; build the text directly so it is really sent.
    p(`schema/attribute-key:${k}`, 'schema', mutate('a', () => undefined).replace('"attributes":{"page":"home"}', `"attributes":{"${k}":{"polluted":true}}`))),
  fc.integer({ min: 2, max: 100 }).map((n) => p('schema/attributes-deep', 'schema',
    mutate('a', () => undefined).replace('"attributes":{"page":"home"}', `"attributes":{"x":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`))),
  fc.constantFrom('\\ud800', '\\udfff', 'ok\\ud83d').map((esc) => p('schema/lone-surrogate-escape', 'schema',
    mutate('s', () => undefined).replace('"shoes"', `"${esc}"`))),
  fc.constantFrom('9007199254740993', '18446744073709551616', '1e400', '-1e400').map((n) => p('schema/big-number-time', 'schema',
    withRelTime(baseEvent('n')).replace(RELATIVE_TIME, n))),
  fc.constant(p('schema/price-times-quantity', 'schema', mutate('m', (o) => { o.price = 1e9; o.quantity = EVENT_BOUNDS.maxQuantity; }))),
  fc.object({ maxDepth: 3 }).filter((o) => !('event_id' in o)).map((o) => p('schema/random-object', 'schema', JSON.stringify(o))),
);

function hasControlOrSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// future_time, too_large

const futureTime = fc.oneof(
  fc.integer({ min: FUTURE_MS + 1_000, max: 30 * 86_400_000 }).map((ahead) =>
    p('future_time/ahead', 'future_time', withRelTime(baseEvent('f')).replace(RELATIVE_TIME, `"__REL_AHEAD_${ahead}__"`))),
  // A producer with a broken clock: the record timestamp years before an otherwise normal event.
  fc.integer({ min: 86_400_000, max: 20 * 365 * 86_400_000 }).map((back) => p('future_time/old-record-timestamp', 'future_time', validText, -back)),
);

/** Oversize values (just over the limit, in bytes): a padded event, multi-byte text, binary. */
export const tooLarge: fc.Arbitrary<Payload> = fc.oneof(
  fc.integer({ min: 1, max: 40_000 }).map((extra) => p('too_large/padded-event', 'too_large',
    mutate('big', (o) => { o.pad = 'x'.repeat(MAX_BYTES + extra); }))),
  fc.integer({ min: 1, max: 20_000 }).map((extra) => p('too_large/multibyte', 'too_large', 'é'.repeat(MAX_BYTES / 2 + extra))),
  fc.integer({ min: 1, max: 40_000 }).map((extra) => p('too_large/binary', 'too_large', new Uint8Array(MAX_BYTES + extra).fill(0xff))),
  fc.integer({ min: 1, max: 40_000 }).map((extra) => p('too_large/whitespace', 'too_large', ' '.repeat(MAX_BYTES + extra))),
);

/**
 * Huge but within the size limit (10-60 KB): deep nesting, long strings, many keys. Kept
 * apart, like tooLarge, so the suite can bound how many DLQ bytes one batch produces.
 */
export const hugePayload: fc.Arbitrary<Payload> = fc.oneof(
  fc.integer({ min: 5_000, max: 30_000 }).map((n) => p('huge/unclosed-nesting', 'bad_json', '['.repeat(n * 2))),
  fc.integer({ min: 5_000, max: 30_000 }).map((n) => p('huge/deep-array', 'not_object', `${'['.repeat(n)}${']'.repeat(n)}`)),
  fc.integer({ min: 10_000, max: 60_000 }).map((n) => p('huge/event-id', 'schema', mutate('h', (o) => { o.event_id = 'e'.repeat(n); }))),
  fc.integer({ min: 10_000, max: 60_000 }).map((n) => p('huge/attribute', 'schema', mutate('h', (o) => { o.attributes = { a: 'v'.repeat(n) }; }))),
  fc.integer({ min: 1_000, max: 4_000 }).map((n) => p('huge/attributes-many', 'schema',
    mutate('h', (o) => { o.attributes = Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])); }))),
  fc.integer({ min: 2_000, max: 10_000 }).map((n) => p('huge/attributes-deep', 'schema',
    mutate('h', () => undefined).replace('"attributes":{"page":"home"}', `"attributes":{"x":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`))),
);

/** Every family except too_large (whose count the suite bounds separately). */
export const hostilePayload: fc.Arbitrary<Payload> = fc.oneof(
  { weight: 1, arbitrary: empty },
  { weight: 2, arbitrary: badEncoding },
  { weight: 4, arbitrary: badJson },
  { weight: 2, arbitrary: notObject },
  { weight: 8, arbitrary: schema },
  { weight: 1, arbitrary: futureTime },
);

/** Resolves the relative event_time markers against the run's clock (not the record timestamp). */
export function resolveTime(text: string, nowMs: number): string {
  return text.replace(/"__REL_TIME__"|"__REL_AHEAD_(\d+)__"/, (_m, ahead: string | undefined) => String(ahead === undefined ? nowMs - 60_000 : nowMs + Number(ahead)));
}
