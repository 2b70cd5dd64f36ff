// Window and tile math: the one bucketing function (floorTo), the one place that picks a
// tile size per window (tileMsFor), and the window bounds of DESIGN §4. Every path (stream,
// backfill, reader) goes through these, so a boundary can only be wrong in one place.
import type { WindowSpec } from './features/definition.js';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Session and recency features use small tiles; a session tile must be strictly shorter than the gap. */
export const SMALL_TILE_MS = MINUTE;
/** How long session tiles stay online when a session window does not say (see WindowSpec). */
export const DEFAULT_SESSION_LOOKBACK_MS = DAY;

/**
 * floor_X(t): the start of the X-long bucket holding t, aligned to the Unix epoch (UTC).
 * Correct for negative t as well (buckets never straddle 0).
 */
export function floorTo(t: number, sizeMs: number): number {
  return t - (((t % sizeMs) + sizeMs) % sizeMs);
}

/**
 * Session tiles are the largest of 1m, 10s, 1s, 1ms strictly below the gap: then all events
 * of one tile are less than a gap apart, so a tile never holds two sessions, and a reader can
 * rebuild sessions from per-tile first/last times alone.
 */
export function sessionTileMs(gapMs: number): number {
  for (const size of [SMALL_TILE_MS, 10 * SECOND, SECOND]) if (size < gapMs) return size;
  return 1;
}

/** The tile size of a window (Chronon's Resolution): the granularity its bounds move by. */
export function tileMsFor(window: WindowSpec): number {
  switch (window.kind) {
    case 'sliding': return window.hopMs;
    case 'tumbling': return window.sizeMs;
    case 'hopping': return window.slideMs;
    case 'session': return sessionTileMs(window.gapMs);
    case 'recency': return SMALL_TILE_MS;
  }
}

/**
 * How far back from a query time a window can reach, in whole tiles: a tile ending at `end`
 * is still needed by a query at T while T < end + span. Retention is span + lateness.
 */
export function windowSpanMs(window: WindowSpec): number {
  switch (window.kind) {
    case 'sliding': case 'tumbling': case 'hopping': return window.sizeMs;
    case 'session': return window.lookbackMs ?? DEFAULT_SESSION_LOOKBACK_MS;
    case 'recency': return window.horizonMs;
  }
}

export type FixedWindow = Extract<WindowSpec, { kind: 'sliding' | 'tumbling' | 'hopping' }>;

/** [start, end) of a time-bounded window at query time T (DESIGN §4). start is tile aligned. */
export function fixedWindowBounds(window: FixedWindow, T: number): { start: number; end: number } {
  switch (window.kind) {
    case 'sliding':
      return { start: floorTo(T - window.sizeMs, window.hopMs), end: T };
    case 'tumbling': {
      const end = floorTo(T, window.sizeMs);
      return { start: end - window.sizeMs, end };
    }
    case 'hopping': {
      const end = floorTo(T, window.slideMs);
      return { start: end - window.sizeMs, end };
    }
  }
}

/**
 * The query times [from, until) whose window has the same tile-aligned bounds as T's:
 * start for sliding windows (their end is T itself), start and end for the others.
 */
export function fixedWindowSpan(window: FixedWindow, T: number): { from: number; until: number } {
  switch (window.kind) {
    case 'sliding': {
      const from = fixedWindowBounds(window, T).start + window.sizeMs;
      return { from, until: from + window.hopMs };
    }
    case 'tumbling': case 'hopping': {
      const from = fixedWindowBounds(window, T).end;
      return { from, until: from + (window.kind === 'tumbling' ? window.sizeMs : window.slideMs) };
    }
  }
}

/** Human form used in docs and errors, e.g. "sliding 24h, hop 5m". */
export function describeWindow(window: WindowSpec): string {
  switch (window.kind) {
    case 'sliding': return `sliding ${formatDuration(window.sizeMs)}, hop ${formatDuration(window.hopMs)}`;
    case 'tumbling': return `tumbling ${formatDuration(window.sizeMs)}`;
    case 'hopping': return `hopping ${formatDuration(window.sizeMs)}, slide ${formatDuration(window.slideMs)}`;
    case 'session': return `session, gap ${formatDuration(window.gapMs)}`;
    case 'recency': return `retention ${formatDuration(window.horizonMs)}`;
  }
}

/** "24h", "7d", "5m", "90s", "2ms": days only from 2 days on, as DESIGN writes them. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', DAY], ['h', HOUR], ['m', MINUTE], ['s', SECOND]] as const) {
    if (ms >= size && ms % size === 0 && (unit !== 'd' || ms >= 2 * DAY)) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
