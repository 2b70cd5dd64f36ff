// Test support: random (entity, feature, T) probes of the online store against the
// brute-force reference evaluator (core/reference.ts). T is drawn around the data and, a
// third of the time, exactly on a tile or window boundary (and one ms either side).
import assert from 'node:assert/strict';
import type { ClickEvent } from '../core/event.js';
import { isRatio, type Entity, type FeatureDefinition, type FeatureValue } from '../core/features/definition.js';
import type { Registry } from '../core/features/registry.js';
import { referenceValue } from '../core/reference.js';
import { floorTo } from '../core/windows.js';
import { Rng } from '../fixtures/random.js';
import type { FeatureReader } from './reader.js';

export interface Probe {
  entity: Entity;
  id: string;
  name: string;
  T: number;
}

function boundaryOf(def: FeatureDefinition, registry: Registry): number {
  if (isRatio(def)) return boundaryOf(registry.get(def.numerator), registry);
  const w = def.window;
  switch (w.kind) {
    case 'sliding': return w.hopMs;
    case 'tumbling': return w.sizeMs;
    case 'hopping': return w.slideMs;
    default: return registry.seriesOf(def).tileMs;
  }
}

/** n probes over every feature in turn, for ids that occur in `accepted` (90%) or not. */
export function randomProbes(registry: Registry, accepted: readonly ClickEvent[], n: number, seed: string): Probe[] {
  const rng = new Rng(seed);
  const users = [...new Set(accepted.map((e) => e.user_id))];
  const items = [...new Set(accepted.flatMap((e) => (e.item_id === undefined ? [] : [e.item_id])))];
  let lo = Infinity;
  let hi = -Infinity;
  for (const e of accepted) {
    lo = Math.min(lo, e.event_time);
    hi = Math.max(hi, e.event_time);
  }
  const probes: Probe[] = [];
  for (let k = 0; k < n; k++) {
    const def = registry.features[k % registry.features.length] as FeatureDefinition;
    const pool = def.entity === 'user' ? users : items;
    const id = rng.next() < 0.9 && pool.length > 0 ? (pool[Math.floor(rng.next() * pool.length)] as string) : `absent-${k}`;
    let T: number;
    const r = rng.next();
    if (r < 0.15) T = hi + 1 + Math.floor(rng.next() * 3_600_000); // after all data: "latest"
    else if (r < 0.3) {
      // near one of this entity's own events, where values are non-trivial
      const own = accepted.filter((e) => (def.entity === 'user' ? e.user_id : e.item_id) === id);
      const pick = own[Math.floor(rng.next() * own.length)];
      T = (pick?.event_time ?? lo) + Math.floor(rng.next() * 3) - 1;
    } else T = lo + Math.floor(rng.next() * (hi - lo + 3_600_000));
    if (rng.next() < 0.33) T = floorTo(T, boundaryOf(def, registry)) + Math.floor(rng.next() * 3) - 1;
    probes.push({ entity: def.entity, id, name: def.name, T });
  }
  return probes;
}

export interface ProbeReport {
  /** probes answered (and equal to the reference) */
  exact: number;
  /** probes the source declined to answer (Redis: not exact at T) */
  inexact: number;
  nonTrivial: number;
  /** answered probes by feature */
  byFeature: Record<string, number>;
  /** answered probes by the store that answered (when the source says) */
  bySource: Record<string, number>;
}

const trivial = (v: FeatureValue): boolean => v === null || v === 0 || (Array.isArray(v) && v.length === 0);

/** One probe's answer: its value and, when known, which store gave it; undefined = not answered. */
export type ProbeAnswer = { value: FeatureValue; source?: string } | undefined;

/**
 * Answers every probe with `answer` (up to `concurrency` at a time) and asserts equality
 * with the reference wherever it answered.
 */
export async function compareProbes(answer: (p: Probe) => Promise<ProbeAnswer>, registry: Registry, accepted: readonly ClickEvent[], probes: readonly Probe[], concurrency = 1): Promise<ProbeReport> {
  const report: ProbeReport = { exact: 0, inexact: 0, nonTrivial: 0, byFeature: {}, bySource: {} };
  const byUser = new Map<string, ClickEvent[]>();
  const byItem = new Map<string, ClickEvent[]>();
  for (const e of accepted) {
    (byUser.get(e.user_id) ?? byUser.set(e.user_id, []).get(e.user_id))?.push(e);
    if (e.item_id !== undefined) (byItem.get(e.item_id) ?? byItem.set(e.item_id, []).get(e.item_id))?.push(e);
  }
  let next = 0;
  const work = async (): Promise<void> => {
    while (next < probes.length) {
      const p = probes[next++] as Probe;
      const got = await answer(p);
      if (got === undefined) {
        report.inexact += 1;
        continue;
      }
      const own = (p.entity === 'user' ? byUser : byItem).get(p.id) ?? [];
      const expected = referenceValue(registry.features, own, p.entity, p.id, p.name, p.T);
      assert.deepEqual(got.value, expected, `${p.entity} ${p.id} ${p.name} at T=${p.T} (${new Date(p.T).toISOString()})${got.source ? ` from ${got.source}` : ''}`);
      report.exact += 1;
      report.byFeature[p.name] = (report.byFeature[p.name] ?? 0) + 1;
      if (got.source !== undefined) report.bySource[got.source] = (report.bySource[got.source] ?? 0) + 1;
      if (!trivial(expected)) report.nonTrivial += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, work));
  return report;
}

/** Reads every probe from Redis and asserts equality with the reference where Redis is exact. */
export function checkProbes(reader: FeatureReader, registry: Registry, accepted: readonly ClickEvent[], probes: readonly Probe[], wallNow = Date.now()): Promise<ProbeReport> {
  return compareProbes(async (p) => {
    const [reading] = await reader.read(p.entity, [p.id], [p.name], p.T, wallNow);
    if (reading === undefined || reading.inexact.includes(p.name)) return undefined;
    return { value: reading.values[p.name] as FeatureValue, source: 'redis' };
  }, registry, accepted, probes);
}
