// The sink's `events` rows as TabSeparated lines, built straight from the accepted event.
//
// Why not eventToRow + JSONEachRow: measured on this project's stream, ClickHouse 18.16
// parses TabSeparated ~1.5x faster than JSONEachRow (with the events_by_item view), and
// eventToRow spends ~8 µs per row on checks the sink does not need on decoded events (a
// RegExp built per string, ISO dates, BigInt offsets). The sink keeps one line per row
// instead of a 17-field object, which also cuts its garbage.
//
// eventToRow stays the definition of a row: `encodeEventLine(e, p, o)` is byte for byte
// `rowLine(eventToRow(e, { partition: p, offset: o }))` once UTF-8 encoded (row-encoder.test.ts
// checks it for arbitrary events, and sink-tsv.clickhouse.test.ts that ClickHouse stores the
// same values both ways). Anything the fast path does not handle (lone surrogates in
// attributes, out-of-range values) goes through eventToRow itself, which also throws its
// EventRowError for values ClickHouse cannot store.
//
// Lines carry every column but `inserted_at`, which is the flush's time and is appended
// when the INSERT body is written (insertedAtSuffix).
import type { ClickEvent } from '../../core/event.js';
import { toMicros } from '../../core/features/definition.js';
import { EVENT_COLUMNS, eventToRow, MAX_STORABLE_TIME_MS, utcDay, type EventRow } from '../events-table.js';

/** The INSERT's column list: the events columns, `inserted_at` last (appended per flush). */
export const LINE_COLUMNS: readonly (keyof EventRow)[] = [...EVENT_COLUMNS.filter((c) => c !== 'inserted_at'), 'inserted_at'];

const DAY_MS = 86_400_000;
const UINT32_MAX = 0xffffffff;

// TabSeparated escaping (ClickHouse's readEscapedString reads these back): backslash and
// the field/row separators must be escaped; \r and \0 are escaped too, so no line ever
// holds a raw control character ClickHouse might complain about.
const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const ESCAPE_ALL = /[\\\t\n\r\0]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** A String field. (A lone surrogate becomes U+FFFD when the body is UTF-8 encoded: eventToRow's wellFormed.) */
export function tsvString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPE_ALL, (c) => ESCAPES[c] ?? c) : s;
}

const NULL = '\\N';
const optional = (s: string | null | undefined): string => (s === null || s === undefined ? NULL : tsvString(s));

/** Any EventRow (as eventToRow makes it) as a line, without inserted_at: the reference rendering. */
export function rowLine(row: EventRow): string {
  const out: string[] = [];
  for (const c of LINE_COLUMNS) {
    if (c === 'inserted_at') continue;
    const v = row[c];
    out.push(v === null ? NULL : typeof v === 'string' ? tsvString(v) : String(v));
  }
  return out.join('\t');
}

/** `\t<insertedAt>\n`: what ends every line of one flush. */
export function insertedAtSuffix(insertedAt: number): string {
  if (!Number.isSafeInteger(insertedAt) || insertedAt < 0 || insertedAt > MAX_STORABLE_TIME_MS) throw new RangeError(`inserted_at ${insertedAt} is outside what ClickHouse can store`);
  return `\t${insertedAt}\n`;
}

// The UTC day string of the last event: a stream's events mostly share a day.
let cachedDay = Number.NaN;
let cachedDayText = '';
function dayText(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayText = utcDay(ms);
  }
  return cachedDayText;
}

const storableTime = (ms: number): boolean => Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_STORABLE_TIME_MS;

/** null when eventToRow must render them: JSON.stringify writes a lone surrogate as `\\udXXX`, eventToRow as U+FFFD. */
function attributesText(attributes: NonNullable<ClickEvent['attributes']>): string | null {
  const json = JSON.stringify(attributes);
  return json.includes('\\ud') || json.includes('\\uD') ? null : tsvString(json);
}

/** The line of an accepted event read from (partition, offset); throws EventRowError like eventToRow. */
export function encodeEventLine(event: ClickEvent, partition: number, offset: number): string {
  const micros = event.price === undefined ? null : toMicros(event.price);
  const attributes = event.attributes === undefined ? NULL : attributesText(event.attributes);
  if (attributes === null || !storableTime(event.event_time) || !storableTime(event.ingest_time)
    || !Number.isSafeInteger(partition) || partition < 0 || partition > UINT32_MAX
    || !Number.isSafeInteger(offset) || offset < 0
    || !Number.isSafeInteger(event.quantity) || event.quantity < 1 || event.quantity > UINT32_MAX
    // price_micros: a safe integer's decimal text is priceMicros()'s BigInt text; beyond, eventToRow decides
    || (micros !== null && !Number.isSafeInteger(micros))) {
    return rowLine(eventToRow(event, { partition, offset }, 0));
  }
  // One join, not a template literal: ~30 concatenations made a rope of ~1 KB of cons
  // cells per line, alive until its slice's block was built (and copied by every
  // young-generation collection meanwhile); join writes one flat string of ~250 bytes.
  return [
    tsvString(event.event_id), tsvString(event.user_id), tsvString(event.event_type), event.event_time, dayText(event.event_time), event.ingest_time,
    optional(event.session_id), optional(event.item_id), optional(event.category), optional(event.brand),
    event.price === undefined ? NULL : String(event.price), micros === null ? NULL : String(micros), event.quantity, attributes, partition, offset,
  ].join('\t');
}
