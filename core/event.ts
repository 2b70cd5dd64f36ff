// The event contract (DESIGN §3): the typed shape of an accepted clickstream event.
// Wire JSON uses the same snake_case names; event_time is normalised to epoch ms.
//
// Pure: no I/O. `decodeEvent` turns the raw bytes of one Kafka record into either a
// ClickEvent or a machine-readable RejectReason, and never throws, whatever the input.
//
// Decisions, pinned by core/event.test.ts:
// - Lengths count UTF-16 code units (JavaScript `.length`); but zod 4's `.max()` on the
//   schema's strings counts code points (see event-fast-path.ts), so ids and optional
//   strings of astral characters get up to twice the units. Attribute keys count units.
// - Identifier-like strings (event_id, user_id, session_id, item_id, category, brand,
//   attribute keys) must not contain control characters (C0, DEL, C1) and must be
//   well-formed Unicode (no lone surrogates); such events are rejected, not cleaned,
//   so one id never has two spellings. Whitespace is kept as is (no trimming).
// - Attribute string values may hold any well-formed text (newlines included).
// - `null` on an optional field means "absent"; an empty string is a schema error.
// - Unknown top-level fields are ignored (tolerant reader, for schema evolution).
// - event_time: an ISO-8601 date-time with seconds optional, `T`/`t`/space separator,
//   and a mandatory `Z` or numeric offset (a local time without offset is ambiguous
//   and rejected), or an integer epoch-ms number. Either must fall in
//   [2000-01-01, 2100-01-01) UTC, which also catches epoch seconds sent as ms.
// - `ingest_time` comes from the Kafka record timestamp, never from the payload.
// - Attribute keys `__proto__`, `constructor` and `prototype` are rejected.
// - Validation: a hand-written accept path (event-fast-path.ts) answers for valid events;
//   the zod schema below runs only when it cannot, and words every rejection.
import { valueLimitProblem } from './sample.js';
import { z } from 'zod';
import { EVENT_BOUNDS, hasControlChar, isWellFormedUnicode, parseEventTime, RESERVED_ATTRIBUTE_KEYS, show } from './event-checks.js';
import { fastValidateEvent, type ValidatedEvent } from './event-fast-path.js';

export { EVENT_BOUNDS, parseEventTime } from './event-checks.js';

export const KNOWN_EVENT_TYPES = ['view', 'click', 'add_to_cart', 'remove_from_cart', 'purchase', 'favorite', 'search'] as const;
export type KnownEventType = (typeof KNOWN_EVENT_TYPES)[number];

export type AttributeValue = string | number | boolean | null;

export interface ClickEvent {
  event_id: string;
  user_id: string;
  /** lowercase [a-z_]{1,32}; usually one of KNOWN_EVENT_TYPES */
  event_type: string;
  /** epoch milliseconds, UTC */
  event_time: number;
  /** the Kafka record timestamp (epoch ms): "ingestion time" */
  ingest_time: number;
  session_id?: string;
  item_id?: string;
  category?: string;
  brand?: string;
  /** finite, >= 0 */
  price?: number;
  /** integer >= 1 (default 1) */
  quantity: number;
  attributes?: Record<string, AttributeValue>;
}

/** Every reason an event can be rejected with: the one vocabulary of the DLQ. */
export const REJECT_REASONS = [
  'empty', // null value (tombstone), zero bytes, or only whitespace
  'too_large', // more than limits.maxBytes bytes
  'bad_encoding', // not valid UTF-8 (or a string with lone surrogates)
  'bad_json', // not parseable JSON
  'not_object', // JSON, but not an object (array, string, number, ...)
  'schema', // an object that breaks the schema; detail names the field
  'future_time', // event_time more than limits.maxFutureMs after the record timestamp
  'late', // decided by the lateness stage (streams/), not by decodeEvent
  'duplicate', // decided by the dedup stage (streams/), not by decodeEvent
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** The reasons decodeEvent itself can return (all but 'late' and 'duplicate'). */
export const DECODE_REJECT_REASONS = REJECT_REASONS.filter((r) => r !== 'late' && r !== 'duplicate');

export function isRejectReason(value: unknown): value is RejectReason {
  return typeof value === 'string' && (REJECT_REASONS as readonly string[]).includes(value);
}

export interface EventLimits {
  /** largest accepted record value in bytes (DESIGN: 64 KiB) */
  maxBytes: number;
  /** how far event_time may lie after the record timestamp (DESIGN: 5 minutes) */
  maxFutureMs: number;
}

export const DEFAULT_EVENT_LIMITS: Readonly<EventLimits> = Object.freeze({ maxBytes: 64 * 1024, maxFutureMs: 5 * 60_000 });

export type DecodeResult = { ok: true; event: ClickEvent } | { ok: false; reason: RejectReason; detail: string };

// ---------------------------------------------------------------------------------------
// Small string checks (the rest are in event-checks.ts)

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0xfeff) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Schema (zod)

