// Training datasets (DESIGN §7): a labels table (entity_id String, ts UInt64, any other
// columns) -> an output table with the other columns, entity_id, ts and every requested
// feature as of ts, computed in ClickHouse by offline/features (events strictly before ts
// only, so nothing from the label's future leaks in).
//
// Labels are processed in chunks of consecutive entity_ids (core keyChunker, as the
// backfill cuts its passes): an entity's labels stay together, and a chunk's events are a
// range of the events tables' primary key, so staging them reads that range instead of
// the whole table (chunks by a hash of entity_id scanned every event once per chunk). Each
// chunk is ONE INSERT, so a chunk is in the output entirely or not at all. The plan is a
// function of the labels table alone, so a restarted job cuts the same chunks, and skips
// the ones it recorded as finished: resumable without duplicates.
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { outputType, type Entity, type FeatureDefinition } from '../../core/features/definition.js';
import type { Registry } from '../../core/features/registry.js';
import { describeLabelsTable } from '../labels.js';
import type { KeyChunk } from '../../core/backfill.js';
import { idsIn, planKeyChunks } from '../key-chunks.js';
import { execute, selectRows } from '../query.js';
import { columnType, ident, join, sql, str, table, type Sql } from '../sql.js';
import { BASE_SETTINGS } from '../features/offline-features.js';
import { featureQuery, featureSource, type FeatureQueryOptions } from '../features/query.js';

export class TrainingDatasetError extends Error {
  override name = 'TrainingDatasetError';
}

export interface TrainingDatasetInput {
  labelsTable: string;
  names: string[];
  outputTable: string;
}

export interface TrainingDatasetProgress {
  fraction: number;
  chunksDone: number[];
  chunks: number;
  rows: number;
}

export interface TrainingDatasetResult {
  outputTable: string;
  entity: Entity;
  rows: number;
  chunks: number;
  ms: number;
}

export interface TrainingDatasetDeps {
  clickhouse: ClickHouseClient;
  database: string;
  registry: Registry;
  maxFutureMs: number;
  /**
   * labels per chunk (default 50,000): a chunk's query holds every (label, event within the
   * lookback) pair; 250,000 labels of entities with ~200 events a week went over
   * ClickHouse's per-query memory limit (5.6 GiB here)
   */
  chunkLabels?: number;
  /**
   * chunks computed at once (default 2): one chunk's query runs mostly on one thread (its
   * staged Memory tables are one block each), so on this 2-core machine a second chunk in
   * flight uses the other core; memory is this many chunks' worth
   */
  concurrency?: number;
}

/** The ClickHouse column type of a feature's values. */
export function featureColumnType(def: FeatureDefinition): Sql {
  const t = outputType(def);
  const scalar = t.scalar === 'Int' ? sql`Int64` : t.scalar === 'Float' ? sql`Float64` : sql`String`;
  if (t.list) return sql`Array(${scalar})`;
  return t.nullable ? sql`Nullable(${scalar})` : scalar;
}

/** The requested features, all of one entity (a label's entity_id is one kind of id). */
export function datasetFeatures(registry: Registry, names: readonly string[]): { entity: Entity; defs: FeatureDefinition[] } {
  const defs = names.map((n) => registry.get(n));
  const entities = [...new Set(defs.map((d) => d.entity))];
  if (entities.length !== 1) {
    throw new TrainingDatasetError(`a training dataset is about one entity kind; ${defs.map((d) => `${d.name} (${d.entity})`).join(', ')} mix ${entities.join(' and ')}`);
  }
  if (new Set(names).size !== names.length) throw new TrainingDatasetError('feature names are repeated');
  return { entity: entities[0] as Entity, defs };
}

