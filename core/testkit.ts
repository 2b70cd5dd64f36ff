// Test support for core's property tests (no production code imports this): generators of
// small, adversarial click streams and the tiled pipeline exactly as the stream worker and
// the Redis script run it (acceptance state round-tripped through its string form between
// batches, pre-aggregation, applyOps, decode, evaluateFromTiles), checked against the
// brute-force reference.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ClickEvent } from './event.js';
import { admitBatch, parseAcceptanceState, serializeAcceptanceState } from './acceptance.js';
import { applyOps } from './ops.js';
import { decodeHash, parseField, type TileSet } from './codec.js';
import { preaggregate } from './preaggregate.js';
import { evaluateFromTiles } from './evaluate.js';
import { referenceAccept, referenceInScope, referenceTime, referenceValue } from './reference.js';
import { floorTo } from './windows.js';
import { tileExpireAt } from './features/series.js';
import { createRegistry, type Registry } from './features/registry.js';
import { isRatio, outputType, type Entity, type FeatureDefinition, type TileAggregation, type TileFeature, type WindowSpec } from './features/definition.js';

/** Midnight UTC: aligned to every tile size the tests use. */
export const BASE = Date.UTC(2024, 0, 1);
export const USERS = ['u1', 'u2', 'u3'];
export const ITEMS = ['i1', 'i2', 'i3'];
// Code points that sort differently in UTF-16 and UTF-8 ('ｚ' is U+FF5A, '😀' a surrogate pair).
const STRINGS = ['a', 'b', 'ü', 'ｚ', '😀'];

/** A feature for tests: description defaults to the name. */
export function feature(name: string, entity: Entity, aggregation: TileAggregation, window: WindowSpec,
  extra: Partial<Omit<TileFeature, 'name' | 'entity' | 'aggregation' | 'window'>> = {}): TileFeature {
  return { name, entity, description: name, aggregation, window, ...extra };
}

export interface StreamShape {
  /** spacing of the time grid events snap to (usually the smallest tile) */
  unit: number;
  /** event times spread over [BASE, BASE + spanUnits * unit] */
  spanUnits: number;
  /** distances (gaps, window sizes) at which events and queries are placed from others */
  deltas: number[];
  maxEvents?: number;
}

const rawEvent = (shape: StreamShape) => fc.record({
  at: fc.oneof(
    fc.tuple(fc.constant(0), fc.integer({ min: 0, max: shape.spanUnits }), fc.oneof(fc.constantFrom(0, 1, -1), fc.integer({ min: 0, max: shape.unit - 1 }))),
    fc.tuple(fc.constant(1), fc.nat(), fc.constantFrom(...shape.deltas.flatMap((d) => [d - 1, d, d + 1, -d + 1, -d]))),
  ),
  user: fc.constantFrom('u1', 'u1', 'u2', 'u3'),
  type: fc.constantFrom('view', 'view', 'add_to_cart', 'purchase', 'click'),
  item: fc.option(fc.constantFrom('i1', 'i1', 'i2', 'i3'), { freq: 4 }),
  category: fc.option(fc.constantFrom(...STRINGS), { freq: 3 }),
  price: fc.option(fc.oneof(fc.constantFrom(0, 0.1, 0.2, 1.005, 2.675, 19.99, 5e-7, 1.5e-6), fc.double({ min: 0, max: 1000, noNaN: true })), { freq: 3 }),
  quantity: fc.integer({ min: 1, max: 3 }),
  id: fc.constantFrom('e1', 'e2', 'e3', 'e4', 'e5', 'e6', ...STRINGS),
  copyOf: fc.oneof({ arbitrary: fc.constant(null), weight: 6 }, { arbitrary: fc.nat(), weight: 1 }),
  ingestStep: fc.oneof(fc.constantFrom(0, 1, shape.unit), fc.integer({ min: 0, max: 3 * shape.unit })),
});

