// Reading features from tiles at a query time T (the online path). Picks the tiles of the
// window, merges their IRs and finalizes. It answers {exact:false} rather than a wrong
// value when tiles cannot give the exact answer at T:
// - the head tile (the one holding T) has events both before and at/after T, or
// - a tile the window needs may already have been evicted (when ctx.now is given).
// The caller then answers from ClickHouse. A tile whose events all lie before T counts
// whole; one whose events all lie at or after T is skipped; so a past T is exact whenever
// the head tile holds no event at or after T.
import { emptyTile, finalizeTile, mergeTile, type FinalizeSpec, type Tile } from './aggregators.js';
import type { TileSet } from './codec.js';
import { TimeBounds } from './time-bounds.js';
import { fixedWindowBounds, fixedWindowSpan, floorTo } from './windows.js';
import { isRatio, valueKind, valueScale, type FeatureDefinition, type FeatureValue, type TileFeature } from './features/definition.js';
import { defaultRegistry, type Registry } from './features/registry.js';
import { tileExpireAt, type Series } from './features/series.js';

export type Evaluation = { exact: true; value: FeatureValue } | { exact: false };

export interface EvaluateContext {
  /** default: defaultRegistry(); pass the one built with the configured lateness */
  registry?: Registry;
  /**
   * The store's eviction clock (event-time ms): tiles whose expiry (tile end + retention)
   * is <= now may be gone. Omit when no tile of the entity has been evicted (tests, backfill).
   * A function gives the clock per tile size (the store evicts each tile-size hash on its own).
   */
  now?: number | ((tileMs: number) => number | undefined);
}

const INEXACT: Evaluation = { exact: false };

export function finalizeSpecOf(def: TileFeature): FinalizeSpec {
  return {
    aggregation: def.aggregation,
    limit: def.limit ?? 0,
    valueKind: def.value === undefined ? null : valueKind(def.value),
    scale: def.value === undefined ? 1 : valueScale(def.value),
  };
}

/** The value of one feature at T from an entity's decoded tiles. */
export function evaluateFromTiles(def: FeatureDefinition, tiles: TileSet, T: number, ctx: EvaluateContext = {}): Evaluation {
  return evaluate(def, tiles, new TimeBounds(T), ctx, ctx.registry ?? defaultRegistry(), newMemo());
}

/**
 * Several features of one entity at T, by name. Equal to evaluateFromTiles per name, but
 * work is shared: a ratio reuses its inputs' evaluations, and the features of one series
 * that walk back from T (sessions, recency) sort its tiles once.
 */
export function evaluateMany(names: readonly string[], tiles: TileSet, T: number, ctx: EvaluateContext = {}): Record<string, Evaluation> {
  return evaluateSnapshot(names, tiles, T, ctx).valuesAt(T);
}

/**
 * evaluateMany at T, plus the query times [from, until) at which the same tiles give the
 * same evaluations: valuesAt(T') equals evaluateMany(names, tiles, T') for every T' in
 * that range (recency values, which move with T', and ratios of them are recomputed).
 * For "latest" reads the range usually runs to the next tile boundary.
 */
export interface EvaluationSnapshot {
  readonly from: number;
  readonly until: number;
  /** tiles held in sorted lists for recomputing recency (for memory accounting) */
  readonly retainedTiles: number;
  valuesAt(T: number): Record<string, Evaluation>;
}

