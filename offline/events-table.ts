// ClickEvent <-> row of the ClickHouse `events` table (migration 002), as JSONEachRow
// objects. The offline sink inserts `eventToRow` rows in one INSERT per batch; readers
// (backfill, consistency check) turn selected rows back into events with `rowToEvent`.
import type { AttributeValue, ClickEvent } from '../core/event.js';
import { toMicros } from '../core/features/definition.js';
import { wellFormed } from './sql.js';

export const EVENTS_TABLE = 'events';
export const EVENTS_BY_ITEM_TABLE = 'events_by_item';

/** Where the event was read from: its Kafka record in clickstream.events. */
export interface EventSource {
  partition: number;
  /** Kafka offsets are int64: a decimal string (as kafkajs gives it), bigint or safe integer */
  offset: string | bigint | number;
}

/** One row for `INSERT INTO events FORMAT JSONEachRow`. Int64/UInt64 beyond 2^53 travel as strings. */
export interface EventRow {
  event_id: string;
  user_id: string;
  event_type: string;
  event_time: number;
  /** 'YYYY-MM-DD', the UTC day of event_time: the partition */
  event_date: string;
  ingest_time: number;
  session_id: string | null;
  item_id: string | null;
  category: string | null;
  brand: string | null;
  price: number | null;
  /** core's money rule (toMicros) as an Int64 decimal string; null without a price */
  price_micros: string | null;
  quantity: number;
  /** the attributes object as JSON text; null without attributes */
  attributes: string | null;
  source_partition: number;
  source_offset: string;
  inserted_at: number;
}

/** The columns in table order, for `INSERT INTO events (...)` or `SELECT ...`. */
export const EVENT_COLUMNS: readonly (keyof EventRow)[] = [
  'event_id', 'user_id', 'event_type', 'event_time', 'event_date', 'ingest_time', 'session_id', 'item_id', 'category',
  'brand', 'price', 'price_micros', 'quantity', 'attributes', 'source_partition', 'source_offset', 'inserted_at',
];

/** A row as ClickHouse returns it in JSONEachRow: UInt64/Int64 columns arrive as decimal strings. */
export type StoredEventRow = Omit<EventRow, 'event_time' | 'ingest_time' | 'inserted_at' | 'price_micros' | 'source_offset'> & {
  event_time: string | number;
  ingest_time: string | number;
  inserted_at?: string | number;
  price_micros: string | number | null;
  source_offset: string | number;
};

export class EventRowError extends Error {
  override name = 'EventRowError';
}

const DAY_MS = 86_400_000;
const INT64_MAX = (1n << 63n) - 1n;
/** The last instant a ClickHouse Date (18.16: up to 2105-12-31) can hold. */
export const MAX_STORABLE_TIME_MS = Date.UTC(2105, 11, 31, 23, 59, 59, 999);

/** 'YYYY-MM-DD' of an epoch-ms instant, in UTC. */
export function utcDay(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

/**
 * price -> price_micros by core's money rule, as an Int64 decimal string. null when the
 * price is absent or its micros do not fit an Int64 (a price above ~9.2e12).
 */
export function priceMicros(price: number | undefined): string | null {
  if (price === undefined || !Number.isFinite(price)) return null;
  const micros = toMicros(price);
  if (!Number.isFinite(micros)) return null;
  const big = BigInt(micros);
  return big > INT64_MAX || big < -INT64_MAX ? null : big.toString();
}

function offsetText(offset: EventSource['offset']): string {
  const text = typeof offset === 'string' ? offset : typeof offset === 'bigint' ? offset.toString() : Number.isSafeInteger(offset) ? String(offset) : '';
  if (!/^(0|[1-9][0-9]{0,19})$/.test(text) || BigInt(text) > (1n << 64n) - 1n) throw new EventRowError(`invalid Kafka offset ${String(offset)}`);
  return text;
}

function checkTime(name: string, ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_STORABLE_TIME_MS) throw new EventRowError(`${name} ${ms} is outside what ClickHouse can store (1970..2105, integer ms)`);
  return ms;
}

const opt = (s: string | undefined): string | null => (s === undefined ? null : wellFormed(s));

function attributesJson(attributes: ClickEvent['attributes']): string | null {
  if (attributes === undefined) return null;
  const clean: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(attributes)) clean[wellFormed(k)] = typeof v === 'string' ? wellFormed(v) : v;
  return JSON.stringify(clean);
}

