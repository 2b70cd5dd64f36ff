// Event time in a soak run. Redis memory of a constant population only stops growing once
// the oldest tiles are evicted, that is once event time has covered the longest tile
// horizon (largest window + lateness + its tile: 7 days + 10 min + 1 h for the hourly tiles
// of the default catalog). A 30-minute run reaches that only if event time runs faster than
// the wall clock; so the stream starts event time in the past and accelerates it, and the
// whole run stays behind the wall clock (an event may not lead its record timestamp by more
// than TESSERA_MAX_FUTURE_MS).
import type { Registry } from '../core/features/registry.js';
import { DAY } from '../core/windows.js';

export interface SoakClock {
  /** event-time ms per wall ms */
  timeScale: number;
  /** event time of the first record */
  eventStartMs: number;
  /** event time after which every tile written at the start can be evicted */
  horizonMs: number;
  /** wall ms after the start at which event time has covered the horizon */
  horizonReachedAfterMs: number;
}

/** The longest a tile of any series stays in Redis in event time: tile + window span + lateness. */
export function tileHorizonMs(registry: Registry): number {
  return Math.max(...[...registry.series.values()].map((s) => s.tileMs + s.retentionMs));
}

/** Where the horizon should be covered, as a fraction of the run: inside the first third, which the verdict treats as warm-up. */
export const HORIZON_AT = 0.3;
/** How far behind the wall clock event time still is at the planned end (room for a late stop). */
export const END_MARGIN_MS = DAY;

/**
 * The clock for a run of `durationMs` starting at wall time `nowMs`: fast enough that the
 * horizon is covered after HORIZON_AT of the run (never slower than real time), or the given
 * timeScale; started far enough in the past that the run ends END_MARGIN_MS behind the wall clock.
 */
export function planSoakClock(o: { nowMs: number; durationMs: number; horizonMs: number; timeScale?: number }): SoakClock {
  const timeScale = o.timeScale ?? Math.max(1, Math.ceil(o.horizonMs / (o.durationMs * HORIZON_AT)));
  if (!(timeScale >= 1) || !Number.isFinite(timeScale)) throw new RangeError(`time scale must be >= 1, got ${timeScale}`);
  // Event time at wall offset w is eventStart + w * scale; at w = duration it must be <= now + duration - margin.
  const eventStartMs = timeScale === 1 ? o.nowMs : Math.floor(o.nowMs - (timeScale - 1) * o.durationMs - END_MARGIN_MS);
  return { timeScale, eventStartMs, horizonMs: o.horizonMs, horizonReachedAfterMs: Math.ceil(o.horizonMs / timeScale) };
}

/** Event time of the stream head at wall time `wallMs` of a run that started at `startedAtMs`. */
export function eventTimeAt(clock: SoakClock, startedAtMs: number, wallMs: number): number {
  return clock.eventStartMs + (wallMs - startedAtMs) * clock.timeScale;
}