export function evaluateSnapshot(names: readonly string[], tiles: TileSet, T: number, ctx: EvaluateContext = {}): EvaluationSnapshot {
  const registry = ctx.registry ?? defaultRegistry();
  const memo = newMemo();
  const bounds = new TimeBounds(T);
  const out: Record<string, Evaluation> = {};
  for (const name of names) out[name] = evaluate(registry.get(name), tiles, bounds, ctx, registry, memo);
  const moving = names.filter((n) => movesWithT(registry, registry.get(n)));
  // Keep only the sorted tiles recency needs again (recency series are walked from T).
  const latestFirst = new Map<string, ReadonlyArray<readonly [number, Tile]>>();
  let retainedTiles = 0;
  for (const def of registry.features) {
    if (isRatio(def) || def.aggregation !== 'recency') continue;
    const id = registry.seriesOf(def).id;
    const sorted = memo.latestFirst.get(id);
    if (sorted !== undefined && !latestFirst.has(id)) {
      latestFirst.set(id, sorted);
      retainedTiles += sorted.length;
    }
  }
  const stable = new Map([...memo.values].filter(([name]) => !movesWithT(registry, registry.get(name))));
  const { from, until } = bounds;
  return {
    from, until, retainedTiles,
    valuesAt(at: number): Record<string, Evaluation> {
      if (at === T || moving.length === 0) return out;
      // Only values that move with T are evaluated again; the window walks take the same
      // path for every time in range, and the series' sorted tiles are reused.
      const again: Memo = { values: new Map(stable), latestFirst };
      const at2 = new TimeBounds(at);
      const copy = { ...out };
      for (const name of moving) copy[name] = evaluate(registry.get(name), tiles, at2, ctx, registry, again);
      return copy;
    },
  };
}

/** Whether a feature's value at T moves with T itself (recency: T - last event; ratios of it). */
function movesWithT(registry: Registry, def: FeatureDefinition): boolean {
  if (isRatio(def)) return movesWithT(registry, registry.get(def.numerator)) || movesWithT(registry, registry.get(def.denominator));
  return def.aggregation === 'recency';
}

/** What one evaluation pass (one entity, one T) computes once and reuses. */
interface Memo {
  /** by feature name */
  values: Map<string, Evaluation>;
  /** by series id: its tiles, latest first */
  latestFirst: Map<string, ReadonlyArray<readonly [number, Tile]>>;
}

const newMemo = (): Memo => ({ values: new Map(), latestFirst: new Map() });

function evaluate(def: FeatureDefinition, tiles: TileSet, T: TimeBounds, ctx: EvaluateContext, registry: Registry, memo: Memo): Evaluation {
  const known = memo.values.get(def.name);
  if (known !== undefined) return known;
  let result: Evaluation;
  if (isRatio(def)) {
    const num = evaluate(registry.get(def.numerator), tiles, T, ctx, registry, memo);
    const den = evaluate(registry.get(def.denominator), tiles, T, ctx, registry, memo);
    if (!num.exact || !den.exact) result = INEXACT;
    else {
      const ok = typeof num.value === 'number' && typeof den.value === 'number' && den.value !== 0;
      result = { exact: true, value: ok ? (num.value as number) / (den.value as number) : null };
    }
  } else {
    const series = registry.seriesOf(def);
    const now = typeof ctx.now === 'function' ? ctx.now(series.tileMs) : ctx.now;
    const reader = new SeriesTiles(series, tiles.get(series.id) ?? new Map(), now, memo);
    const ir = reader.windowIr(def, T);
    result = ir === undefined ? INEXACT : { exact: true, value: finalizeTile(finalizeSpecOf(def), ir, T.T) };
  }
  memo.values.set(def.name, result);
  return result;
}

/** One series' tiles of one entity, with the window walks. undefined = not exact. */
class SeriesTiles {
  constructor(
    private readonly series: Series,
    private readonly tiles: ReadonlyMap<number, Tile>,
    private readonly now: number | undefined,
    private readonly memo: Memo,
  ) {}

  /** Every comparison with T goes through `T` (a TimeBounds), which records its range. */
  windowIr(def: TileFeature, T: TimeBounds): Tile | undefined {
    const w = def.window;
    switch (w.kind) {
      case 'sliding': case 'tumbling': case 'hopping': {
        const { start, end } = fixedWindowBounds(w, T.T);
        const span = fixedWindowSpan(w, T.T);
        T.within(span.from, span.until);
        // A sliding window ends at T itself; the others end on a boundary fixed within span.
        return this.range(start, w.kind === 'sliding' ? (x) => T.before(x) : (x) => x < end);
      }
      case 'session': return this.session(w.gapMs, T);
      case 'recency': return this.recency(w.horizonMs, T);
    }
  }

