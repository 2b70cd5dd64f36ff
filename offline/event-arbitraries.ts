// fast-check generators of accepted ClickEvents (as core's decoder would produce them),
// with hostile but valid strings, for the row-mapping tests.
import fc from 'fast-check';
import type { AttributeValue, ClickEvent } from '../core/event.js';
import { hostileString } from './sql-arbitraries.js';

/** Ids as core accepts them: 1..128 well-formed characters without control characters. */
// eslint-disable-next-line no-control-regex
const idString = hostileString(24).map((s) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '')).filter((s) => s.length > 0);

const attributeValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  hostileString(16), fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x + 0), fc.boolean(), fc.constant(null),
);

export const clickEventArb: fc.Arbitrary<ClickEvent> = fc.record({
  event_id: idString,
  user_id: idString,
  event_type: fc.constantFrom('view', 'click', 'add_to_cart', 'remove_from_cart', 'purchase', 'favorite', 'search', 'custom_x'),
  event_time: fc.integer({ min: 946_684_800_000, max: 4_102_444_799_999 }),
  ingest_time: fc.integer({ min: 946_684_800_000, max: 4_102_444_799_999 }),
  session_id: fc.option(idString, { nil: undefined }),
  item_id: fc.option(idString, { nil: undefined }),
  category: fc.option(idString, { nil: undefined }),
  brand: fc.option(idString, { nil: undefined }),
  price: fc.option(fc.oneof(fc.double({ min: 0, max: 1e9, noNaN: true }).map((x) => x + 0), fc.integer({ min: 0, max: 10_000 }).map((c) => c / 100)), { nil: undefined }),
  quantity: fc.integer({ min: 1, max: 1_000_000 }),
  // The event contract rejects prototype-polluting keys, so valid events never carry them.
  attributes: fc.option(fc.dictionary(idString.filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)), attributeValue, { maxKeys: 4 }).map((o) => ({ ...o })), { nil: undefined }),
}, { requiredKeys: ['event_id', 'user_id', 'event_type', 'event_time', 'ingest_time', 'quantity'] });

/** Drops the keys whose value is undefined, as core's decoder never sets them. */
export function compact(event: ClickEvent): ClickEvent {
  return Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined)) as unknown as ClickEvent;
}
