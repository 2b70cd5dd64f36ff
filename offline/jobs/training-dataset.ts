// Training datasets (DESIGN §7): a labels table (entity_id String, ts UInt64, any other
// columns) -> an output table with the other columns, entity_id, ts and every requested
// feature as of ts, computed in ClickHouse by offline/features (events strictly before ts
// only, so nothing from the label's future leaks in).
//
// Labels are processed in chunks by a hash of entity_id (an entity's labels stay together,
// which keeps session state per chunk small); each chunk is ONE INSERT, so a chunk is in
// the output entirely or not at all. The job records finished chunks, and a restarted job
// skips them: resumable without duplicates.
import type { ClickHouseClient } from '@clickhouse/client';
import { outputType, type Entity, type FeatureDefinition } from '../../core/features/definition.js';
import type { Registry } from '../../core/features/registry.js';
import { describeLabelsTable } from '../labels.js';
import { execute, insertRows, selectRows } from '../query.js';
import { columnType, ident, join, sql, str, table, uint64, type Sql } from '../sql.js';
import { offlineFeaturesAt } from '../features/offline-features.js';

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
  /** labels per chunk (default 250,000) */
  chunkLabels?: number;
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

type LabelRow = Record<string, unknown> & { entity_id: string; ts: string | number };

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
  const [{ n } = { n: '0' }] = await selectRows<{ n: string }>(deps.clickhouse, sql`SELECT toString(count()) AS n FROM ${labelsRef}`);
  const total = Number(n);
  const chunks = Math.max(1, Math.ceil(total / (deps.chunkLabels ?? 250_000)));
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
  for (let k = 0; k < chunks; k++) {
    if (done.has(k)) continue;
    opts.signal?.throwIfAborted();
    const chunk = await selectRows<LabelRow>(deps.clickhouse, sql`
      SELECT * FROM ${labelsRef} WHERE cityHash64(entity_id) % ${uint64(chunks)} = ${uint64(k)}`);
    const features = await offlineFeaturesAt(deps.clickhouse, deps.database, entity, chunk.map((l) => ({ id: l.entity_id, T: Number(l.ts) })), input.names, {
      registry: deps.registry, maxFutureMs: deps.maxFutureMs,
    });
    const out = chunk.map((label, i) => ({ ...label, ...(features[i]?.values ?? {}) }));
    await insertRows(deps.clickhouse, outRef, out);
    rows += out.length;
    done.add(k);
    await opts.onProgress?.({ fraction: done.size / chunks, chunksDone: [...done].sort((a, b) => a - b), chunks, rows });
  }
  return { outputTable: input.outputTable, entity, rows, chunks, ms: performance.now() - t0 };
}

