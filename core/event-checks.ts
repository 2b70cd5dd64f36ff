// The field rules of the event contract (DESIGN §3) that both validators of event.ts use:
// the zod schema (which explains a rejection) and the hand-written accept path in
// event-fast-path.ts (which only says "certainly valid"). A leaf module, so the two share
// one copy of every rule without an import cycle. event.ts re-exports the public names.

/** Field bounds of the schema. */
export const EVENT_BOUNDS = Object.freeze({
  idMaxLength: 128,
  optionalStringMaxLength: 256,
  eventTypePattern: /^[a-z_]{1,32}$/,
  /** 2000-01-01T00:00:00Z */
  minEventTimeMs: 946_684_800_000,
  /** 2100-01-01T00:00:00Z (exclusive) */
  maxEventTimeMs: 4_102_444_800_000,
  maxQuantity: 1_000_000,
  maxAttributes: 32,
  attributeKeyMaxLength: 64,
  attributeStringMaxLength: 1024,
});

// ---------------------------------------------------------------------------------------
// Small string checks (loops, not regexes: control characters in regexes are lint errors)

export function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

export function isWellFormedUnicode(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/** A short, safe rendering of an offending value for `detail`. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : String(JSON.stringify(value) ?? typeof value);
  } catch {
    text = typeof value;
  }
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

// ---------------------------------------------------------------------------------------
// event_time

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;

/**
 * Parses an ISO-8601 date-time with offset, or an integer epoch-ms number, into epoch ms.
 * Returns a problem description (string) when the value is not acceptable.
 */
export function parseEventTime(value: unknown): number | { problem: string } {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { problem: 'must be finite' };
    if (!Number.isSafeInteger(value)) return { problem: `epoch ms must be an integer (got ${show(value)})` };
    return inRange(value);
  }
  if (typeof value !== 'string') {
    return { problem: value === undefined ? 'is required' : 'must be an ISO-8601 string or epoch ms integer' };
  }
  const m = ISO_DATE_TIME.exec(value);
  if (!m) {
    return { problem: `must be ISO-8601 with a timezone (Z or ±HH:MM) or epoch ms (got ${show(value)})` };
  }
  const [, ys, mos, ds, hs, mis, ss, frac, zulu, sign, ohs, oms] = m;
  const year = Number(ys), month = Number(mos), day = Number(ds);
  const hour = Number(hs), minute = Number(mis), second = ss === undefined ? 0 : Number(ss);
  if (month < 1 || month > 12) return { problem: `month out of range (got ${show(value)})` };
  if (hour > 23 || minute > 59 || second > 59) return { problem: `time of day out of range (got ${show(value)})` };
  const dayMs = Date.UTC(year, month - 1, day);
  const check = new Date(dayMs);
  if (day < 1 || check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return { problem: `no such date (got ${show(value)})` };
  }
  const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  let offsetMin = 0;
  if (zulu === undefined) {
    const oh = Number(ohs), om = oms === undefined ? 0 : Number(oms);
    if (oh > 18 || om > 59) return { problem: `timezone offset out of range (got ${show(value)})` };
    offsetMin = (sign === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return inRange(dayMs + ((hour * 60 + minute - offsetMin) * 60 + second) * 1000 + ms);
}

function inRange(ms: number): number | { problem: string } {
  if (ms >= EVENT_BOUNDS.minEventTimeMs && ms < EVENT_BOUNDS.maxEventTimeMs) return ms;
  const hint = Math.abs(ms) >= 9.4e8 && Math.abs(ms) < 4.2e9 ? ' (epoch seconds instead of ms?)' : '';
  return { problem: `out of range [2000-01-01, 2100-01-01)${hint}: ${ms}` };
}

/** Attribute keys that could reach an object's prototype machinery downstream. */
export const RESERVED_ATTRIBUTE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
