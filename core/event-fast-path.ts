// The accept path of event validation, written by hand. The zod schema in event.ts costs
// ~25 µs per record (BENCHMARKS.md, "Offline sink"); nearly every record is valid, and
// checking a valid one needs none of zod's issue collection or error wording.
//
// fastValidateEvent answers only "certainly valid": the validated fields when the object
// passes every rule of the schema in event.ts, undefined otherwise. On undefined the
// schema runs and words the rejection, so every reason and detail stays the schema's.
// It is therefore safe for this to give up on anything (it costs only speed), and unsafe
// to accept anything the schema refuses: a rule changed in one place must change in the
// other, and event-fast-path.test.ts checks that the two agree on valid, mutated and
// hostile objects, in both directions.
//
// String bounds: zod 4 counts a string's length in code points (a surrogate pair is one),
// although event.ts's header says lengths count UTF-16 units; so 128 emoji pass as an
// event_id. This path gives up on any string longer than its bound in UTF-16 units and
// lets the schema decide, which agrees with either count.
import { EVENT_BOUNDS, parseEventTime, RESERVED_ATTRIBUTE_KEYS } from './event-checks.js';

/** The schema's output: what both paths hand to the ClickEvent construction in event.ts. */
export interface ValidatedEvent {
  event_id: string;
  user_id: string;
  event_type: string;
  event_time: number;
  session_id?: string | null | undefined;
  item_id?: string | null | undefined;
  category?: string | null | undefined;
  brand?: string | null | undefined;
  price?: number | null | undefined;
  quantity?: number | null | undefined;
  attributes?: unknown;
}

/**
 * `!hasControlChar(s) && isWellFormedUnicode(s)` (event-checks.ts) in one pass: no C0,
 * DEL or C1 code unit, and every surrogate in a high-low pair.
 */
function isCleanText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) return false;
    if (c < 0x7f) continue;
    if (c <= 0x9f) return false;
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c >= 0xdc00) return false; // a low surrogate without its high one
      const next = s.charCodeAt(i + 1); // NaN past the end
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}

/** isWellFormedUnicode (event-checks.ts), with a quick exit for surrogate-free text. */
function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c >= 0xdc00) return false;
    const next = s.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}

/** The schema's `text(1, max, { controlChars: false })` when within max UTF-16 units (see the header). */
function isText(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= max && isCleanText(v);
}

/** The schema's `text(...).nullish()`: absent, null, or a valid text. */
function isOptionalText(v: unknown): boolean {
  return v === undefined || v === null || isText(v, EVENT_BOUNDS.optionalStringMaxLength);
}

/** attributesProblem (event.ts) returns null: absent, null, or a flat object within bounds. */
function isAttributes(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length > EVENT_BOUNDS.maxAttributes) return false;
  for (const key of keys) {
    if (key.length === 0 || key.length > EVENT_BOUNDS.attributeKeyMaxLength || !isCleanText(key)) return false;
    if (RESERVED_ATTRIBUTE_KEYS.has(key)) return false;
    const v = (value as Record<string, unknown>)[key];
    if (typeof v === 'string') {
      if (v.length > EVENT_BOUNDS.attributeStringMaxLength || !isWellFormed(v)) return false;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return false;
    } else if (typeof v !== 'boolean' && v !== null) {
      return false;
    }
  }
  return true;
}

/**
 * The validated fields of `value` when the zod schema of event.ts certainly accepts it;
 * undefined when it may not (the caller then asks the schema). `value` is an object (not
 * null, not an array), as validateEventObject has checked; each field is read once.
 */
export function fastValidateEvent(value: object): ValidatedEvent | undefined {
  const o = value as Record<string, unknown>;
  const eventId = o.event_id;
  const userId = o.user_id;
  const eventType = o.event_type;
  if (!isText(eventId, EVENT_BOUNDS.idMaxLength) || !isText(userId, EVENT_BOUNDS.idMaxLength)) return undefined;
  if (typeof eventType !== 'string' || !EVENT_BOUNDS.eventTypePattern.test(eventType)) return undefined;
  const eventTime = parseEventTime(o.event_time);
  if (typeof eventTime !== 'number') return undefined;
  const sessionId = o.session_id;
  const itemId = o.item_id;
  const category = o.category;
  const brand = o.brand;
  if (!isOptionalText(sessionId) || !isOptionalText(itemId) || !isOptionalText(category) || !isOptionalText(brand)) return undefined;
  const price = o.price;
  // zod's number type refuses NaN and ±Infinity; -0 passes (>= 0)
  if (price !== undefined && price !== null && !(typeof price === 'number' && Number.isFinite(price) && price >= 0)) return undefined;
  const quantity = o.quantity;
  if (quantity !== undefined && quantity !== null
    && !(typeof quantity === 'number' && Number.isInteger(quantity) && quantity >= 1 && quantity <= EVENT_BOUNDS.maxQuantity)) return undefined;
  const attributes = o.attributes;
  if (!isAttributes(attributes)) return undefined;
  return {
    event_id: eventId,
    user_id: userId,
    event_type: eventType,
    event_time: eventTime,
    session_id: sessionId as string | null | undefined,
    item_id: itemId as string | null | undefined,
    category: category as string | null | undefined,
    brand: brand as string | null | undefined,
    price: price as number | null | undefined,
    quantity: quantity as number | null | undefined,
    attributes,
  };
}
