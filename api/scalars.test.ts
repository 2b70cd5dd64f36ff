// DateTime: ISO-8601 with a zone (or a date, or epoch ms) in, UTC ISO out; bad input is a clear error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DateTimeScalar, parseDateTime } from './scalars.js';

test('ISO-8601 forms and epoch ms parse to epoch ms', () => {
  const T = Date.UTC(2024, 2, 1, 12, 0, 0);
  assert.equal(parseDateTime('2024-03-01T12:00:00Z'), T);
  assert.equal(parseDateTime('2024-03-01T12:00:00.000Z'), T);
  assert.equal(parseDateTime('2024-03-01T12:00:00.123456789Z'), T + 123);
  assert.equal(parseDateTime('2024-03-01T14:00:00+02:00'), T);
  assert.equal(parseDateTime('2024-03-01T07:00:00-0500'), T);
  assert.equal(parseDateTime('2024-03-01T12:00Z'), T);
  assert.equal(parseDateTime('2024-03-01 12:00:00z'), T);
  assert.equal(parseDateTime('2024-03-01'), Date.UTC(2024, 2, 1));
  assert.equal(parseDateTime(T), T);
});

test('bad DateTimes are rejected with a reason', () => {
  const bad: [unknown, RegExp][] = [
    ['2024-03-01T12:00:00', /add a time zone/], ['yesterday', /expected ISO-8601/], ['2024-02-30T00:00:00Z', /not a valid calendar/],
    ['2024-03-01T24:00:00Z', /not a valid/], ['2024-13-01', /not a valid/], [-1, /non-negative integer/], [1.5, /non-negative integer/], [true, /expected an ISO-8601/],
  ];
  for (const [value, re] of bad) assert.throws(() => parseDateTime(value), (e: Error) => re.test(e.message) && e.message.includes('DateTime cannot represent'), String(value));
});

test('serialize(parse(x)) round-trips every millisecond in range', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (ms) => {
    const iso = DateTimeScalar.serialize(ms) as string;
    return parseDateTime(iso) === ms && iso === new Date(ms).toISOString();
  }), { numRuns: 2000 });
});
