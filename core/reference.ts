// The brute-force reference model: DESIGN §3 and §4 evaluated straight from the feature
// definitions over a list of events, deliberately naive (full per-user history, a linear
// scan per query, no tiles, no IR). Property tests check the tiled path against it; keep
// it obviously correct rather than fast, and never make it share code with the tile path.
import type { ClickEvent } from './event.js';
import { floorTo } from './windows.js';
import { isRatio, toMicros, valueKind, valueScale, type Entity, type FeatureDefinition, type FeatureValue, type TileFeature } from './features/definition.js';

/** Acceptance (DESIGN §3), from the full history of accepted events per user. */
export function referenceAccept<E extends Pick<ClickEvent, 'user_id' | 'event_id' | 'event_time'>>(events: readonly E[], latenessMs: number): E[] {
  const history = new Map<string, E[]>();
  const accepted: E[] = [];
  for (const e of events) {
    const mine = history.get(e.user_id) ?? [];
    const max = Math.max(-Infinity, ...mine.map((x) => x.event_time));
    if (e.event_time < max - latenessMs) continue; // late
    if (mine.some((x) => x.event_id === e.event_id && x.event_time >= max - latenessMs)) continue; // duplicate
    mine.push(e);
    history.set(e.user_id, mine);
    accepted.push(e);
  }
  return accepted;
}

/**
 * The acceptance state each user's stored state must equal after these events (DESIGN §3:
 * a memory of the ids within the lateness horizon): the largest accepted event_time, and
 * the accepted events with event_time >= max - L, by id.
 */
export function referenceAcceptanceStates(events: readonly Pick<ClickEvent, 'user_id' | 'event_id' | 'event_time'>[], latenessMs: number):
  Map<string, { maxEventTime: number; ids: Map<string, number> }> {
  const out = new Map<string, { maxEventTime: number; ids: Map<string, number> }>();
  for (const e of referenceAccept(events, latenessMs)) {
    const mine = out.get(e.user_id) ?? { maxEventTime: e.event_time, ids: new Map<string, number>() };
    mine.maxEventTime = Math.max(mine.maxEventTime, e.event_time);
    mine.ids.set(e.event_id, e.event_time);
    out.set(e.user_id, mine);
  }
  for (const s of out.values()) for (const [id, t] of s.ids) if (t < s.maxEventTime - latenessMs) s.ids.delete(id);
  return out;
}

const has = (e: ClickEvent, field: string): boolean => (e as unknown as Record<string, unknown>)[field] != null;

/** Does this accepted event belong to the entity and pass the feature's filter? */
export function referenceInScope(def: TileFeature, e: ClickEvent, entity: Entity, id: string): boolean {
  if (def.entity !== entity) return false;
  if (entity === 'user' ? e.user_id !== id : e.item_id !== id) return false;
  const types = def.filter?.eventTypes ?? [];
  if (types.length > 0 && !types.includes(e.event_type)) return false;
  if (!(def.filter?.requires ?? []).every((f) => has(e, f))) return false;
  const reads = ['sum', 'avg', 'min', 'max', 'distinct', 'last_n', 'top_k'].includes(def.aggregation);
  if (reads && def.value !== undefined && def.value.startsWith('price') && !has(e, 'price')) return false;
  if (reads && def.value !== undefined && ['item_id', 'category', 'brand'].includes(def.value) && !has(e, def.value)) return false;
  return true;
}

export const referenceTime = (def: TileFeature, e: ClickEvent): number => (def.time === 'ingestion' ? e.ingest_time : e.event_time);