/**
 * The `events` row of an accepted event. Strings are made well-formed (ClickHouse refuses
 * JSON with lone surrogates; core already rejects such events, so this is a no-op for
 * them). Throws EventRowError for times or offsets ClickHouse cannot hold.
 */
export function eventToRow(event: ClickEvent, source: EventSource, insertedAt: number = Date.now()): EventRow {
  if (!Number.isSafeInteger(source.partition) || source.partition < 0 || source.partition > 0xffffffff) {
    throw new EventRowError(`invalid Kafka partition ${source.partition}`);
  }
  if (!Number.isSafeInteger(event.quantity) || event.quantity < 1 || event.quantity > 0xffffffff) {
    throw new EventRowError(`quantity ${event.quantity} does not fit UInt32`);
  }
  const eventTime = checkTime('event_time', event.event_time);
  return {
    event_id: wellFormed(event.event_id),
    user_id: wellFormed(event.user_id),
    event_type: wellFormed(event.event_type),
    event_time: eventTime,
    event_date: utcDay(eventTime),
    ingest_time: checkTime('ingest_time', event.ingest_time),
    session_id: opt(event.session_id),
    item_id: opt(event.item_id),
    category: opt(event.category),
    brand: opt(event.brand),
    price: event.price ?? null,
    price_micros: priceMicros(event.price),
    quantity: event.quantity,
    attributes: attributesJson(event.attributes),
    source_partition: source.partition,
    source_offset: offsetText(source.offset),
    inserted_at: checkTime('inserted_at', insertedAt),
  };
}

function toMs(name: string, value: string | number): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw new EventRowError(`${name} ${String(value)} is not an integer`);
  return n;
}

/** The event of a selected `events` (or `events_by_item`) row: eventToRow's inverse. */
export function rowToEvent(row: StoredEventRow): ClickEvent {
  const event: ClickEvent = {
    event_id: row.event_id,
    user_id: row.user_id,
    event_type: row.event_type,
    event_time: toMs('event_time', row.event_time),
    ingest_time: toMs('ingest_time', row.ingest_time),
    quantity: Number(row.quantity),
  };
  if (row.session_id !== null && row.session_id !== undefined) event.session_id = row.session_id;
  if (row.item_id !== null && row.item_id !== undefined) event.item_id = row.item_id;
  if (row.category !== null && row.category !== undefined) event.category = row.category;
  if (row.brand !== null && row.brand !== undefined) event.brand = row.brand;
  if (row.price !== null && row.price !== undefined) event.price = Number(row.price);
  if (row.attributes !== null && row.attributes !== undefined) {
    event.attributes = JSON.parse(row.attributes) as Record<string, AttributeValue>;
  }
  return event;
}

/** The Kafka position a stored row came from. */
export function rowSource(row: Pick<StoredEventRow, 'source_partition' | 'source_offset'>): { partition: number; offset: string } {
  return { partition: Number(row.source_partition), offset: String(row.source_offset) };
}

/**
 * Splits a batch so that no INSERT touches more than `maxDays` day partitions. Every day
 * touched by one INSERT costs a new part with buffers for each column: ClickHouse 18.16
 * ran out of memory inserting 1,000 rows spread over 1,000 days, and current ClickHouse
 * refuses more than 100 partitions per INSERT (max_partitions_per_insert_block). Live
 * traffic touches one or two days; imports and backfills of history need this.
 * Row order within each day is kept; days are grouped in ascending order.
 */
export function splitByDay<R extends { event_date: string } | { record_date: string }>(rows: readonly R[], maxDays = 50): R[][] {
  if (!Number.isSafeInteger(maxDays) || maxDays < 1) throw new RangeError(`maxDays must be an integer >= 1, got ${maxDays}`);
  const byDay = new Map<string, R[]>();
  for (const row of rows) {
    const day = 'event_date' in row ? row.event_date : row.record_date;
    const list = byDay.get(day);
    if (list === undefined) byDay.set(day, [row]);
    else list.push(row);
  }
  if (byDay.size <= maxDays) return rows.length === 0 ? [] : [[...rows]];
  const days = [...byDay.keys()].sort();
  const out: R[][] = [];
  for (let i = 0; i < days.length; i += maxDays) out.push(days.slice(i, i + maxDays).flatMap((d) => byDay.get(d) ?? []));
  return out;
}