/** Click streams in arrival order: out of order, late, duplicated, clustered on boundaries. */
export function arbStream(shape: StreamShape): fc.Arbitrary<ClickEvent[]> {
  return fc.record({
    raws: fc.array(rawEvent(shape), { minLength: 1, maxLength: shape.maxEvents ?? 40, size: 'medium' }),
    sorted: fc.constantFrom(true, true, false),
    swaps: fc.array(fc.nat(), { maxLength: 6 }),
    ingestStart: fc.integer({ min: -shape.spanUnits * shape.unit, max: shape.spanUnits * shape.unit }),
  }).map(({ raws, sorted, swaps, ingestStart }) => {
    const events: ClickEvent[] = [];
    for (const [i, r] of raws.entries()) {
      const original = r.copyOf === null || i === 0 ? undefined : events[r.copyOf % i];
      if (original !== undefined) { events.push({ ...original }); continue; } // redelivered copy
      const mode = r.at[0];
      const a = r.at[1];
      const b = r.at[2];
      const anchor = i === 0 ? BASE : (events[a % i] as ClickEvent).event_time;
      const event_time = mode === 0 ? BASE + a * shape.unit + b : anchor + b;
      const e: ClickEvent = { event_id: r.id, user_id: r.user, event_type: r.type, event_time, ingest_time: 0, quantity: r.quantity };
      if (r.item !== null) e.item_id = r.item;
      if (r.category !== null) e.category = r.category;
      if (r.price !== null) e.price = r.price;
      events.push(e);
    }
    if (sorted) {
      events.sort((x, y) => x.event_time - y.event_time);
      for (const s of swaps) {
        const j = s % Math.max(1, events.length - 1);
        if (j + 1 < events.length) [events[j], events[j + 1]] = [events[j + 1] as ClickEvent, events[j] as ClickEvent];
      }
    }
    let ingest = BASE + ingestStart; // Kafka timestamps grow in arrival order
    for (const [i, e] of events.entries()) e.ingest_time = ingest += raws[i]?.ingestStep ?? 0;
    return events;
  });
}

/** Query-time recipes, resolved against a stream by resolveQueries. */
export const arbQuerySpecs = fc.array(fc.tuple(fc.nat(3), fc.nat(), fc.nat(), fc.constantFrom(-1, 0, 1)), { minLength: 1, maxLength: 6 });

/** Query times on events, on event + window/gap, on tile boundaries (+-1 ms), or anywhere. */
export function resolveQueries(specs: ReadonlyArray<readonly [number, number, number, number]>, events: readonly ClickEvent[], shape: StreamShape): number[] {
  const extras = [0, ...shape.deltas];
  const reach = shape.spanUnits * shape.unit + Math.max(0, ...shape.deltas);
  return specs.map(([mode, a, b, fudge]) => {
    const e = events[a % Math.max(1, events.length)];
    if (mode <= 1 && e !== undefined) return (b % 2 === 0 ? e.event_time : e.ingest_time) + (extras[b % extras.length] ?? 0) + fudge;
    if (mode === 2) return BASE + (a % (Math.ceil(reach / shape.unit) + 2)) * shape.unit + fudge;
    return BASE - shape.unit + (a % (reach + 2 * shape.unit));
  });
}

export function hashKey(entity: Entity, id: string, tileMs: number): string {
  return JSON.stringify([entity, id, tileMs]);
}

/** The stream worker + Redis, in memory: one batch per split, acceptance state stored as a string. */
export function runPipeline(registry: Registry, arrivals: readonly ClickEvent[], cuts: readonly number[] = []) {
  const stored = new Map<string, string>();
  const hashes = new Map<string, Record<string, string>>();
  const accepted: ClickEvent[] = [];
  const bounds = [...new Set([0, ...cuts.map((c) => c % (arrivals.length + 1)), arrivals.length])].sort((a, b) => a - b);
  for (let i = 0; i + 1 < bounds.length; i++) {
    const batch = arrivals.slice(bounds[i], bounds[i + 1]);
    const states = new Map([...stored].map(([user, text]) => [user, parseAcceptanceState(text)]));
    const verdicts = admitBatch(states, batch, registry.latenessMs);
    for (const [user, state] of states) stored.set(user, serializeAcceptanceState(state));
    accepted.push(...verdicts.accepted);
    for (const write of preaggregate(verdicts.accepted, registry)) {
      const key = hashKey(write.entity, write.entityId, write.tileMs);
      hashes.set(key, applyOps(hashes.get(key) ?? {}, write.ops));
    }
  }
  return { accepted, hashes };
}

/**
 * Drops tiles that expired at `now`, as the store's eviction may: lazily, so some expired
 * tiles linger (seeded by `lazy`) and readers can rely neither on their absence nor presence.
 */
export function evict(registry: Registry, hashes: ReadonlyMap<string, Record<string, string>>, now: number, lazy = 0): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const [key, hash] of hashes) {
    const kept: Record<string, string> = {};
    for (const [field, value] of Object.entries(hash)) {
      const parsed = parseField(field);
      const series = parsed && registry.series.get(parsed.seriesId);
      if (!parsed || !series) continue;
      const expired = tileExpireAt(series, parsed.tileIndex * series.tileMs) <= now;
      const lingers = lazy > 0 && (parsed.tileIndex * 31 + parsed.seriesId.charCodeAt(0) + lazy) % 3 === 0;
      if (!expired || lingers) kept[field] = value;
    }
    out.set(key, kept);
  }
  return out;
}