/** The value of feature `name` for one entity at T, from the accepted events. */
export function referenceValue(features: readonly FeatureDefinition[], accepted: readonly ClickEvent[],
  entity: Entity, id: string, name: string, T: number): FeatureValue {
  const def = features.find((f) => f.name === name);
  if (def === undefined) throw new Error(`unknown feature ${name}`);
  if (isRatio(def)) {
    const num = referenceValue(features, accepted, entity, id, def.numerator, T);
    const den = referenceValue(features, accepted, entity, id, def.denominator, T);
    return typeof num === 'number' && typeof den === 'number' && den !== 0 ? num / den : null;
  }
  const time = (e: ClickEvent): number => referenceTime(def, e);
  const before = accepted.filter((e) => referenceInScope(def, e, entity, id) && time(e) < T);
  const w = def.window;
  let chosen: ClickEvent[] = [];
  if (w.kind === 'sliding') chosen = before.filter((e) => time(e) >= floorTo(T - w.sizeMs, w.hopMs));
  if (w.kind === 'tumbling' || w.kind === 'hopping') {
    const end = floorTo(T, w.kind === 'tumbling' ? w.sizeMs : w.slideMs);
    chosen = before.filter((e) => time(e) >= end - w.sizeMs && time(e) < end);
  }
  if (w.kind === 'recency') chosen = before.filter((e) => time(e) >= T - w.horizonMs);
  if (w.kind === 'session') {
    const sorted = [...before].sort((a, b) => time(a) - time(b));
    let run: ClickEvent[] = [];
    for (const e of sorted) {
      const last = run[run.length - 1];
      run = last !== undefined && time(e) - time(last) < w.gapMs ? [...run, e] : [e];
    }
    const last = run[run.length - 1];
    chosen = last !== undefined && T - time(last) < w.gapMs ? run : [];
  }
  return aggregate(def, chosen, T, time);
}

function aggregate(def: TileFeature, events: ClickEvent[], T: number, time: (e: ClickEvent) => number): FeatureValue {
  const expr = def.value;
  const kind = expr === undefined ? 'string' : valueKind(expr);
  const scale = expr === undefined ? 1 : valueScale(expr);
  const raw = (e: ClickEvent): bigint | string => {
    if (expr === 'price') return BigInt(toMicros(e.price as number));
    if (expr === 'price*quantity') return BigInt(toMicros(e.price as number)) * BigInt(e.quantity);
    if (expr === 'quantity') return BigInt(e.quantity);
    return String((e as unknown as Record<string, unknown>)[expr as string]);
  };
  const num = (e: ClickEvent): bigint => raw(e) as bigint;
  const out = (v: bigint | string): string | number => (kind === 'string' ? String(v) : Number(v) / scale);
  const bytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const times = events.map(time);
  const sum = (): bigint => events.reduce((acc, e) => acc + num(e), 0n);
  switch (def.aggregation) {
    case 'count': case 'session_count': return events.length;
    case 'sum': return Number(sum()) / scale;
    case 'avg': return events.length === 0 ? null : Number(sum()) / events.length / scale;
    case 'min': case 'max': {
      if (events.length === 0) return null;
      const sorted = events.map(num).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return Number(def.aggregation === 'min' ? sorted[0] : sorted[sorted.length - 1]) / scale;
    }
    case 'distinct': return new Set(events.map((e) => String(raw(e)))).size;
    case 'last_n':
      return [...events].sort((a, b) => time(b) - time(a) || bytes(b.event_id, a.event_id)
        || bytes(b.user_id, a.user_id) || bytes(String(raw(b)), String(raw(a))))
        .slice(0, def.limit).map((e) => out(raw(e)));
    case 'top_k': {
      const counts = new Map<string, number>();
      for (const e of events) counts.set(String(raw(e)), (counts.get(String(raw(e))) ?? 0) + 1);
      const byValue = (a: string, b: string): number => (kind === 'string' ? bytes(a, b) : Number(BigInt(a) - BigInt(b)));
      return [...counts].sort((a, b) => b[1] - a[1] || byValue(a[0], b[0])).slice(0, def.limit).map(([v]) => out(v));
    }
    case 'session_duration': return events.length === 0 ? null : (Math.max(...times) - Math.min(...times)) / 1000;
    case 'recency': return events.length === 0 ? null : (T - Math.max(...times)) / 1000;
  }
}