function typeError(expected: string) {
  return (issue: { input?: unknown }) => {
    if (issue.input === undefined) return 'is required';
    // zod's number type refuses NaN and ±Infinity (JSON gives Infinity for 1e400)
    if (typeof issue.input === 'number' && expected !== 'a string') return 'must be finite';
    return `must be ${expected}`;
  };
}

function text(min: number, max: number, opts: { controlChars: boolean }) {
  return z
    .string({ error: typeError('a string') })
    .min(min, min === 1 ? 'must not be empty' : `must be at least ${min} characters`)
    .max(max, `must be at most ${max} characters`)
    .refine((s) => opts.controlChars || !hasControlChar(s), 'must not contain control characters')
    .refine(isWellFormedUnicode, 'must be well-formed Unicode (lone surrogate)');
}

const idString = text(1, EVENT_BOUNDS.idMaxLength, { controlChars: false });
const optionalString = text(1, EVENT_BOUNDS.optionalStringMaxLength, { controlChars: false }).nullish();

const attributeValue = z.union([
  z.string().max(EVENT_BOUNDS.attributeStringMaxLength).refine(isWellFormedUnicode),
  z.number().refine(Number.isFinite),
  z.boolean(),
  z.null(),
]);

function attributesProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be a flat object';
  const keys = Object.keys(value);
  if (keys.length > EVENT_BOUNDS.maxAttributes) return `at most ${EVENT_BOUNDS.maxAttributes} keys (got ${keys.length})`;
  for (const key of keys) {
    if (key.length === 0 || key.length > EVENT_BOUNDS.attributeKeyMaxLength) {
      return `key ${show(key)} must be 1..${EVENT_BOUNDS.attributeKeyMaxLength} characters`;
    }
    if (hasControlChar(key) || !isWellFormedUnicode(key)) return `key ${show(key)} has control characters or bad Unicode`;
    if (RESERVED_ATTRIBUTE_KEYS.has(key)) return `key ${show(key)} is reserved`;
    const v = (value as Record<string, unknown>)[key];
    if (!attributeValue.safeParse(v).success) {
      return `${key}: must be a string (<= ${EVENT_BOUNDS.attributeStringMaxLength} chars), finite number, boolean or null`;
    }
  }
  return null;
}

const eventSchema = z.object({
  event_id: idString,
  user_id: idString,
  event_type: z
    .string({ error: typeError('a string') })
    .regex(EVENT_BOUNDS.eventTypePattern, 'must match [a-z_]{1,32}'),
  event_time: z.unknown().transform((value, ctx) => {
    const t = parseEventTime(value);
    if (typeof t === 'number') return t;
    ctx.addIssue({ code: 'custom', message: t.problem });
    return z.NEVER;
  }),
  session_id: optionalString,
  item_id: optionalString,
  category: optionalString,
  brand: optionalString,
  price: z
    .number({ error: typeError('a number') })
    .refine(Number.isFinite, 'must be finite')
    .refine((p) => p >= 0, 'must be >= 0')
    .nullish(),
  quantity: z
    .number({ error: typeError('an integer') })
    .int('must be an integer')
    .min(1, 'must be >= 1')
    .max(EVENT_BOUNDS.maxQuantity, `must be <= ${EVENT_BOUNDS.maxQuantity}`)
    .nullish(),
  attributes: z
    .unknown()
    .superRefine((value, ctx) => {
      if (value === undefined || value === null) return;
      const problem = attributesProblem(value);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
});

/** Validates an already-parsed JSON value against the schema (no size or encoding checks). */
export function validateEventObject(value: unknown, recordTimestampMs: number, limits: EventLimits = DEFAULT_EVENT_LIMITS): DecodeResult {
  return validate(value, recordTimestampMs, limits, true);
}

/**
 * @internal validateEventObject with the zod schema only, never the fast path: the
 * equivalence test (event-fast-path.test.ts) and the bench's same-run baseline use it.
 */
export function validateEventObjectSchemaOnly(value: unknown, recordTimestampMs: number, limits: EventLimits = DEFAULT_EVENT_LIMITS): DecodeResult {
  return validate(value, recordTimestampMs, limits, false);
}

function validate(value: unknown, recordTimestampMs: number, limits: EventLimits, fast: boolean): DecodeResult {
  try {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, reason: 'not_object', detail: `expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}` };
    }
    let d: ValidatedEvent | undefined = fast ? fastValidateEvent(value) : undefined;
    if (d === undefined) {
      const parsed = eventSchema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'event';
        return { ok: false, reason: 'schema', detail: `${field}: ${issue?.message ?? 'invalid'}` };
      }
      d = parsed.data;
    }
    const ingest = Number.isFinite(recordTimestampMs) ? Math.trunc(recordTimestampMs) : 0;
    if (Number.isFinite(recordTimestampMs) && d.event_time > recordTimestampMs + limits.maxFutureMs) {
      return {
        ok: false,
        reason: 'future_time',
        detail: `event_time ${new Date(d.event_time).toISOString()} is ${d.event_time - ingest} ms after the record timestamp (max ${limits.maxFutureMs})`,
      };
    }
    const event: ClickEvent = {
      event_id: d.event_id,
      user_id: d.user_id,
      event_type: d.event_type,
      event_time: d.event_time,
      ingest_time: ingest,
      quantity: d.quantity ?? 1,
    };
    if (d.session_id != null) event.session_id = d.session_id;
    if (d.item_id != null) event.item_id = d.item_id;
    if (d.category != null) event.category = d.category;
    if (d.brand != null) event.brand = d.brand;
    if (d.price != null) event.price = d.price + 0; // -0 -> 0: JSON cannot tell them apart
    if (d.attributes != null) event.attributes = copyAttributes(d.attributes as Record<string, AttributeValue>);
    // Sums are exact integer micro-units (core/sample.ts); a value beyond 2^53 of them cannot be.
    const tooBig = valueLimitProblem(event);
    if (tooBig !== undefined) return { ok: false, reason: 'schema', detail: tooBig };
    return { ok: true, event };
  } catch (error) {
    // Defensive: the schema above should never throw; if it does, the input is still rejected.
    return { ok: false, reason: 'schema', detail: `event: unexpected validation error (${error instanceof Error ? error.message : 'unknown'})` };
  }
}

