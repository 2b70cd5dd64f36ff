// The soak verdict: is each memory curve flat? The first third of a run is warm-up (JIT,
// connection pools, caches, Redis filling up to the tile horizon), so it is not judged. A
// series is flat when the largest value of the last third exceeds the largest value of the
// middle third by no more than its tolerance: a leak makes every later peak higher, while a
// garbage collector's sawtooth or Redis' allocator keep reaching the same peaks. Maxima
// (not means or last values) are compared so a sample taken just after a GC does not decide.
export interface FlatnessRule {
  /** relative growth allowed, e.g. 0.1 = 10 % */
  relative: number;
  /** absolute growth allowed on top (in the series' unit), for small curves */
  absolute: number;
}

export interface SeriesVerdict {
  series: string;
  start: number;
  end: number;
  max: number;
  middleMax: number;
  lastMax: number;
  /** lastMax / middleMax - 1 */
  growth: number;
  allowed: number;
  flat: boolean;
}

export interface Verdict {
  flat: boolean;
  /** not enough samples to judge */
  undecided: boolean;
  series: SeriesVerdict[];
}

const MiB = 1024 * 1024;
/** Process RSS: 10 % or 16 MiB (V8 grows its old space in steps of a few MiB). */
export const RSS_RULE: FlatnessRule = { relative: 0.1, absolute: 16 * MiB };
/** Redis bytes of the namespace's keys: 5 % or 1 MiB (tiles turn over; ziplist/listpack conversions move sizes a little). */
export const REDIS_BYTES_RULE: FlatnessRule = { relative: 0.05, absolute: MiB };
/** Keys of the namespace: 2 % or 20 keys (BullMQ keeps a few finished jobs). */
export const KEYS_RULE: FlatnessRule = { relative: 0.02, absolute: 20 };
/** At least this many samples per third before a verdict is given. */
export const MIN_PER_THIRD = 3;

export function judgeSeries(series: string, values: readonly number[], rule: FlatnessRule): SeriesVerdict | undefined {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length < 3 * MIN_PER_THIRD) return undefined;
  const third = Math.floor(v.length / 3);
  const middleMax = Math.max(...v.slice(third, 2 * third));
  const lastMax = Math.max(...v.slice(2 * third));
  const allowed = Math.max(middleMax * rule.relative, rule.absolute);
  return {
    series, start: v[0] as number, end: v[v.length - 1] as number, max: Math.max(...v), middleMax, lastMax,
    growth: middleMax === 0 ? (lastMax === 0 ? 0 : Infinity) : lastMax / middleMax - 1,
    allowed, flat: lastMax - middleMax <= allowed,
  };
}

export function judge(curves: ReadonlyArray<{ series: string; values: readonly number[]; rule: FlatnessRule }>): Verdict {
  const series: SeriesVerdict[] = [];
  let undecided = false;
  for (const c of curves) {
    const s = judgeSeries(c.series, c.values, c.rule);
    if (s === undefined) undecided = true;
    else series.push(s);
  }
  return { flat: !undecided && series.every((s) => s.flat), undecided, series };
}