  /** True when the tile starting at `start`, and every later one, is surely still stored. */
  private kept(start: number): boolean {
    return this.now === undefined || tileExpireAt(this.series, start) > this.now;
  }

  /** True when every tile holding a time >= T - offset is surely still stored. */
  private keptFrom(T: TimeBounds, offset: number): boolean {
    return this.kept(T.floor(offset, this.series.tileMs));
  }

  /** Events in [start, end), `beforeEnd(x)` being x < end: start is tile aligned; end may cut the head tile. */
  private range(start: number, beforeEnd: (x: number) => boolean): Tile | undefined {
    if (!this.kept(start)) return undefined;
    const acc = emptyTile(this.series.ir);
    for (const [tileStart, tile] of this.tiles) {
      if (tileStart < start || !beforeEnd(tileStart)) continue;
      if (beforeEnd(tile.hi)) this.merge(acc, tile);
      else if (beforeEnd(tile.lo)) return undefined; // head tile straddles the end
    }
    return acc;
  }

  /** Tiles starting before T, latest first, from the latest holding an event before T. */
  private latestBefore(T: TimeBounds): ReadonlyArray<readonly [number, Tile]> | undefined {
    let all = this.memo.latestFirst.get(this.series.id);
    if (all === undefined) this.memo.latestFirst.set(this.series.id, (all = [...this.tiles].sort((a, b) => b[0] - a[0])));
    let first = 0;
    while (first < all.length && !T.before((all[first] as readonly [number, Tile])[0])) first++;
    const head = all[first];
    if (head !== undefined && !T.before(head[1].hi)) {
      if (T.before(head[1].lo)) return undefined; // straddles T
      first++; // wholly at or after T
    }
    return all.slice(first);
  }

  /**
   * The active session: walk back from the last tile before T while the gap between one
   * tile's first event and the previous tile's last event is below the gap. Tiles are
   * shorter than the gap, so one tile never holds two sessions.
   */
  private session(gapMs: number, T: TimeBounds): Tile | undefined {
    const sorted = this.latestBefore(T);
    if (sorted === undefined) return undefined;
    const acc = emptyTile(this.series.ir);
    const first = sorted[0];
    // T - hi >= gap  <=>  hi + gap - 1 < T; and the tiles from T - gap + 1 on must be kept.
    if (first === undefined || T.before(first[1].hi + gapMs - 1)) return this.keptFrom(T, gapMs - 1) ? acc : undefined;
    let earliest = first[1];
    this.merge(acc, earliest);
    for (const [, tile] of sorted.slice(1)) {
      if (earliest.lo - tile.hi >= gapMs) break;
      this.merge(acc, tile);
      earliest = tile;
    }
    // A tile that could hold an earlier event of this session must still be stored.
    return this.kept(floorTo(earliest.lo - gapMs + 1, this.series.tileMs)) ? acc : undefined;
  }

  /** The tile holding the last event before T, if that event is in [T - horizon, T). */
  private recency(horizonMs: number, T: TimeBounds): Tile | undefined {
    const sorted = this.latestBefore(T);
    if (sorted === undefined) return undefined;
    const acc = emptyTile(this.series.ir);
    const first = sorted[0];
    // No event in [T - horizon, T) (hi < T - horizon <=> hi + horizon < T): exact when
    // every tile that could hold one is stored.
    if (first === undefined || T.before(first[1].hi + horizonMs)) return this.keptFrom(T, horizonMs) ? acc : undefined;
    if (!this.kept(first[0])) return undefined; // a later tile could have been evicted
    this.merge(acc, first[1]);
    return acc;
  }

  private merge(acc: Tile, tile: Tile): void {
    mergeTile(this.series.ir, this.series.limit, acc, tile);
  }
}
