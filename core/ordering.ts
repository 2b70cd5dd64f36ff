// The total orders every path sorts by (last-N, top-K, the Redis `topn` op). They are
// written down once so TypeScript, the Lua script and the ClickHouse SQL agree:
// - strings compare by Unicode code point, i.e. the byte order of their UTF-8 encoding
//   (what ClickHouse and a byte-wise Lua comparison do; JS `<` compares UTF-16 units,
//   which disagrees for characters above U+FFFF);
// - integers travel as canonical decimal strings and compare numerically.

/** Code point (= UTF-8 byte) order of two strings; negative, 0 or positive. */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (D800-DFFF) stand for code points above FFFF, so they sort after E000-FFFF.
    if (x >= 0xd800 && y >= 0xd800) return lift(x) - lift(y);
    return x - y;
  }
  return a.length - b.length;
}

function lift(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** Numeric order of two canonical decimal integer strings (any size, any sign). */
export function compareIntStrings(a: string, b: string): number {
  if (a === b) return 0;
  const an = a.startsWith('-');
  const bn = b.startsWith('-');
  if (!an && !bn) return a.length !== b.length ? a.length - b.length : (a < b ? -1 : 1);
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * One last-N entry: [time (decimal ms), event_id, user_id, value]. user_id breaks ties
 * between different users' events with equal event_id and time (item features); the
 * value makes the order total.
 */
export type RecentItem = readonly [time: string, eventId: string, userId: string, value: string];

/** Most recent first: time desc, then event_id desc, then user_id desc, then value desc. */
export function compareRecentFirst(a: RecentItem, b: RecentItem): number {
  return compareIntStrings(b[0], a[0])
    || compareCodePoints(b[1], a[1])
    || compareCodePoints(b[2], a[2])
    || compareCodePoints(b[3], a[3]);
}

/**
 * Sorts most recent first and keeps the first n. Equal entries are kept: two accepted
 * events can share every part (the same event_id accepted again once its first copy left
 * the dedup memory, with the same ingest time), and last-N counts events, as the
 * reference and the ClickHouse SQL do. Writes are never re-applied (offset markers).
 */
export function keepMostRecent(items: readonly RecentItem[], n: number): RecentItem[] {
  return [...items].sort(compareRecentFirst).slice(0, n);
}