export function tileSetOf(registry: Registry, hashes: ReadonlyMap<string, Record<string, string>>, entity: Entity, id: string): TileSet {
  const tiles: TileSet = new Map();
  for (const tileMs of registry.tileSizes(entity)) decodeHash(hashes.get(hashKey(entity, id, tileMs)) ?? {}, tileMs, tiles);
  return tiles;
}

/** The promise: exact whenever no accepted event of the feature lies at or after T in the head tile. */
function mustBeExact(registry: Registry, def: FeatureDefinition, accepted: readonly ClickEvent[], entity: Entity, id: string, T: number, now?: number): boolean {
  if (isRatio(def)) {
    return [def.numerator, def.denominator].every((n) => mustBeExact(registry, registry.get(n), accepted, entity, id, T, now));
  }
  const { tileMs } = registry.seriesOf(def);
  const headEnd = floorTo(T, tileMs) + tileMs;
  const busy = accepted.some((e) => referenceInScope(def, e, entity, id) && referenceTime(def, e) >= T && referenceTime(def, e) < headEnd);
  if (busy) return false;
  // With eviction, only queries within the lateness of `now` are promised (sessions may outlive lookback).
  return now === undefined || (def.window.kind !== 'session' && T >= now - registry.latenessMs);
}

export interface Stats { exact: number; inexact: number; nonEmpty: number; nonEmptyByFeature: Record<string, number> }
export const newStats = (): Stats => ({ exact: 0, inexact: 0, nonEmpty: 0, nonEmptyByFeature: {} });

/** Guards against vacuous properties: most answers exact, a fair share of them non-empty. */
export function assertMeaningful(stats: Stats, features: readonly FeatureDefinition[], minExact = 0.8): void {
  const total = stats.exact + stats.inexact;
  assert.ok(stats.exact >= minExact * total, `too few exact answers: ${stats.exact} of ${total}`);
  for (const def of features) {
    const n = stats.nonEmptyByFeature[def.name] ?? 0;
    assert.ok(n >= 50, `${def.name}: only ${n} exact non-empty answers were compared: ${JSON.stringify(stats.nonEmptyByFeature)}`);
  }
}

export interface Case {
  features: readonly FeatureDefinition[];
  latenessMs: number;
  arrivals: ClickEvent[];
  cuts?: number[];
  queries: number[];
  /** simulate eviction at this event time */
  now?: number;
  /** > 0: some expired tiles linger (see evict) */
  lazy?: number;
}

/** Tiled == reference wherever tiled claims exactness, and exact wherever promised. */
export function checkCase(c: Case, stats: Stats = newStats()): void {
  const registry = createRegistry({ features: c.features, latenessMs: c.latenessMs });
  const accepted = referenceAccept(c.arrivals, c.latenessMs);
  const run = runPipeline(registry, c.arrivals, c.cuts);
  assert.deepStrictEqual(run.accepted, accepted, 'acceptance state machine disagrees with the reference');
  const hashes = c.now === undefined ? run.hashes : evict(registry, run.hashes, c.now, c.lazy);
  for (const [entity, ids] of [['user', USERS], ['item', ITEMS]] as const) {
    for (const id of ids) {
      const tiles = tileSetOf(registry, hashes, entity, id);
      for (const def of registry.forEntity(entity)) {
        for (const T of c.queries) {
          const got = evaluateFromTiles(def, tiles, T, { registry, now: c.now });
          const want = referenceValue(registry.features, accepted, entity, id, def.name, T);
          if (got.exact) {
            stats.exact++;
            if (outputType(def).nullable ? want !== null : want !== 0 && !(Array.isArray(want) && want.length === 0)) {
              stats.nonEmpty++;
              stats.nonEmptyByFeature[def.name] = (stats.nonEmptyByFeature[def.name] ?? 0) + 1;
            }
            assert.deepStrictEqual(got.value, want, `${def.name}(${entity} ${id}) at T=${T}`);
          } else {
            stats.inexact++;
            assert.ok(!mustBeExact(registry, def, accepted, entity, id, T, c.now), `${def.name}(${entity} ${id}) at T=${T} should be exact`);
          }
        }
      }
    }
  }
}

/** Every window-kind property uses this: a random stream, lateness, batch cuts and query times. */
export function arbCase(shape: StreamShape, latenessChoices: number[]) {
  return fc.record({
    arrivals: arbStream(shape),
    latenessMs: fc.constantFrom(...latenessChoices),
    cuts: fc.array(fc.nat(), { maxLength: 4 }),
    specs: arbQuerySpecs,
  }).map(({ arrivals, latenessMs, cuts, specs }) => ({ arrivals, latenessMs, cuts, queries: resolveQueries(specs, arrivals, shape) }));
}

export const RUNS = { numRuns: 1000, includeErrorInReport: true };
