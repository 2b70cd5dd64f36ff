// Offline (ClickHouse) feature values, point-in-time correct: the answer for past T when
// Redis cannot be exact, the source of training datasets, and the other side of the
// consistency check. Values equal core/reference.ts exactly (offline-features tests).
//
// Small label sets travel as an array literal (through sql.ts); larger ones are staged
// into a Memory table first, so the SQL text stays small and the labels are hashed once.
// Sessions are read from a bounded lookback; the rare label whose active session may have
// begun before it (a session longer than the lookback) is recomputed over all history.
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { DEFAULT_EVENT_LIMITS } from '../../core/event.js';
import { outputType, type Entity, type FeatureDefinition, type FeatureValue } from '../../core/features/definition.js';
import { defaultRegistry, type Registry } from '../../core/features/registry.js';
import { execute, insertRows, selectRows } from '../query.js';
import { array, int64, sql, str, table, tuple, uint64, wellFormed, type Sql } from '../sql.js';
import { featureQuery } from './query.js';

export interface OfflineFeatureOptions {
  /** default: defaultRegistry() (catalog + custom features) */
  registry?: Registry;
  /** config.events.maxFutureMs; only matters for ingestion-time features */
  maxFutureMs?: number;
  /**
   * label sets larger than this are staged in a temporary Memory table (default 100: the
   * query names the labels once per feature group and per read of the events, and 18.16's
   * analysis of a 1,750-tuple literal repeated that often did not finish in 2 minutes)
   */
  stageAbove?: number;
  /**
   * labels per query (default 250,000): larger sets run as several queries, split by a hash
   * of the entity id, so one query's aggregation state (last-N, top-K and session arrays)
   * stays within ClickHouse's per-query memory limit
   */
  labelsPerQuery?: number;
  settings?: ClickHouseSettings;
  /** see FeatureQueryOptions.rankedAboveMs (tests: force the ranked or the paired path; implies grouping 'split') */
  rankedAboveMs?: number;
  /**
   * see FeatureQueryOptions.grouping; default 'single' up to SINGLE_GROUP_MAX_LABELS labels,
   * else 'split'
   */
  grouping?: 'split' | 'single';
  /** called after each query (metrics, logs, tests): how many labels, in which session mode */
  onQuery?: (info: { labels: number; sessions: 'bounded' | 'unbounded'; ms: number }) => void;
}

export interface OfflineFeatureRow {
  id: string;
  /** the query time, epoch ms */
  T: number;
  /** feature name -> value (numbers, strings, lists, or null) */
  values: Record<string, FeatureValue>;
}

export interface LabelPair {
  id: string;
  T: number;
}

export class OfflineFeatureError extends Error {
  override name = 'OfflineFeatureError';
}

type Row = Record<string, unknown> & { _lid: string | number; _flag: number | string };
export type Label = LabelPair & { lid: number };

/**
 * Label sets up to this size use one join (query.ts grouping 'single'). Measured on 200,000
 * generated events, 18 user features, alternated (median ms, single vs split): 5 labels 55
 * vs 178, 20: 84 vs 290, 50: 130 vs 380, 100: 242 vs 957, 200: 482 vs 287, 300: 1,090 vs 374.
 */
export const SINGLE_GROUP_MAX_LABELS = 100;
const STAGE_ABOVE = 100;

export const BASE_SETTINGS: ClickHouseSettings = {
  // Literal label sets can be large; 18.16's default max_query_size is 256 KiB.
  max_query_size: '67108864',
  // The label set appears once per feature group and per read of the events (query.ts), a
  // literal one as an array of up to stageAbove tuples: 18.16's 50,000-node AST limit is
  // too small for that.
  max_ast_elements: '10000000',
  max_expanded_ast_elements: '10000000',
  // Unmatched labels must get default values (0, NULL, []), the features' empty values.
  join_use_nulls: 0,
};

/** Every requested feature as of T for each id (one query). Rows in `ids` order. */
export async function offlineFeatures(client: ClickHouseClient, db: string, entity: Entity, ids: readonly string[],
  names: readonly string[], T: number, options: OfflineFeatureOptions = {}): Promise<OfflineFeatureRow[]> {
  return offlineFeaturesAt(client, db, entity, ids.map((id) => ({ id, T })), names, options);
}

/** Every requested feature for many (id, T) pairs at once. Rows in `pairs` order. */
export async function offlineFeaturesAt(client: ClickHouseClient, db: string, entity: Entity, pairs: readonly LabelPair[],
  names: readonly string[], options: OfflineFeatureOptions = {}): Promise<OfflineFeatureRow[]> {
  const registry = options.registry ?? defaultRegistry();
  const defs = names.map((n) => registry.get(n));
  for (const def of defs) {
    if (def.entity !== entity) throw new OfflineFeatureError(`${def.name} is a ${def.entity} feature, not a ${entity} feature`);
  }
  for (const p of pairs) {
    if (typeof p.id !== 'string') throw new OfflineFeatureError(`entity id must be a string, got ${typeof p.id}`);
    if (!Number.isSafeInteger(p.T) || p.T < 0) throw new OfflineFeatureError(`T must be epoch ms (a non-negative integer), got ${p.T}`);
  }
  if (pairs.length === 0 || defs.length === 0) return pairs.map((p) => ({ id: p.id, T: p.T, values: {} }));

  // One label per distinct (id, T), numbered: the query groups and joins by that number.
  const distinct = new Map<string, Label>();
  const lidOf = pairs.map((p) => {
    const id = wellFormed(p.id);
    const k = key(id, p.T);
    let label = distinct.get(k);
    if (label === undefined) distinct.set(k, (label = { id, T: p.T, lid: distinct.size }));
    return label.lid;
  });
  const labels = [...distinct.values()];
  const run = (subset: readonly Label[], sessions: 'bounded' | 'unbounded') =>
    runQuery(client, db, entity, subset, defs, registry, sessions, options);
  const rows = await run(labels, 'bounded');
  const flagged = labels.filter((l) => Number(rows.get(l.lid)?._flag ?? 0) === 1);
  if (flagged.length > 0) for (const [lid, r] of await run(flagged, 'unbounded')) rows.set(lid, r);

  return pairs.map((p, i) => {
    const row = rows.get(lidOf[i] as number);
    if (row === undefined) throw new OfflineFeatureError(`no result row for ${JSON.stringify(p.id)} at ${p.T}`);
    return { id: p.id, T: p.T, values: Object.fromEntries(defs.map((d) => [d.name, decodeValue(d, row[d.name])])) };
  });
}