function copyAttributes(source: Record<string, AttributeValue>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const key of Object.keys(source)) {
    const v = source[key] ?? null;
    out[key] = typeof v === 'number' ? v + 0 : v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Bytes -> event

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** UTF-8 size of a string, without allocating when the answer is obvious. */
function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Decodes the value of one Kafka record. `recordTimestampMs` is the record timestamp
 * (it becomes `ingest_time` and anchors the future check). Never throws.
 */
export function decodeEvent(
  value: Uint8Array | string | null | undefined,
  recordTimestampMs: number,
  limits: EventLimits = DEFAULT_EVENT_LIMITS,
): DecodeResult {
  return decode(value, recordTimestampMs, limits, true);
}

/** @internal decodeEvent with the zod schema only (see validateEventObjectSchemaOnly). */
export function decodeEventSchemaOnly(value: Uint8Array | string | null | undefined, recordTimestampMs: number, limits: EventLimits = DEFAULT_EVENT_LIMITS): DecodeResult {
  return decode(value, recordTimestampMs, limits, false);
}

function decode(value: Uint8Array | string | null | undefined, recordTimestampMs: number, limits: EventLimits, fast: boolean): DecodeResult {
  try {
    if (value === null || value === undefined) return { ok: false, reason: 'empty', detail: 'record value is null (tombstone)' };
    let textValue: string;
    if (typeof value === 'string') {
      if (value.length > limits.maxBytes || utf8Length(value) > limits.maxBytes) {
        return { ok: false, reason: 'too_large', detail: `value is ${utf8Length(value)} bytes (max ${limits.maxBytes})` };
      }
      if (!isWellFormedUnicode(value)) return { ok: false, reason: 'bad_encoding', detail: 'value has lone UTF-16 surrogates' };
      textValue = value;
    } else if (value instanceof Uint8Array) {
      if (value.byteLength > limits.maxBytes) {
        return { ok: false, reason: 'too_large', detail: `value is ${value.byteLength} bytes (max ${limits.maxBytes})` };
      }
      try {
        textValue = utf8.decode(value);
      } catch {
        return { ok: false, reason: 'bad_encoding', detail: 'value is not valid UTF-8' };
      }
    } else {
      return { ok: false, reason: 'bad_encoding', detail: `value must be bytes or a string, got ${typeof value}` };
    }
    if (textValue.length === 0 || isBlank(textValue)) {
      return { ok: false, reason: 'empty', detail: textValue.length === 0 ? 'record value has zero bytes' : 'record value is only whitespace' };
    }
    let json: unknown;
    try {
      json = JSON.parse(textValue);
    } catch (error) {
      const message = error instanceof Error ? error.message : 'invalid JSON';
      return { ok: false, reason: 'bad_json', detail: message.length > 120 ? `${message.slice(0, 120)}…` : message };
    }
    return validate(json, recordTimestampMs, limits, fast);
  } catch (error) {
    return { ok: false, reason: 'bad_json', detail: `unexpected decoder error (${error instanceof Error ? error.message : 'unknown'})` };
  }
}

// ---------------------------------------------------------------------------------------
// Event -> bytes

/** The JSON object put on the wire: the ClickEvent without ingest_time (that is the record timestamp). */
export type WireEvent = Omit<ClickEvent, 'ingest_time'>;

export function toWireEvent(event: ClickEvent): WireEvent {
  const wire: WireEvent = {
    event_id: event.event_id,
    user_id: event.user_id,
    event_type: event.event_type,
    event_time: event.event_time,
    quantity: event.quantity,
  };
  if (event.session_id !== undefined) wire.session_id = event.session_id;
  if (event.item_id !== undefined) wire.item_id = event.item_id;
  if (event.category !== undefined) wire.category = event.category;
  if (event.brand !== undefined) wire.brand = event.brand;
  if (event.price !== undefined) wire.price = event.price;
  if (event.attributes !== undefined) wire.attributes = event.attributes;
  return wire;
}

/** Snake_case JSON with event_time as epoch ms; decodeEvent(encodeEvent(e), e.ingest_time) gives e back. */
export function encodeEvent(event: ClickEvent): string {
  return JSON.stringify(toWireEvent(event));
}

// ---------------------------------------------------------------------------------------
// Dead-letter records (topic clickstream.dlq)

export interface DlqRecord {
  reason: RejectReason;
  detail: string;
  source_topic: string;
  source_partition: number;
  /** Kafka offsets are int64: kept as a decimal string */
  source_offset: string;
  /** epoch ms of the source record */
  record_timestamp: number;
  /** the original value bytes, base64 ('' for a null value) */
  original_base64: string;
  /** the original key bytes, base64, when the record had a key */
  original_key_base64?: string;
  /** set when original_base64 holds only the first DLQ_MAX_ORIGINAL_BYTES: the original's size */
  original_size?: number;
}

/**
 * Most original bytes a DLQ record carries. A DLQ record must fit the broker's message
 * size (1 MB by default) after base64 (4/3) and JSON, or the DLQ write fails forever and
 * wedges the partition; larger originals keep their first 256 KiB and their size.
 */
export const DLQ_MAX_ORIGINAL_BYTES = 256 * 1024;

export interface DlqSource {
  topic: string;
  partition: number;
  offset: string;
  timestamp: number;
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
}

function bytesOf(value: Uint8Array | string): Uint8Array {
  return typeof value === 'string' ? utf8Encoder.encode(value) : value;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function makeDlqRecord(reason: RejectReason, detail: string, source: DlqSource): DlqRecord {
  const record: DlqRecord = {
    reason,
    detail: detail.length > 500 ? `${detail.slice(0, 500)}…` : detail,
    source_topic: source.topic,
    source_partition: source.partition,
    source_offset: source.offset,
    record_timestamp: source.timestamp,
    original_base64: '',
  };
  if (source.value !== null) {
    const bytes = bytesOf(source.value);
    record.original_base64 = toBase64(bytes.subarray(0, DLQ_MAX_ORIGINAL_BYTES));
    if (bytes.byteLength > DLQ_MAX_ORIGINAL_BYTES) record.original_size = bytes.byteLength;
  }
  if (source.key !== undefined && source.key !== null) record.original_key_base64 = toBase64(bytesOf(source.key).subarray(0, 4096));
  return record;
}

const dlqSchema = z.object({
  reason: z.enum(REJECT_REASONS),
  detail: z.string(),
  source_topic: z.string().min(1),
  source_partition: z.number().int().min(0),
  source_offset: z.string().regex(/^\d{1,19}$/),
  record_timestamp: z.number().int(),
  original_base64: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
  original_key_base64: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/).optional(),
  original_size: z.number().int().min(0).optional(),
});

export function encodeDlqRecord(record: DlqRecord): string {
  return JSON.stringify(record);
}

/** Parses a DLQ record value; null when it is not one. Never throws. */
export function decodeDlqRecord(value: Uint8Array | string | null): DlqRecord | null {
  try {
    if (value === null) return null;
    const textValue = typeof value === 'string' ? value : utf8.decode(value);
    const parsed = dlqSchema.safeParse(JSON.parse(textValue));
    if (!parsed.success) return null;
    const d = parsed.data;
    const record: DlqRecord = {
      reason: d.reason,
      detail: d.detail,
      source_topic: d.source_topic,
      source_partition: d.source_partition,
      source_offset: d.source_offset,
      record_timestamp: d.record_timestamp,
      original_base64: d.original_base64,
    };
    if (d.original_key_base64 !== undefined) record.original_key_base64 = d.original_key_base64;
    if (d.original_size !== undefined) record.original_size = d.original_size;
    return record;
  } catch {
    return null;
  }
}

/** The original value bytes of a DLQ record. */
export function dlqOriginalBytes(record: DlqRecord): Uint8Array {
  return new Uint8Array(Buffer.from(record.original_base64, 'base64'));
}
