// The event contract: one test per reject reason, the schema rules, event_time parsing,
// DLQ records, and properties: decodeEvent never throws on 10,000 random and malformed
// inputs, and encode -> decode round-trips valid events.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { validEvent } from './event-arbitraries.js';
import {
  DECODE_REJECT_REASONS,
  DLQ_MAX_ORIGINAL_BYTES,
  decodeDlqRecord,
  decodeEvent,
  DEFAULT_EVENT_LIMITS,
  dlqOriginalBytes,
  encodeDlqRecord,
  encodeEvent,
  EVENT_BOUNDS,
  isRejectReason,
  makeDlqRecord,
  parseEventTime,
  REJECT_REASONS,
  type ClickEvent,
  type DecodeResult,
  type RejectReason,
} from './event.js';

const TS = Date.UTC(2024, 4, 1, 12, 0, 0); // record timestamp used by most tests
const limits = DEFAULT_EVENT_LIMITS;

const base = {
  event_id: 'e-1',
  user_id: 'u-1',
  event_type: 'view',
  event_time: TS - 1000,
  session_id: 's-1',
  item_id: 'i-1',
  category: 'electronics.smartphone',
  brand: 'acme',
  price: 19.99,
  quantity: 2,
  attributes: { device: 'mobile', rank: 3, promo: false, ref: null },
};

function decodeObj(obj: unknown, ts = TS): DecodeResult {
  return decodeEvent(JSON.stringify(obj), ts, limits);
}

function rejected(result: DecodeResult, reason: RejectReason, detailIncludes?: string): void {
  assert.equal(result.ok, false, `expected rejection ${reason}, got ${JSON.stringify(result)}`);
  if (result.ok) return;
  assert.equal(result.reason, reason, result.detail);
  assert.ok(result.detail.length > 0);
  if (detailIncludes !== undefined) assert.ok(result.detail.includes(detailIncludes), `detail "${result.detail}" lacks "${detailIncludes}"`);
}

