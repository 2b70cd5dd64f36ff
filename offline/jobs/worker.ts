// `tessera run --jobs`: the BullMQ worker of the `tessera-jobs` queue. One processor per
// job kind; the long kinds report progress and keep where they are in the job's data, so a
// job whose worker was killed (BullMQ moves it back to waiting once its lock expires) goes
// on from there in the next worker. Failures are retried with backoff (queue.ts) and the
// last failure's reason is kept on the job.
import type { ClickHouseClient } from '@clickhouse/client';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, Registry as MetricsRegistry } from 'prom-client';
import type { Config } from '../../config/config.js';
import { childLogger } from '../../config/logger.js';
import { createRegistry, type Registry } from '../../core/features/registry.js';
import { createRedis } from '../../store/redis-client.js';
import { createClickHouse } from '../clickhouse-client.js';
import { applyRetention } from '../retention.js';
import { runBackfill } from './backfill.js';
import { bullPrefix, createJobQueue, jobsConnection, parseJobInput, QUEUE_NAME, type JobData, type JobKind } from './queue.js';
import { runSkewCheck, type SkewReport } from './skew.js';
import { runTrainingDataset } from './training-dataset.js';

/** Error names that no retry can fix (checked by name: they come from several modules). */
const PERMANENT = new Set(['JobInputError', 'BackfillRangeError', 'TrainingDatasetError', 'LabelsTableError', 'UnknownFeatureError', 'SqlValueError', 'OfflineFeatureError']);

export interface JobWorkerOptions {
  config: Config;
  /** Redis key prefix of tiles and of the queue (default config.redis.prefix) */
  prefix?: string;
  database?: string;
  registry?: Registry;
  /** add the repeatable retention and consistency-check jobs (tessera run --jobs) */
  schedule?: boolean;
  concurrency?: number;
}

export interface JobWorker {
  worker: Worker<JobData, unknown, JobKind>;
  metrics: MetricsRegistry;
  stop(): Promise<void>;
}

export function jobMetrics() {
  const registry = new MetricsRegistry();
  return {
    registry,
    done: new Counter({ name: 'tessera_jobs_total', help: 'Finished job attempts by kind and outcome', labelNames: ['kind', 'outcome'], registers: [registry] }),
    seconds: new Histogram({ name: 'tessera_job_duration_seconds', help: 'Job attempt duration', labelNames: ['kind'], buckets: [0.1, 1, 5, 30, 120, 600, 3600], registers: [registry] }),
    skew: new Gauge({ name: 'tessera_skew_mismatches', help: 'Online/offline mismatches found by the last consistency check (should be 0)', registers: [registry] }),
    skewCompared: new Gauge({ name: 'tessera_skew_compared', help: 'Values compared by the last consistency check', registers: [registry] }),
    skewAt: new Gauge({ name: 'tessera_skew_last_check_timestamp_seconds', help: 'When the last consistency check finished', registers: [registry] }),
  };
}

export type JobMetrics = ReturnType<typeof jobMetrics>;

export function recordSkew(metrics: JobMetrics, report: SkewReport): void {
  metrics.skew.set(report.mismatches);
  metrics.skewCompared.set(report.compared);
  metrics.skewAt.set(Date.now() / 1000);
}

export async function startJobWorker(o: JobWorkerOptions): Promise<JobWorker> {
  const log = childLogger('jobs');
  const prefix = o.prefix ?? o.config.redis.prefix;
  const database = o.database ?? o.config.clickhouse.database;
  const registry = o.registry ?? createRegistry({ latenessMs: o.config.events.allowedLatenessMs });
  const clickhouse: ClickHouseClient = createClickHouse(o.config, { database, requestTimeoutMs: 600_000 });
  const redis: Redis = createRedis(o.config);
  const connection = jobsConnection(o.config);
  const metrics = jobMetrics();

  const processors: Record<JobKind, (job: Job<JobData, unknown, JobKind>) => Promise<unknown>> = {
    backfill: async (job) => {
      const input = parseJobInput('backfill', job.data.input);
      return runBackfill({ clickhouse, database, redis, prefix, registry }, input, {
        resume: job.data.backfillResume,
        onProgress: async (p) => {
          await job.updateData({ ...job.data, backfillResume: p.resume });
          await job.updateProgress({ ...p });
        },
      });
    },
    'training-dataset': async (job) => {
      const input = parseJobInput('training-dataset', job.data.input);
      return runTrainingDataset({ clickhouse, database, registry, maxFutureMs: o.config.events.maxFutureMs }, input, {
        chunksDone: job.data.chunksDone,
        onProgress: async (p) => {
          await job.updateData({ ...job.data, chunksDone: p.chunksDone });
          await job.updateProgress({ ...p });
        },
      });
    },
    retention: async (job) => {
      const { days } = parseJobInput('retention', job.data.input);
      const dropped = await applyRetention(clickhouse, database, days);
      await job.updateProgress({ fraction: 1 });
      return { days, dropped };
    },
    skew: async (job) => {
      const input = parseJobInput('skew', job.data.input);
      const report = await runSkewCheck({ clickhouse, database, redis, prefix, registry, maxFutureMs: o.config.events.maxFutureMs }, input);
      recordSkew(metrics, report);
      await job.updateProgress({ fraction: 1 });
      if (report.mismatches > 0) log.error({ mismatches: report.mismatches, examples: report.examples.slice(0, 3) }, 'online and offline disagree');
      return report;
    },
  };

  const worker = new Worker<JobData, unknown, JobKind>(QUEUE_NAME, async (job) => {
    const stop = metrics.seconds.startTimer({ kind: job.name });
    try {
      const result = await processors[job.name](job);
      metrics.done.inc({ kind: job.name, outcome: 'completed' });
      return result;
    } catch (error) {
      metrics.done.inc({ kind: job.name, outcome: 'failed' });
      // Bad input stays bad: fail at once with the reason instead of retrying.
      if (error instanceof Error && PERMANENT.has(error.name)) throw new UnrecoverableError(`${error.name}: ${error.message}`);
      throw error;
    } finally {
      stop();
    }
  }, {
    connection,
    prefix: bullPrefix(prefix),
    concurrency: o.concurrency ?? 1,
    lockDuration: o.config.jobs.lockMs,
    stalledInterval: o.config.jobs.lockMs,
    maxStalledCount: 3,
    autorun: true,
  });
  worker.on('failed', (job, err) => log.warn({ id: job?.id, kind: job?.name, attempt: job?.attemptsMade, err: err.message }, 'job attempt failed'));
  worker.on('completed', (job) => log.info({ id: job.id, kind: job.name }, 'job completed'));
  worker.on('error', (err) => log.error({ err: err.message }, 'job worker error'));
  await worker.waitUntilReady();

  const queue = createJobQueue(connection, prefix);
  if (o.schedule) {
    await queue.upsertJobScheduler('retention', { every: 24 * 3600_000 }, { name: 'retention', data: { input: { days: o.config.jobs.retentionDays } } });
    if (o.config.jobs.skewEveryMs > 0) {
      await queue.upsertJobScheduler('skew', { every: o.config.jobs.skewEveryMs }, { name: 'skew', data: { input: { sample: o.config.jobs.skewSample } } });
    }
  }
  log.info({ queue: QUEUE_NAME, prefix: bullPrefix(prefix) }, 'job worker ready');

  return {
    worker,
    metrics: metrics.registry,
    async stop() {
      await worker.close();
      await queue.close();
      await connection.quit().catch(() => undefined);
      await redis.quit().catch(() => undefined);
      await clickhouse.close();
    },
  };
}