export async function runTrainingDataset(deps: TrainingDatasetDeps, input: TrainingDatasetInput, opts: {
  chunksDone?: readonly number[];
  onProgress?: (p: TrainingDatasetProgress) => Promise<void> | void;
  signal?: AbortSignal;
} = {}): Promise<TrainingDatasetResult> {
  const t0 = performance.now();
  const { entity, defs } = datasetFeatures(deps.registry, input.names);
  const labels = await describeLabelsTable(deps.clickhouse, deps.database, input.labelsTable);
  const clash = labels.extraColumns.filter((c) => input.names.includes(c));
  if (clash.length > 0) throw new TrainingDatasetError(`labels column(s) ${clash.join(', ')} have the name of a requested feature`);
  const labelsRef = table(deps.database, input.labelsTable);
  const outRef = table(deps.database, input.outputTable);
  const plan = await planChunks(deps, labelsRef);
  const chunks = plan.length;
  const done = new Set(opts.chunksDone ?? []);

  // chunksDone undefined: a first attempt, which creates the output table (and reports
  // chunksDone [] at once, so a retry knows the table is its own).
  if (opts.chunksDone === undefined) {
    const exists = await selectRows<{ name: string }>(deps.clickhouse, sql`SELECT name FROM system.tables WHERE database = ${str(deps.database)} AND name = ${str(input.outputTable)}`);
    if (exists.length > 0) throw new TrainingDatasetError(`output table ${deps.database}.${input.outputTable} already exists; drop it or choose another name`);
    const columns = [
      ...labels.columns.map((c) => sql`${ident(c.name)} ${columnType(c.type)}`),
      ...defs.map((d) => sql`${ident(d.name)} ${featureColumnType(d)}`),
    ];
    await execute(deps.clickhouse, sql`CREATE TABLE ${outRef} (${join(columns)}) ENGINE = MergeTree ORDER BY (entity_id, ts)`);
    await opts.onProgress?.({ fraction: 0, chunksDone: [], chunks, rows: 0 });
  }

  let rows = 0;
  const pending = Array.from({ length: chunks }, (_, k) => k).filter((k) => !done.has(k));
  const labelColumns = labels.columns.map((c) => c.name);
  // Progress reports go out one at a time, in completion order (chunksDone is a set, so a
  // resumed job skips exactly the chunks whose INSERT finished, whatever their order).
  let reported: Promise<void> = Promise.resolve();
  const lane = async (): Promise<void> => {
    for (let k = pending.shift(); k !== undefined; k = pending.shift()) {
      opts.signal?.throwIfAborted();
      const n = await insertChunk(deps, { labelsRef, outRef, labelColumns, defs, entity, range: plan[k] as KeyChunk });
      rows += n; // not `rows += await`: that reads rows before the other lane's update
      done.add(k);
      const p: TrainingDatasetProgress = { fraction: done.size / chunks, chunksDone: [...done].sort((a, b) => a - b), chunks, rows };
      reported = reported.then(() => opts.onProgress?.(p));
      await reported;
    }
  };
  const lanes = Array.from({ length: Math.max(1, Math.min(deps.concurrency ?? 2, pending.length)) }, () => lane().catch((e: unknown) => {
    pending.length = 0; // a failed lane stops the others after their current chunk
    throw e;
  }));
  const settled = await Promise.allSettled(lanes);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return { outputTable: input.outputTable, entity, rows, chunks, ms: performance.now() - t0 };
}


/** Chunks of consecutive entity_ids of about chunkLabels labels (at least one chunk; the last one open above). */
async function planChunks(deps: TrainingDatasetDeps, labelsRef: Sql): Promise<KeyChunk[]> {
  const plan = await planKeyChunks(deps.clickhouse, sql`SELECT entity_id AS id, toString(count()) AS n FROM ${labelsRef} GROUP BY entity_id ORDER BY entity_id`, deps.chunkLabels ?? 50_000);
  return plan.length > 0 ? plan : [{ after: null, last: null, events: 0 }];
}

interface ChunkSpec {
  labelsRef: Sql;
  outRef: Sql;
  labelColumns: string[];
  defs: FeatureDefinition[];
  entity: Entity;
  range: KeyChunk;
}


