// From an accepted event to what one tile series aggregates: does the event count, for
// which entity, at which time, with which value. The money rule lives in definition.ts
// (toMicros); this is the only place that applies it to events.
import type { ClickEvent } from './event.js';
import { toMicros, valueKind, type Entity, type FilterField, type TimeBasis, type ValueExpression } from './features/definition.js';

/** A normalised filter + value + time basis (see features/series.ts). */
export interface Selector {
  entity: Entity;
  /** sorted; null = any event type */
  eventTypes: readonly string[] | null;
  /** sorted; includes the value's field and, for items, item_id */
  requires: readonly FilterField[];
  /** null when the aggregation reads no value */
  value: ValueExpression | null;
  time: TimeBasis;
}

/** One event as seen by one series. */
export interface Sample {
  /** event_time or ingest_time (epoch ms), per the series' time basis */
  time: number;
  eventId: string;
  userId: string;
  /** string values as is; numeric values as the decimal of `scaled`; '' when no value */
  member: string;
  /** numeric values as integers (micro-units for money); 0n otherwise */
  scaled: bigint;
}

/** The entity key an event belongs to, if any (items need an item_id). */
export function entityIdOf(event: ClickEvent, entity: Entity): string | undefined {
  return entity === 'user' ? event.user_id : (event.item_id ?? undefined);
}

export function timeOf(event: ClickEvent, basis: TimeBasis): number {
  return basis === 'event' ? event.event_time : event.ingest_time;
}

/** Numeric expressions as integers: micros(price) [* quantity], or quantity. */
export function scaledValue(event: ClickEvent, expr: ValueExpression): bigint {
  switch (expr) {
    case 'price': return BigInt(toMicros(event.price ?? 0));
    case 'price*quantity': return BigInt(toMicros(event.price ?? 0)) * BigInt(event.quantity);
    case 'quantity': return BigInt(event.quantity);
    default: throw new TypeError(`${expr} is not numeric`);
  }
}

function present(event: ClickEvent, field: FilterField): boolean {
  return event[field] !== undefined && event[field] !== null;
}

/** The sample an event contributes to a series, or undefined when the event does not count. */
export function selectSample(event: ClickEvent, sel: Selector): Sample | undefined {
  const sample: Sample = { time: 0, eventId: '', userId: '', member: '', scaled: 0n };
  return fillSample(event, sel, sample, true) ? sample : undefined;
}

/** The time a sample of `event` has for `sel` (selectSample's), or undefined when the event does not count. */
export function selectedTime(event: ClickEvent, sel: Selector): number | undefined {
  if (sel.eventTypes !== null && !sel.eventTypes.includes(event.event_type)) return undefined;
  for (const field of sel.requires) if (!present(event, field)) return undefined;
  const time = timeOf(event, sel.time);
  if (!Number.isSafeInteger(time)) {
    throw new RangeError(`event ${event.event_id}: ${sel.time} time must be integer epoch ms, got ${time}`);
  }
  return time;
}

/**
 * selectSample into a caller's object (the batch pre-aggregation reuses one for every event
 * and series: a Sample per event and series was a good part of the worker's garbage).
 * Returns false when the event does not count. `needsMember` false leaves numeric values'
 * member '' (count, sum, avg, min and max never read it; its decimal string is garbage).
 */
export function fillSample(event: ClickEvent, sel: Selector, into: Sample, needsMember: boolean): boolean {
  const time = selectedTime(event, sel);
  if (time === undefined) return false;
  let member = '';
  let scaled = 0n;
  if (sel.value !== null) {
    if (valueKind(sel.value) === 'string') {
      member = String(event[sel.value as 'item_id' | 'category' | 'brand' | 'user_id']);
    } else {
      scaled = scaledValue(event, sel.value);
      if (needsMember) member = scaled.toString();
    }
  }
  into.time = time;
  into.eventId = event.event_id;
  into.userId = event.user_id;
  into.member = member;
  into.scaled = scaled;
  return true;
}

/**
 * Largest scaled value one event may carry (micro-units of price * quantity): below 2^53,
 * tile values stay exact in a Lua script (doubles) and a tile's int64 sums cannot overflow
 * before ~1000 such events. The stream decoder should reject larger values (DLQ 'schema').
 */
export const MAX_SCALED_VALUE = Number.MAX_SAFE_INTEGER;

/** Why an event's money values are too large for exact tiles, or undefined when fine. */
export function valueLimitProblem(event: Pick<ClickEvent, 'price' | 'quantity'>): string | undefined {
  if (event.price === undefined || event.price === null) return undefined;
  const scaled = toMicros(event.price) * event.quantity;
  if (scaled <= MAX_SCALED_VALUE) return undefined;
  return `price * quantity must be at most ${Math.floor(MAX_SCALED_VALUE / 1e6)} (exact micro-unit arithmetic)`;
}
