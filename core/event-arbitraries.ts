// fast-check arbitraries of events, shared by the event tests (event.test.ts,
// event-fast-path.test.ts): valid events as decodeEvent gives them back.
import fc from 'fast-check';
import { DEFAULT_EVENT_LIMITS, EVENT_BOUNDS, type ClickEvent } from './event.js';
import { valueLimitProblem } from './sample.js';

export const noControl = (s: string) => ![...s].some((c) => {
  const code = c.codePointAt(0) ?? 0;
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
});
export const idArb = (max: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength: max }).filter((s) => s.length >= 1 && s.length <= max && noControl(s));
const finiteNonNegative = fc.double({ min: 0, max: 1e12, noNaN: true }).map((p) => Math.abs(p) + 0);
export const attrKey = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 64 }).filter((k) => noControl(k) && !['__proto__', 'constructor', 'prototype'].includes(k));
export const attrValue = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 200 }).filter((s) => s.length <= 1024),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => n + 0),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
export const validEvent: fc.Arbitrary<ClickEvent> = fc
  .record(
    {
      event_id: idArb(128),
      user_id: idArb(128),
      event_type: fc.oneof(fc.constantFrom('view', 'click', 'add_to_cart', 'purchase'), fc.stringMatching(/^[a-z_]{1,32}$/)),
      event_time: fc.integer({ min: EVENT_BOUNDS.minEventTimeMs, max: EVENT_BOUNDS.maxEventTimeMs - 1 }),
      ingest_delta: fc.integer({ min: -DEFAULT_EVENT_LIMITS.maxFutureMs, max: 1e10 }),
      session_id: idArb(256),
      item_id: idArb(256),
      category: idArb(256),
      brand: idArb(256),
      price: finiteNonNegative,
      quantity: fc.integer({ min: 1, max: EVENT_BOUNDS.maxQuantity }),
      attributes: fc.dictionary(attrKey, attrValue, { maxKeys: 32 }),
    },
    { requiredKeys: ['event_id', 'user_id', 'event_type', 'event_time', 'ingest_delta', 'quantity'] },
  )
  .map(({ ingest_delta, ...rest }) => {
    const event = { ...rest, ingest_time: rest.event_time + ingest_delta } as ClickEvent;
    if (event.attributes) event.attributes = { ...event.attributes };
    return event;
  })
  // Valid events keep price * quantity within exact micro-unit arithmetic (see core/sample.ts).
  .filter((event) => valueLimitProblem(event) === undefined);
