// DLQ record (core/event.ts, topic clickstream.dlq) -> row of the ClickHouse
// `rejected_events` table (migration 003). Never throws: whatever reached the DLQ gets a
// row, so nothing rejected is silently lost.
//
// Raw bytes cannot travel through JSONEachRow (JSON strings are Unicode), so the original
// value is stored as text when it is valid UTF-8 (`original`, exact, `original_is_utf8` = 1)
// and otherwise as base64 (`original_base64`) next to a lossy text rendering.
import { parseEventTime, type DlqRecord } from '../core/event.js';
import { utcDay } from './events-table.js';
import { wellFormed } from './sql.js';

export const REJECTED_TABLE = 'rejected_events';

/** Where the DLQ record itself was read (its position in clickstream.dlq), when known. */
export interface DlqPosition {
  partition: number;
  offset: string;
}

export interface RejectedRow {
  reason: string;
  detail: string;
  source_topic: string;
  source_partition: number;
  source_offset: string;
  record_timestamp: number;
  record_date: string;
  record_key: string | null;
  event_id: string | null;
  user_id: string | null;
  event_type: string | null;
  event_time: number | null;
  original: string;
  original_is_utf8: 0 | 1;
  original_base64: string;
  original_size: number;
  dlq_partition: number;
  dlq_offset: string;
  inserted_at: number;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const MAX_TIME_MS = Date.UTC(2105, 11, 31, 23, 59, 59, 999);

function decodeBase64(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

function asText(bytes: Uint8Array): { text: string; utf8: boolean } {
  try {
    return { text: strictUtf8.decode(bytes), utf8: true };
  } catch {
    return { text: lossyUtf8.decode(bytes), utf8: false };
  }
}

/** Best effort: identifying fields of the original event, when it was a JSON object. */
function peek(text: string): Pick<RejectedRow, 'event_id' | 'user_id' | 'event_type' | 'event_time'> {
  const none = { event_id: null, user_id: null, event_type: null, event_time: null };
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return none;
    const o = v as Record<string, unknown>;
    const s = (x: unknown): string | null => (typeof x === 'string' && x.length > 0 ? wellFormed(x.slice(0, 256)) : null);
    const t = parseEventTime(o.event_time);
    return { event_id: s(o.event_id), user_id: s(o.user_id), event_type: s(o.event_type), event_time: typeof t === 'number' ? t : null };
  } catch {
    return none;
  }
}

function clampTime(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(Math.trunc(ms), 0), MAX_TIME_MS) : 0;
}

function decimal(value: string | number): string {
  const text = String(value);
  return /^(0|[1-9][0-9]{0,18})$/.test(text) ? text : '0';
}

/** The `rejected_events` row of a DLQ record. */
export function dlqRecordToRow(record: DlqRecord, dlq: DlqPosition = { partition: 0, offset: '0' }, insertedAt: number = Date.now()): RejectedRow {
  const bytes = decodeBase64(record.original_base64);
  const { text, utf8 } = asText(bytes);
  const key = record.original_key_base64 === undefined ? null : wellFormed(lossyUtf8.decode(decodeBase64(record.original_key_base64)));
  const ts = clampTime(record.record_timestamp);
  return {
    reason: wellFormed(record.reason),
    detail: wellFormed(record.detail),
    source_topic: wellFormed(record.source_topic),
    source_partition: Math.min(Math.max(Math.trunc(record.source_partition) || 0, 0), 0xffffffff),
    source_offset: decimal(record.source_offset),
    record_timestamp: ts,
    record_date: utcDay(ts),
    record_key: key,
    ...peek(text),
    original: text,
    original_is_utf8: utf8 ? 1 : 0,
    original_base64: utf8 ? '' : record.original_base64,
    original_size: record.original_size ?? bytes.byteLength,
    dlq_partition: Math.max(Math.trunc(dlq.partition) || 0, 0),
    dlq_offset: decimal(dlq.offset),
    inserted_at: clampTime(insertedAt),
  };
}

/** The exact original bytes of a stored row. */
export function rejectedOriginalBytes(row: Pick<RejectedRow, 'original' | 'original_is_utf8' | 'original_base64'>): Uint8Array {
  return Number(row.original_is_utf8) === 1 ? new TextEncoder().encode(row.original) : decodeBase64(row.original_base64);
}
