// Hand-written hostile payloads: the cases a reviewer looks for by name (issue 7: invalid
// JSON, wrong types, huge strings, deep nesting, NUL bytes, lone surrogates,
// prototype-pollution keys, numbers beyond 2^53, NaN/Infinity text, negative and future
// times, oversize records, empty values). Each appears once in every fuzz run; the
// fast-check families in hostile-records.ts add thousands of variations around them.
import type { RejectReason } from '../../core/event.js';
import { baseEvent, RELATIVE_TIME, type Payload } from './hostile-records.js';

const MAX = 64 * 1024;

function event(tag: string, change: (o: Record<string, unknown>) => void = () => undefined): string {
  const o = baseEvent(`hand-${tag}`);
  change(o);
  return JSON.stringify(o).replace('"event_time":-60000', `"event_time":${RELATIVE_TIME}`);
}

/** The event's JSON text with one raw replacement (for what JSON.stringify cannot write). */
const raw = (tag: string, from: string, to: string): string => event(tag).replace(from, to);

const c = (family: string, expect: RejectReason, value: Payload['value'], timestampShiftMs?: number): Payload =>
  ({ family: `hand/${family}`, expect: [expect], value, ...(timestampShiftMs === undefined ? {} : { timestampShiftMs }) });

export const HAND_CASES: readonly Payload[] = [
  // empty values
  c('tombstone', 'empty', null),
  c('zero-bytes', 'empty', ''),
  c('whitespace', 'empty', ' \t\r\n '),
  c('bom-only', 'empty', '\uFEFF'),
  // invalid JSON
  c('not-json', 'bad_json', 'hello'),
  c('half-object', 'bad_json', '{"event_id": "e1", "user_id"'),
  c('nan-literal', 'bad_json', raw('nan', '"price":9.99', '"price":NaN')),
  c('infinity-literal', 'bad_json', raw('inf', '"quantity":1', '"quantity":Infinity')),
  c('raw-nul-byte', 'bad_json', raw('nul', '"shoes"', '"sh\u0000oes"')),
  c('nul-only', 'bad_json', '\u0000'),
  c('sql-text', 'bad_json', "'; DROP TABLE events; --"),
  c('unclosed-deep', 'bad_json', '['.repeat(MAX - 1)),
  // well-formed JSON that is not an object
  c('null-literal', 'not_object', 'null'),
  c('array', 'not_object', '[]'),
  c('number-beyond-2^53', 'not_object', '9007199254740993'),
  c('deep-closed-array', 'not_object', `${'['.repeat(MAX / 2 - 1)}${']'.repeat(MAX / 2 - 1)}`),
  // not UTF-8
  c('invalid-utf8', 'bad_encoding', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])),
  c('cesu-surrogate', 'bad_encoding', Buffer.concat([Buffer.from(raw('cesu', '"shoes"', '"X"')).subarray(0, 20), Buffer.from([0xed, 0xa0, 0x80])])),
  // wrong types and bad values
  c('event-id-number', 'schema', event('a', (o) => { o.event_id = 42; })),
  c('user-id-null', 'schema', event('b', (o) => { o.user_id = null; })),
  c('user-id-object', 'schema', event('c', (o) => { o.user_id = { $ne: null }; })),
  c('price-string-nan', 'schema', event('d', (o) => { o.price = 'NaN'; })),
  c('price-string-infinity', 'schema', event('e', (o) => { o.price = 'Infinity'; })),
  c('price-1e400', 'schema', raw('f', '"price":9.99', '"price":1e400')),
  c('price-negative', 'schema', event('g', (o) => { o.price = -1; })),
  c('quantity-2^53+1', 'schema', raw('h', '"quantity":1', '"quantity":9007199254740993')),
  c('quantity-zero', 'schema', event('i', (o) => { o.quantity = 0; })),
  c('event-time-2^53+1', 'schema', raw('j', RELATIVE_TIME, '9007199254740993')),
  c('event-time-negative', 'schema', raw('k', RELATIVE_TIME, '-1')),
  c('event-time-text-nan', 'schema', raw('l', RELATIVE_TIME, '"NaN"')),
  c('event-time-no-zone', 'schema', raw('m', RELATIVE_TIME, '"2024-06-01T12:00:00"')),
  c('event-time-seconds', 'schema', raw('n', RELATIVE_TIME, '1717243200')),
  c('event-type-upper', 'schema', event('o', (o) => { o.event_type = 'VIEW'; })),
  c('event-type-sql', 'schema', event('p', (o) => { o.event_type = "view'; DROP TABLE events; --"; })),
  // NUL bytes, control characters and lone surrogates in strings
  c('nul-in-user-id', 'schema', event('q', (o) => { o.user_id = 'u\u0000ser'; })),
  c('newline-in-item-id', 'schema', event('r', (o) => { o.item_id = 'i\n1'; })),
  c('lone-high-surrogate', 'schema', raw('s', '"shoes"', '"\\ud800"')),
  c('lone-low-surrogate-in-id', 'schema', raw('t', '"fz-user"', '"u\\udc00"')),
  c('lone-surrogate-attribute', 'schema', raw('u', '"home"', '"\\udbff"')),
  // huge strings (within the record limit)
  c('huge-event-id', 'schema', event('v', (o) => { o.event_id = 'e'.repeat(60_000); })),
  c('huge-attribute', 'schema', event('w', (o) => { o.attributes = { a: 'v'.repeat(50_000) }; })),
  c('many-attributes', 'schema', event('x', (o) => { o.attributes = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, i])); })),
  // prototype pollution
  c('attr-__proto__', 'schema', raw('y', '"attributes":{"page":"home"}', '"attributes":{"__proto__":{"polluted":true}}')),
  c('attr-constructor', 'schema', raw('z', '"attributes":{"page":"home"}', '"attributes":{"constructor":{"prototype":{"polluted":true}}}')),
  c('attr-prototype', 'schema', raw('aa', '"attributes":{"page":"home"}', '"attributes":{"prototype":1}')),
  // deep nesting
  c('deep-attributes', 'schema', raw('ab', '"attributes":{"page":"home"}', `"attributes":{"x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`)),
  // times
  c('far-future', 'future_time', raw('ac', RELATIVE_TIME, '"2099-12-31T23:59:59Z"')),
  c('broken-producer-clock', 'future_time', event('ad'), -10 * 365 * 86_400_000),
  // oversize
  c('oversize-by-one-byte', 'too_large', 'x'.repeat(MAX + 1)),
  c('oversize-multibyte', 'too_large', '€'.repeat(MAX / 3 + 1)),
];
