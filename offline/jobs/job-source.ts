// The job system as the API and the CLI see it: start a job (validated input), look one up
// by id. Jobs only wait in the queue until a `tessera run --jobs` worker takes them.
import type { Job, Queue } from 'bullmq';
import type { JobSource, JobView } from '../../api/sources.js';
import { enqueue, type JobData, type JobKind } from './queue.js';

/** 0..1 from what the processors report ({ fraction }) or BullMQ's plain number. */
function fractionOf(progress: unknown): number | null {
  if (typeof progress === 'number') return progress > 1 ? progress / 100 : progress;
  if (typeof progress === 'object' && progress !== null && 'fraction' in progress) {
    const f = (progress as { fraction: unknown }).fraction;
    return typeof f === 'number' ? f : null;
  }
  return null;
}

export async function viewOf(job: Job<JobData, unknown, JobKind>): Promise<JobView> {
  const state = await job.getState();
  return {
    id: String(job.id),
    kind: job.name,
    state,
    progress: state === 'completed' ? 1 : fractionOf(job.progress),
    createdAt: job.timestamp ?? null,
    finishedAt: job.finishedOn ?? null,
    error: job.failedReason ? job.failedReason : null,
    result: job.returnvalue ?? null,
  };
}

export function queueJobSource(queue: Queue<JobData, unknown, JobKind>): JobSource {
  return {
    backfill: async (input) => viewOf(await enqueue(queue, 'backfill', input)),
    trainingDataset: async (input) => viewOf(await enqueue(queue, 'training-dataset', input)),
    async get(id) {
      const job = await queue.getJob(id);
      return job === undefined || job === null ? null : viewOf(job);
    },
  };
}
