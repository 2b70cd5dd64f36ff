// Point-in-time feature vectors, routed between the stores (DESIGN §4 exactness):
// - Redis answers latest (T = now) and every past T it can answer exactly, for all ids in
//   ONE round trip (FeatureReader pipelines every id and tile size);
// - the (id, feature) pairs Redis reports inexact go to ClickHouse in ONE query per call:
//   the ids and names that need it, at the same T;
// - each row says who answered: 'redis', 'clickhouse' or 'mixed'.
// When ClickHouse is down, what Redis answered is still returned (`unavailable` lists
// the rest and `offlineError` says why), so online answers keep working.
import { ENTITIES, type Entity, type FeatureValue } from '../core/features/definition.js';
import type { Registry } from '../core/features/registry.js';
import { ApiError, offlineError, storeError, unknownFeature } from './errors.js';
import type { ApiMetrics } from './metrics.js';
import type { EntityReading } from '../store/reader.js';
import type { OfflineSource, OnlineSource } from './sources.js';

export type Source = 'redis' | 'clickhouse' | 'mixed';

export interface FeatureRowResult {
  id: string;
  /** epoch ms */
  asOf: number;
  /** may be shared with other rows and requests (store readings): never mutate */
  values: Readonly<Record<string, FeatureValue>>;
  source: Source;
  /** names neither store could answer (ClickHouse down) */
  unavailable: string[];
}

export interface FeatureResult {
  rows: FeatureRowResult[];
  offlineError?: ApiError;
}

export interface FeatureServiceOptions {
  registry: Registry;
  online: OnlineSource;
  offline: OfflineSource;
  metrics?: ApiMetrics;
  /** the clock (tests) */
  now?: () => number;
  /** asOf may be at most this far ahead of now (values after now are not known yet); default 5 min */
  maxFutureMs?: number;
  /** awaited before each Redis read: throws when Redis is not connected */
  ensureOnline?: () => Promise<void>;
}

export function parseEntity(entity: string): Entity {
  if ((ENTITIES as readonly string[]).includes(entity)) return entity as Entity;
  throw new ApiError('UNKNOWN_ENTITY', `unknown entity ${JSON.stringify(entity)}; valid entities: ${ENTITIES.join(', ')}`, { details: { validNames: [...ENTITIES] } });
}

export class FeatureService {
  private readonly now: () => number;

  constructor(private readonly o: FeatureServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Validated, deduplicated feature names of one entity (throws UNKNOWN_FEATURE listing the valid ones). */
  resolveNames(entity: Entity, names: readonly string[]): string[] {
    const valid = this.o.registry.forEntity(entity).map((d) => d.name);
    const out = [...new Set(names)];
    for (const name of out) {
      if (!this.o.registry.has(name)) throw unknownFeature(name, entity, valid);
      const def = this.o.registry.get(name);
      if (def.entity !== entity) throw unknownFeature(name, entity, valid, def.entity);
    }
    return out;
  }

  /** The service's clock (epoch ms). */
  clock(): number {
    return this.now();
  }

  /**
   * Rows in `ids` order (repeated ids repeat their row); names must be resolved. `now` is
   * the request's clock reading (default: read it here); asOf omitted means now.
   */
  async read(entity: Entity, ids: readonly string[], names: readonly string[], asOf?: number, now?: number): Promise<FeatureResult> {
    const wallNow = now ?? this.now();
    const T = asOf ?? wallNow;
    const ahead = this.o.maxFutureMs ?? 5 * 60_000;
    if (T > wallNow + ahead) {
      throw new ApiError('BAD_USER_INPUT', `asOf ${new Date(T).toISOString()} is in the future (now is ${new Date(wallNow).toISOString()}): feature values are known up to now`);
    }
    const unique = [...new Set(ids)];
    if (unique.length === 0) return { rows: [] };
    if (names.length === 0) return { rows: ids.map((id) => ({ id, asOf: T, values: {}, source: 'redis', unavailable: [] })) };

    let readings;
    try {
      await this.o.ensureOnline?.();
      readings = await this.o.online.read(entity, unique, names, T, wallNow);
    } catch (error) {
      throw storeError(error);
    }
    // The reader answers in `unique` order: with no repeated id, readings[i] is ids[i]'s
    // (checked; a source answering in another order is looked up by id).
    let byId: Map<string, EntityReading> | undefined;
    const readingOf = (id: string, i: number): EntityReading | undefined => {
      const r = unique.length === ids.length ? readings[i] : undefined;
      if (r?.id === id) return r;
      byId ??= new Map(readings.map((x) => [x.id, x]));
      return byId.get(id);
    };
    const offlineIds: string[] = [];
    const inexactNames = new Set<string>();
    for (const r of readings) {
      if (r.inexact.length === 0) continue;
      offlineIds.push(r.id);
      for (const n of r.inexact) inexactNames.add(n);
    }
    const offlineNames = [...inexactNames];

    let offline = new Map<string, Record<string, FeatureValue>>();
    let failure: ApiError | undefined;
    if (offlineIds.length > 0) {
      try {
        offline = await this.o.offline.features(entity, offlineIds, offlineNames, T);
      } catch (error) {
        failure = offlineError(error, `${offlineNames.join(', ')} of ${offlineIds.length} ${entity}(s) at ${new Date(T).toISOString()}`);
        this.o.metrics?.offlineFailures.inc();
      }
      const missing = readings.filter((r) => r.inexact.some((n) => !(n in (offline.get(r.id) ?? {})))).map((r) => r.id);
      if (failure === undefined && missing.length > 0) {
        failure = new ApiError('OFFLINE_UNAVAILABLE', `offline store returned no values for ${missing.length} ${entity}(s), e.g. ${JSON.stringify(missing[0])}`);
      }
    }

    const rowFor = (id: string, i: number): FeatureRowResult => {
      const reading = readingOf(id, i);
      if (reading === undefined) throw new ApiError('STORE_UNAVAILABLE', `online store returned no reading for ${JSON.stringify(id)}`);
      // All exact: the reading's values are exactly `names` in order (OnlineSource contract);
      // rows only read them, so they are shared rather than copied.
      if (reading.inexact.length === 0) return { id, asOf: T, values: reading.values, source: 'redis', unavailable: [] };
      const values: Record<string, FeatureValue> = {};
      const unavailable: string[] = [];
      const fromOffline = offline.get(id);
      for (const name of names) {
        if (name in reading.values) values[name] = reading.values[name] as FeatureValue;
        else if (fromOffline !== undefined && name in fromOffline) values[name] = fromOffline[name] as FeatureValue;
        else unavailable.push(name);
      }
      const viaOffline = reading.inexact.length - unavailable.length;
      const source: Source = viaOffline <= 0 ? 'redis' : viaOffline === names.length ? 'clickhouse' : 'mixed';
      return { id, asOf: T, values, source, unavailable };
    };
    const rows = ids.map(rowFor);
    // One counter update per source, not per row: a labelled inc costs a label-hash lookup.
    const bySource: Partial<Record<Source, number>> = {};
    for (const r of rows) bySource[r.source] = (bySource[r.source] ?? 0) + 1;
    for (const [source, n] of Object.entries(bySource)) this.o.metrics?.rows.inc({ entity, source }, n);
    return failure === undefined ? { rows } : { rows, offlineError: failure };
  }
}