function accepted(result: DecodeResult): ClickEvent {
  assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.detail}`);
  return result.event;
}

describe('reject reasons', () => {
  test('the vocabulary is one list, late and duplicate included', () => {
    assert.deepEqual([...REJECT_REASONS], ['empty', 'too_large', 'bad_encoding', 'bad_json', 'not_object', 'schema', 'future_time', 'late', 'duplicate']);
    assert.ok(!DECODE_REJECT_REASONS.includes('late' as never));
    assert.ok(isRejectReason('late') && !isRejectReason('nope') && !isRejectReason(3));
  });

  test('empty: null (tombstone), zero bytes, whitespace only', () => {
    rejected(decodeEvent(null, TS, limits), 'empty', 'tombstone');
    rejected(decodeEvent('', TS, limits), 'empty');
    rejected(decodeEvent(new Uint8Array(0), TS, limits), 'empty');
    rejected(decodeEvent(' \r\n\t', TS, limits), 'empty');
    rejected(decodeEvent(Buffer.from('\uFEFF  '), TS, limits), 'empty');
  });

  test('too_large: over maxBytes (bytes, not characters); exactly maxBytes is fine', () => {
    const exact = (size: number) => {
      const head = JSON.stringify({ ...base, pad: '' });
      return JSON.stringify({ ...base, pad: 'x'.repeat(size - Buffer.byteLength(head)) });
    };
    assert.equal(Buffer.byteLength(exact(limits.maxBytes)), limits.maxBytes);
    accepted(decodeEvent(exact(limits.maxBytes), TS, limits));
    rejected(decodeEvent(exact(limits.maxBytes + 1), TS, limits), 'too_large', '65537');
    rejected(decodeEvent(Buffer.from(exact(limits.maxBytes + 1)), TS, limits), 'too_large');
    // 22,000 three-byte characters: 66,000 bytes although only 22,000 UTF-16 units
    rejected(decodeEvent(JSON.stringify({ ...base, pad: '€'.repeat(22_000) }), TS, limits), 'too_large');
    rejected(decodeEvent('{"a":1}', TS, { ...limits, maxBytes: 4 }), 'too_large');
  });

  test('bad_encoding: invalid UTF-8 bytes, lone surrogates in a string value', () => {
    rejected(decodeEvent(Uint8Array.from([0x7b, 0xff, 0x7d]), TS, limits), 'bad_encoding');
    rejected(decodeEvent(Uint8Array.from([0xc0, 0xaf]), TS, limits), 'bad_encoding'); // overlong '/'
    rejected(decodeEvent(Uint8Array.from([0xed, 0xa0, 0x80]), TS, limits), 'bad_encoding'); // encoded surrogate
    rejected(decodeEvent(Buffer.from(JSON.stringify(base)).subarray(0, 3).fill(0xe2, 2), TS, limits), 'bad_encoding');
    rejected(decodeEvent(`{"event_id":"\uD800"}`, TS, limits), 'bad_encoding');
    rejected(decodeEvent(42 as unknown as string, TS, limits), 'bad_encoding');
  });

  test('bad_json: truncated, NaN, Infinity, trailing commas, single quotes', () => {
    const json = JSON.stringify(base);
    rejected(decodeEvent(json.slice(0, -1), TS, limits), 'bad_json');
    rejected(decodeEvent(json.replace('19.99', 'NaN'), TS, limits), 'bad_json');
    rejected(decodeEvent(json.replace('19.99', 'Infinity'), TS, limits), 'bad_json');
    rejected(decodeEvent('{"a":1,}', TS, limits), 'bad_json');
    rejected(decodeEvent("{'a':1}", TS, limits), 'bad_json');
    rejected(decodeEvent('{"a":1}{"b":2}', TS, limits), 'bad_json');
  });

  test('not_object: arrays, strings, numbers, null, booleans', () => {
    for (const v of ['[]', `[${JSON.stringify(base)}]`, '"view"', '42', 'null', 'true']) rejected(decodeEvent(v, TS, limits), 'not_object');
  });

  test('future_time: more than maxFutureMs after the record timestamp', () => {
    accepted(decodeObj({ ...base, event_time: TS + limits.maxFutureMs }));
    rejected(decodeObj({ ...base, event_time: TS + limits.maxFutureMs + 1 }), 'future_time', 'after the record timestamp');
    rejected(decodeEvent(JSON.stringify({ ...base, event_time: TS + 10 }), TS, { ...limits, maxFutureMs: 0 }), 'future_time');
    // far in the past is not decodeEvent's business (lateness is per user, elsewhere)
    accepted(decodeObj({ ...base, event_time: Date.UTC(2001, 0, 1) }));
  });
});

describe('schema', () => {
  test('a full event decodes to the ClickEvent shape; ingest_time is the record timestamp', () => {
    assert.deepEqual(accepted(decodeObj(base)), { ...base, ingest_time: TS });
  });

  test('a minimal event gets quantity 1 and no optional keys', () => {
    const e = accepted(decodeObj({ event_id: 'e', user_id: 'u', event_type: 'click', event_time: TS }));
    assert.deepEqual(e, { event_id: 'e', user_id: 'u', event_type: 'click', event_time: TS, ingest_time: TS, quantity: 1 });
  });

  test('null optional fields mean absent; unknown fields and a payload ingest_time are ignored', () => {
    const e = accepted(decodeObj({ ...base, session_id: null, item_id: null, category: null, brand: null, price: null, quantity: null, attributes: null, extra: [1, 2], ingest_time: 5 }));
    assert.deepEqual(e, { event_id: 'e-1', user_id: 'u-1', event_type: 'view', event_time: base.event_time, ingest_time: TS, quantity: 1 });
  });

  test('unknown but well-formed event types are accepted', () => {
    assert.equal(accepted(decodeObj({ ...base, event_type: 'share_item' })).event_type, 'share_item');
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ['missing event_id', { event_id: undefined }, 'event_id: is required'],
    ['empty event_id', { event_id: '' }, 'event_id: must not be empty'],
    ['long event_id', { event_id: 'e'.repeat(129) }, 'event_id: must be at most 128'],
    ['numeric user_id', { user_id: 123 }, 'user_id: must be a string'],
    ['missing user_id', { user_id: undefined }, 'user_id: is required'],
    ['NUL in user_id', { user_id: 'u\u0000' }, 'user_id: must not contain control characters'],
    ['newline in event_id', { event_id: 'a\nb' }, 'event_id: must not contain control characters'],
    ['C1 control in item_id', { item_id: 'i\u0085' }, 'item_id: must not contain control characters'],
    ['DEL in session_id', { session_id: 's\u007f' }, 'session_id: must not contain control characters'],
    ['uppercase event_type', { event_type: 'View' }, 'event_type: must match'],
    ['event_type with dash', { event_type: 'add-to-cart' }, 'event_type: must match'],
    ['long event_type', { event_type: 'a'.repeat(33) }, 'event_type: must match'],
    ['missing event_type', { event_type: undefined }, 'event_type: is required'],
    ['missing event_time', { event_time: undefined }, 'event_time: is required'],
    ['boolean event_time', { event_time: true }, 'event_time: must be an ISO-8601'],
    ['epoch seconds', { event_time: 1_714_564_800 }, 'epoch seconds instead of ms'],
    ['fractional epoch ms', { event_time: TS + 0.5 }, 'event_time: epoch ms must be an integer'],
    ['local time without offset', { event_time: '2024-05-01T10:00:00' }, 'event_time: must be ISO-8601 with a timezone'],
    ['date only', { event_time: '2024-05-01' }, 'event_time: must be ISO-8601'],
    ['numeric string', { event_time: String(TS) }, 'event_time: must be ISO-8601'],
    ['Feb 30', { event_time: '2024-02-30T00:00:00Z' }, 'no such date'],
    ['hour 24', { event_time: '2024-05-01T24:00:00Z' }, 'time of day out of range'],
    ['year 1999', { event_time: '1999-12-31T23:59:59Z' }, 'out of range'],
    ['empty brand', { brand: '' }, 'brand: must not be empty'],
    ['long category', { category: 'c'.repeat(257) }, 'category: must be at most 256'],
    ['negative price', { price: -0.01 }, 'price: must be >= 0'],
    ['string price', { price: '19.99' }, 'price: must be a number'],
    ['quantity 0', { quantity: 0 }, 'quantity: must be >= 1'],
    ['fractional quantity', { quantity: 1.5 }, 'quantity: must be an integer'],
    ['huge quantity', { quantity: 10_000_000 }, 'quantity: must be <= 1000000'],
    ['attributes array', { attributes: [1] }, 'attributes: must be a flat object'],
    ['nested attributes', { attributes: { a: { b: 1 } } }, 'attributes: a: must be a string'],
    ['attribute list', { attributes: { a: [1] } }, 'attributes: a: must be'],
    ['too many attributes', { attributes: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) }, 'at most 32 keys'],
    ['long attribute key', { attributes: { ['k'.repeat(65)]: 1 } }, 'must be 1..64 characters'],
    ['long attribute value', { attributes: { a: 'v'.repeat(1025) } }, 'attributes: a: must be a string (<= 1024'],
    ['__proto__ attribute', { attributes: JSON.parse('{"__proto__": 1}') as object }, 'reserved'],
    ['constructor attribute', { attributes: { constructor: 'x' } }, 'reserved'],
  ];
  for (const [name, patch, detail] of cases) {
    test(`schema: ${name}`, () => {
      rejected(decodeObj({ ...base, ...patch }), 'schema', detail);
    });
  }

  test('price 1e400 parses to Infinity and is rejected as not finite', () => {
    rejected(decodeEvent(JSON.stringify(base).replace('19.99', '1e400'), TS, limits), 'schema', 'price: must be finite');
  });

  test('whitespace and unicode in ids are kept as they are', () => {
    const e = accepted(decodeObj({ ...base, user_id: ' Zoë 🙂 ', event_id: "'; DROP TABLE events; --" }));
    assert.equal(e.user_id, ' Zoë 🙂 ');
    assert.equal(e.event_id, "'; DROP TABLE events; --");
  });

  test('a __proto__ key at the top level neither pollutes nor leaks into the event', () => {
    const e = accepted(decodeEvent(`{"__proto__":{"polluted":true},${JSON.stringify(base).slice(1)}`, TS, limits));
    assert.equal(Object.getPrototypeOf(e), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.ok(!Object.hasOwn(e, '__proto__'));
  });
});

describe('event_time parsing', () => {
  const ok: [string, number][] = [
    ['2024-05-01T12:00:00Z', TS],
    ['2024-05-01T12:00:00.123Z', TS + 123],
    ['2024-05-01T12:00:00.1239Z', TS + 123], // sub-ms digits are truncated
    ['2024-05-01T12:00:00,5Z', TS + 500],
    ['2024-05-01T12:00Z', TS],
    ['2024-05-01 12:00:00Z', TS],
    ['2024-05-01t12:00:00z', TS],
    ['2024-05-01T14:00:00+02:00', TS],
    ['2024-05-01T14:00:00+0200', TS],
    ['2024-05-01T14:00:00+02', TS],
    ['2024-05-01T06:30:00-05:30', TS],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ];
  for (const [text, ms] of ok) test(`accepts ${text}`, () => assert.equal(parseEventTime(text), ms));

  const bad = ['2024-05-01T12:00:00', '2024-05-01', '2024-05-01T12:00:60Z', '2024-13-01T00:00:00Z', '2023-02-29T00:00:00Z',
    '2024-05-01T12:00:00+19:00', '2024-05-01T12:00:00 UTC', '20240501T120000Z', ' 2024-05-01T12:00:00Z', '2100-01-01T00:00:00Z', ''];
  for (const text of bad) test(`rejects ${JSON.stringify(text)}`, () => assert.equal(typeof parseEventTime(text), 'object'));

  test('epoch ms bounds', () => {
    assert.equal(parseEventTime(EVENT_BOUNDS.minEventTimeMs), EVENT_BOUNDS.minEventTimeMs);
    assert.equal(typeof parseEventTime(EVENT_BOUNDS.minEventTimeMs - 1), 'object');
    assert.equal(parseEventTime(EVENT_BOUNDS.maxEventTimeMs - 1), EVENT_BOUNDS.maxEventTimeMs - 1);
    assert.equal(typeof parseEventTime(EVENT_BOUNDS.maxEventTimeMs), 'object');
    assert.equal(typeof parseEventTime(Number.NaN), 'object');
  });
});

describe('encodeEvent', () => {
  test('snake_case JSON, epoch-ms event_time, no ingest_time, no undefined keys', () => {
    const e = accepted(decodeObj({ ...base, event_time: '2024-05-01T11:59:59Z' }));
    const wire = JSON.parse(encodeEvent(e)) as Record<string, unknown>;
    assert.equal(wire.event_time, TS - 1000);
    assert.ok(!('ingest_time' in wire));
    const minimal = JSON.parse(encodeEvent({ event_id: 'e', user_id: 'u', event_type: 'view', event_time: TS, ingest_time: TS, quantity: 1 })) as object;
    assert.deepEqual(Object.keys(minimal), ['event_id', 'user_id', 'event_type', 'event_time', 'quantity']);
  });
});

describe('DLQ records', () => {
  test('make -> encode -> decode keeps everything, original bytes included', () => {
    const original = Uint8Array.from([0x7b, 0xff, 0x00, 0x7d]);
    const record = makeDlqRecord('bad_encoding', 'value is not valid UTF-8', {
      topic: 'clickstream.events', partition: 3, offset: '9007199254740993', timestamp: TS, key: 'u-1', value: original,
    });
    const back = decodeDlqRecord(encodeDlqRecord(record));
    assert.deepEqual(back, record);
    assert.deepEqual(dlqOriginalBytes(back as NonNullable<typeof back>), original);
    assert.equal(Buffer.from(record.original_key_base64 ?? '', 'base64').toString(), 'u-1');
    assert.equal(decodeDlqRecord(Buffer.from(encodeDlqRecord(record))) !== null, true);
  });

  test('a null original value is stored as empty; no key, no key field', () => {
    const record = makeDlqRecord('empty', 'tombstone', { topic: 't', partition: 0, offset: '0', timestamp: TS, value: null });
    assert.equal(record.original_base64, '');
    assert.ok(!('original_key_base64' in record));
    assert.deepEqual(decodeDlqRecord(encodeDlqRecord(record)), record);
  });

  test('the detail is bounded', () => {
    const record = makeDlqRecord('schema', 'x'.repeat(5000), { topic: 't', partition: 0, offset: '1', timestamp: TS, value: 'v' });
    assert.ok(record.detail.length <= 501);
  });

  test('decodeDlqRecord returns null for anything else, never throws', () => {
    for (const v of [null, '', 'x', '{}', '[]', Uint8Array.from([0xff]), JSON.stringify({ reason: 'nope', detail: '', source_topic: 't', source_partition: 0, source_offset: '1', record_timestamp: 1, original_base64: '' })]) {
      assert.equal(decodeDlqRecord(v), null);
    }
  });
});

// ---------------------------------------------------------------------------------------
// Properties

const truncatedJson = fc.tuple(fc.jsonValue(), fc.nat()).map(([v, n]) => {
  const s = JSON.stringify(v) ?? 'null';
  return s.slice(0, n % (s.length + 1));
});
const wrongTypes = fc.tuple(fc.constantFrom(...Object.keys(base)), fc.anything()).map(([key, value]) => {
  try {
    return JSON.stringify({ ...base, [key]: value }) ?? '';
  } catch {
    return '';
  }
});
const rawNumbers = fc.tuple(fc.constantFrom('price', 'quantity', 'event_time'), fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e400', '-0', '1e-400', '0x10', '00', '1.', '.5', '9007199254740993'))
  .map(([k, raw]) => JSON.stringify(base).replace(new RegExp(`"${k}":[^,}]+`), `"${k}":${raw}`));
const sqlish = fc.constantFrom("'; DROP TABLE events; --", "1' OR '1'='1", 'Robert\'); DROP TABLE students;--', '\\\'', '`rm -rf /`', '${jndi:ldap://x}', '<script>alert(1)</script>');
const sqlInFields = fc.tuple(fc.constantFrom('event_id', 'user_id', 'item_id', 'category', 'brand', 'event_type'), sqlish).map(([k, v]) => JSON.stringify({ ...base, [k]: v }));
const controlInIds = fc.tuple(fc.constantFrom('event_id', 'user_id', 'session_id'), fc.integer({ min: 0, max: 0x9f }), fc.string()).map(([k, c, s]) => JSON.stringify({ ...base, [k]: `${s}${String.fromCharCode(c)}${s}` }));
const deepNesting = fc.tuple(fc.integer({ min: 1, max: 40_000 }), fc.constantFrom('[', '{"a":')).map(([n, open]) => open.repeat(n) + '1' + (open === '[' ? ']' : '}').repeat(n));
const hugeStrings = fc.tuple(fc.constantFrom('event_id', 'user_id', 'brand', 'pad'), fc.integer({ min: 100, max: 80_000 })).map(([k, n]) => JSON.stringify({ ...base, [k]: 'x'.repeat(n) }));
const protoKeys = fc.constantFrom(
  `{"__proto__":{"polluted":true},${JSON.stringify(base).slice(1)}`,
  `{"constructor":{"prototype":{"polluted":true}},${JSON.stringify(base).slice(1)}`,
  JSON.stringify(base).replace('"attributes":{', '"attributes":{"__proto__":{"polluted":true},'),
  JSON.stringify(base).replace('"attributes":{', '"attributes":{"__proto__":null,'),
  '{"__proto__":null}',
);
const anyInput: fc.Arbitrary<Uint8Array | string | null> = fc.oneof(
  fc.constant(null),
  fc.uint8Array({ maxLength: 512 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
  fc.anything().map((v) => {
    try {
      return JSON.stringify(v) ?? '';
    } catch {
      return '';
    }
  }),
  truncatedJson,
  wrongTypes,
  rawNumbers,
  sqlInFields,
  controlInIds,
  deepNesting,
  hugeStrings,
  protoKeys,
  validEvent.map((e) => encodeEvent(e)),
  validEvent.map((e) => Buffer.from(encodeEvent(e)).subarray(0, -3)),
  fc.tuple(validEvent, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([e, i, b]) => {
    const bytes = Buffer.from(encodeEvent(e));
    bytes[i % bytes.length] = b;
    return bytes;
  }),
);

describe('properties', () => {
  test('decodeEvent never throws: 10,000 random and malformed inputs get an event or a listed reason', () => {
    fc.assert(
      fc.property(anyInput, fc.integer({ min: 0, max: 4_102_444_800_000 }), (input, ts) => {
        let result: DecodeResult | undefined;
        assert.doesNotThrow(() => {
          result = decodeEvent(input, ts, limits);
        });
        const r = result as DecodeResult;
        if (r.ok) {
          assert.equal(typeof r.event.event_id, 'string');
          assert.ok(Number.isSafeInteger(r.event.event_time));
          assert.ok(r.event.event_time <= ts + limits.maxFutureMs);
          assert.deepEqual(decodeEvent(encodeEvent(r.event), ts, limits), r);
        } else {
          assert.ok((DECODE_REJECT_REASONS as readonly string[]).includes(r.reason), r.reason);
          assert.equal(typeof r.detail, 'string');
          assert.ok(r.detail.length > 0);
        }
      }),
      { numRuns: 10_000 },
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('decodeEvent never throws for odd record timestamps and limits', () => {
    fc.assert(
      fc.property(anyInput, fc.double(), fc.record({ maxBytes: fc.integer({ min: 0, max: 100_000 }), maxFutureMs: fc.double() }), (input, ts, lim) => {
        const r = decodeEvent(input, ts, lim);
        assert.ok(r.ok || isRejectReason(r.reason));
      }),
      { numRuns: 1_000 },
    );
  });

  test('encode -> decode round-trips valid events (as bytes and as text)', () => {
    fc.assert(
      fc.property(validEvent, (event) => {
        const text = encodeEvent(event);
        assert.deepEqual(decodeEvent(text, event.ingest_time, limits), { ok: true, event });
        assert.deepEqual(decodeEvent(Buffer.from(text), event.ingest_time, limits), { ok: true, event });
      }),
      { numRuns: 2_000 },
    );
  });

  test('ISO-8601 renderings of valid epoch ms parse back exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: EVENT_BOUNDS.minEventTimeMs, max: EVENT_BOUNDS.maxEventTimeMs - 1 }), fc.integer({ min: -14 * 60, max: 14 * 60 }), (ms, offsetMin) => {
        assert.equal(parseEventTime(new Date(ms).toISOString()), ms);
        const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 23);
        const sign = offsetMin < 0 ? '-' : '+';
        const abs = Math.abs(offsetMin);
        const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        const back = parseEventTime(`${local}${offset}`);
        // the local rendering may step outside the accepted range near the bounds
        if (typeof back === 'number') assert.equal(back, ms);
      }),
      { numRuns: 2_000 },
    );
  });
});

test('price * quantity beyond exact micro-unit arithmetic is a schema rejection', () => {
  const base = { event_id: 'e1', user_id: 'u1', event_type: 'purchase', event_time: 1_700_000_000_000 };
  const ok = decodeEvent(JSON.stringify({ ...base, price: 9_000, quantity: 1_000 }), 1_700_000_000_000);
  assert.equal(ok.ok, true);
  const res = decodeEvent(JSON.stringify({ ...base, price: 90_000_000, quantity: 1_000 }), 1_700_000_000_000);
  assert.equal(res.ok, false);
  if (!res.ok) {
    assert.equal(res.reason, 'schema');
    assert.match(res.detail, /micro-unit/);
  }
});

test('a DLQ record carries at most DLQ_MAX_ORIGINAL_BYTES of its original, and then its size', () => {
  const source = { topic: 't', partition: 0, offset: '7', timestamp: 1 };
  const big = makeDlqRecord('too_large', 'too big', { ...source, value: new Uint8Array(DLQ_MAX_ORIGINAL_BYTES + 10).fill(0x61) });
  assert.equal(Buffer.from(big.original_base64, 'base64').byteLength, DLQ_MAX_ORIGINAL_BYTES);
  assert.equal(big.original_size, DLQ_MAX_ORIGINAL_BYTES + 10);
  assert.ok(encodeDlqRecord(big).length < 512 * 1024, 'fits a DLQ send');
  assert.deepEqual(decodeDlqRecord(encodeDlqRecord(big)), big);
  const small = makeDlqRecord('schema', 'bad', { ...source, value: 'abc' });
  assert.equal(small.original_size, undefined);
  assert.equal(Buffer.from(small.original_base64, 'base64').toString(), 'abc');
});