/**
 * One chunk, entirely inside ClickHouse (values never pass through text, so floats stay
 * bit-exact; 18.16 parses inserted float text with up to 1 ulp of error): the chunk's
 * labels numbered in a Memory table, their deduplicated events in a second one (every
 * feature group reads them; deduplicating them once per group was a third of the query),
 * the feature query (bounded session lookback) into a third, the rare labels it flags
 * recomputed with unbounded sessions into a fourth, then ONE INSERT ... SELECT joining
 * labels and values (one block, so all or nothing).
 */
async function insertChunk(deps: TrainingDatasetDeps, c: ChunkSpec): Promise<number> {
  const tag = randomBytes(5).toString('hex');
  const stage = table(deps.database, `_tessera_ds_${tag}_labels`);
  const events = table(deps.database, `_tessera_ds_${tag}_events`);
  const bounded = table(deps.database, `_tessera_ds_${tag}_values`);
  const fixed = table(deps.database, `_tessera_ds_${tag}_fixed`);
  const settings = { ...BASE_SETTINGS, max_execution_time: 3600 };
  const lookup = (n: string) => deps.registry.get(n);
  const features = join(c.defs.map((d) => ident(d.name)));
  try {
    await execute(deps.clickhouse, sql`CREATE TABLE ${stage} ENGINE = Memory AS
      SELECT rowNumberInAllBlocks() AS _lid, entity_id AS _eid, toInt64(ts) AS _T, ${join(c.labelColumns.map((n) => ident(n)))}
      FROM ${c.labelsRef} WHERE ${idsIn(sql`entity_id`, c.range)}`, settings);
    const [span] = await selectRows<{ n: string; lo: string; hi: string }>(deps.clickhouse, sql`SELECT toString(count()) AS n, toString(min(_T)) AS lo, toString(max(_T)) AS hi FROM ${stage}`);
    const n = Number(span?.n ?? 0);
    if (n === 0) return 0;
    const options = (labels: Sql, sessions: 'bounded' | 'unbounded'): FeatureQueryOptions => ({
      db: deps.database, entity: c.entity, defs: c.defs, lookup, labels, minT: Number(span?.lo), maxT: Number(span?.hi), sessions, maxFutureMs: deps.maxFutureMs,
    });
    const all = options(sql`SELECT _lid, _eid, _T FROM ${stage}`, 'bounded');
    await execute(deps.clickhouse, sql`CREATE TABLE ${events} ENGINE = Memory AS ${featureSource(all)}`, settings);
    await execute(deps.clickhouse, sql`CREATE TABLE ${bounded} ENGINE = Memory AS ${featureQuery({ ...all, source: sql`SELECT * FROM ${events}` })}`, settings);
    const [flagged] = await selectRows<{ n: string }>(deps.clickhouse, sql`SELECT toString(count()) AS n FROM ${bounded} WHERE _flag = 1`);
    let values = sql`SELECT _lid, ${features} FROM ${bounded}`;
    if (Number(flagged?.n ?? 0) > 0) {
      const labels = sql`SELECT _lid, _eid, _T FROM ${stage} WHERE _lid IN (SELECT _lid FROM ${bounded} WHERE _flag = 1)`;
      await execute(deps.clickhouse, sql`CREATE TABLE ${fixed} ENGINE = Memory AS ${featureQuery(options(labels, 'unbounded'))}`, settings);
      values = sql`SELECT _lid, ${features} FROM ${bounded} WHERE _flag = 0 UNION ALL SELECT _lid, ${features} FROM ${fixed}`;
    }
    await execute(deps.clickhouse, sql`INSERT INTO ${c.outRef} (${join(c.labelColumns.map((x) => ident(x)))}, ${features})
      SELECT ${join(c.labelColumns.map((x) => ident(x)))}, ${features} FROM ${stage} ANY LEFT JOIN (${values}) USING _lid`, settings);
    return n;
  } finally {
    for (const t of [stage, events, bounded, fixed]) await execute(deps.clickhouse, sql`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  }
}