const key = (id: string, T: number | string): string => `${T}\u0000${id}`;

async function runQuery(client: ClickHouseClient, db: string, entity: Entity, pairs: readonly Label[], defs: readonly FeatureDefinition[],
  registry: Registry, sessions: 'bounded' | 'unbounded', options: OfflineFeatureOptions): Promise<Map<number, Row>> {
  const Ts = pairs.map((p) => p.T);
  const minT = Ts.reduce((a, b) => Math.min(a, b));
  const maxT = Ts.reduce((a, b) => Math.max(a, b));
  const grouping = options.grouping ?? (options.rankedAboveMs !== undefined || pairs.length > SINGLE_GROUP_MAX_LABELS ? 'split' : 'single');
  const staged = pairs.length > (options.stageAbove ?? STAGE_ABOVE) ? await stageLabels(client, db, pairs) : undefined;
  try {
    const labels = staged?.labels ?? literalLabels(pairs);
    const chunks = Math.max(1, Math.ceil(pairs.length / (options.labelsPerQuery ?? 250_000)));
    const out = new Map<number, Row>();
    for (let k = 0; k < chunks; k++) {
      const query = featureQuery({
        db, entity, defs, lookup: (n) => registry.get(n), labels: labelChunk(labels, chunks, k), minT, maxT, sessions,
        maxFutureMs: options.maxFutureMs ?? DEFAULT_EVENT_LIMITS.maxFutureMs, rankedAboveMs: options.rankedAboveMs, grouping,
      });
      const t0 = performance.now();
      const rows = await selectRows<Row>(client, query, { ...BASE_SETTINGS, ...options.settings });
      options.onQuery?.({ labels: pairs.length, sessions, ms: performance.now() - t0 });
      for (const r of rows) out.set(Number(r._lid), r);
    }
    return out;
  } finally {
    await staged?.drop();
  }
}

/** Part k of n of a label set, by a hash of the entity id (an entity's labels stay together). */
export function labelChunk(labels: Sql, n: number, k: number): Sql {
  return n === 1 ? labels : sql`SELECT _lid, _eid, _T FROM (${labels}) WHERE cityHash64(_eid) % ${uint64(n)} = ${uint64(k)}`;
}

/** `SELECT _lid, _eid, _T` over an array literal of (lid, id, T) tuples. */
export function literalLabels(labels: readonly Label[]): Sql {
  const tuples = labels.map((l) => tuple([uint64(l.lid), str(wellFormed(l.id)), int64(l.T)]));
  return sql`SELECT toUInt64(tupleElement(_p, 1)) AS _lid, tupleElement(_p, 2) AS _eid, toInt64(tupleElement(_p, 3)) AS _T FROM (SELECT arrayJoin(${array(tuples)}) AS _p)`;
}

/** A Memory table holding the pairs (dropped by `drop`), for label sets too large for a literal. */
async function stageLabels(client: ClickHouseClient, db: string, labels: readonly Label[]): Promise<{ labels: Sql; drop: () => Promise<void> }> {
  const name = `_tessera_labels_${randomBytes(6).toString('hex')}`;
  await execute(client, sql`CREATE TABLE ${table(db, name)} (_lid UInt64, _eid String, _T Int64) ENGINE = Memory`);
  try {
    await insertRows(client, table(db, name), labels.map((l) => ({ _lid: l.lid, _eid: wellFormed(l.id), _T: l.T })));
  } catch (error) {
    await execute(client, sql`DROP TABLE IF EXISTS ${table(db, name)}`);
    throw error;
  }
  return {
    labels: sql`SELECT _lid, _eid, _T FROM ${table(db, name)}`,
    drop: () => execute(client, sql`DROP TABLE IF EXISTS ${table(db, name)}`),
  };
}

/** A JSONEachRow cell -> the feature's JS value (64-bit integers arrive as strings). */
export function decodeValue(def: FeatureDefinition, raw: unknown): FeatureValue {
  const type = outputType(def);
  if (type.list) {
    if (!Array.isArray(raw)) throw new OfflineFeatureError(`${def.name}: expected a list, got ${JSON.stringify(raw)}`);
    return raw.map((x: unknown) => (type.scalar === 'String' ? String(x) : Number(x)));
  }
  if (raw === null) {
    if (!type.nullable) throw new OfflineFeatureError(`${def.name}: unexpected null`);
    return null;
  }
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new OfflineFeatureError(`${def.name}: not a number: ${JSON.stringify(raw)}`);
  return n;
}
