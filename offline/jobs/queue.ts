// The BullMQ side of Tessera's jobs: one queue, `tessera-jobs`, with one job name per kind,
// on the same Redis as the tiles under `<prefix>:bull`. Every job kind's input is checked
// here with zod, so the API, the CLI and the worker accept exactly the same things.
// Completed and failed jobs are kept for a bounded time and count (every key has a
// retention); failures are retried with exponential backoff.
import { Queue, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../../config/config.js';
import type { BackfillResume } from './backfill.js';

export const QUEUE_NAME = 'tessera-jobs';

export const JOB_KINDS = ['backfill', 'training-dataset', 'retention', 'skew'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

const epochMs = z.number().int().min(0).max(8.64e15);
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'expected a plain table name ([A-Za-z_][A-Za-z0-9_]*)');
const featureNames = z.array(z.string().min(1).max(200)).max(1000);

export const JOB_INPUT = {
  backfill: z.object({ from: epochMs, to: epochMs, names: featureNames.min(1).optional(), chunkEvents: z.number().int().positive().max(10_000_000).optional() }).strict(),
  'training-dataset': z.object({ labelsTable: identifier, names: featureNames.min(1), outputTable: identifier }).strict(),
  retention: z.object({ days: z.number().int().positive() }).strict(),
  skew: z.object({ sample: z.number().int().positive().max(100_000), seed: z.string().max(100).optional() }).strict(),
} as const;

export type JobInput<K extends JobKind> = z.infer<(typeof JOB_INPUT)[K]>;

export class JobInputError extends Error {
  override name = 'JobInputError';
}

/** Validates a job's input; throws JobInputError with one clear line. */
export function parseJobInput<K extends JobKind>(kind: K, input: unknown): JobInput<K> {
  const parsed = JOB_INPUT[kind].safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new JobInputError(`${kind}: ${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data as JobInput<K>;
}

/** What a job keeps between attempts: its input and, for resumable kinds, where to continue. */
export interface JobData {
  input: unknown;
  /** backfill: where it continues (the passes done, the last id finished in the next) */
  backfillResume?: BackfillResume;
  /** training dataset: the label chunks already in the output table */
  chunksDone?: number[];
}

export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 1_000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 5_000 },
};

/** BullMQ needs a connection that never gives up on a command (maxRetriesPerRequest null). */
export function jobsConnection(config: Config): Redis {
  return new Redis(config.redis.url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

export function bullPrefix(prefix: string): string {
  return `${prefix}:bull`;
}

export function createJobQueue(connection: Redis, prefix: string): Queue<JobData, unknown, JobKind> {
  return new Queue<JobData, unknown, JobKind>(QUEUE_NAME, { connection, prefix: bullPrefix(prefix), defaultJobOptions: DEFAULT_JOB_OPTIONS });
}

/** Adds a job after validating its input. */
export async function enqueue<K extends JobKind>(queue: Queue<JobData, unknown, JobKind>, kind: K, input: unknown): Promise<Job<JobData, unknown, JobKind>> {
  const valid = parseJobInput(kind, input);
  return queue.add(kind, { input: valid });
}
