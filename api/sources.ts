// What the API reads from, as small interfaces so the server can be built with the real
// stores (default) or with others (tests, future backends). The online source is the
// Redis FeatureReader (one pipeline per call); the offline one answers, in one query,
// what Redis cannot answer exactly.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Entity, FeatureValue } from '../core/features/definition.js';
import type { Registry } from '../core/features/registry.js';
import type { BackfillInput } from '../offline/jobs/backfill.js';
import type { TrainingDatasetInput } from '../offline/jobs/training-dataset.js';
import { offlineFeatures } from '../offline/features/offline-features.js';
import type { EntityReading } from '../store/reader.js';

export interface OnlineSource {
  read(entity: Entity, ids: readonly string[], names: readonly string[], T: number, wallNow?: number): Promise<EntityReading[]>;
}

export interface OfflineSource {
  /** every name for every id as of T (epoch ms), in one query */
  features(entity: Entity, ids: readonly string[], names: readonly string[], T: number): Promise<Map<string, Record<string, FeatureValue>>>;
}

export interface ClickHouseOfflineOptions {
  registry: Registry;
  maxFutureMs: number;
  /** ClickHouse's own limit on one query (max_execution_time), ms */
  timeoutMs: number;
  onQuery?: (info: { labels: number; ms: number }) => void;
}

/** The offline source backed by offline/features (ClickHouse). */
export function clickHouseOffline(client: ClickHouseClient, db: string, o: ClickHouseOfflineOptions): OfflineSource {
  return {
    async features(entity, ids, names, T) {
      const rows = await offlineFeatures(client, db, entity, ids, names, T, {
        registry: o.registry,
        maxFutureMs: o.maxFutureMs,
        settings: { max_execution_time: Math.max(1, Math.ceil(o.timeoutMs / 1000)) },
        onQuery: o.onQuery,
      });
      return new Map(rows.map((r) => [r.id, r.values]));
    },
  };
}

/** A BullMQ job as the API shows it. */
export interface JobView {
  id: string;
  kind: string;
  state: string;
  /** 0..1, when known */
  progress: number | null;
  createdAt: number | null;
  finishedAt: number | null;
  error: string | null;
  result: unknown;
}


export type { BackfillInput, TrainingDatasetInput };

/** The job system (offline/jobs, BullMQ); the API validates inputs before calling it. */
export interface JobSource {
  backfill(input: BackfillInput): Promise<JobView>;
  trainingDataset(input: TrainingDatasetInput): Promise<JobView>;
  get(id: string): Promise<JobView | null>;
}
