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

type AnyJob = Job<JobData, unknown, JobKind>;

/**
 * The job's view. `job` is a snapshot read before `getState()`: a job that finishes in
 * between would show state 'completed' with the snapshot's empty result. So when the
 * state is final, the job is read again (`reload`): a finished job's data no longer moves.
 */
export async function viewOf(snapshot: AnyJob, reload: () => Promise<AnyJob | undefined | null>): Promise<JobView> {
  const state = await snapshot.getState();
  const job = state === 'completed' || state === 'failed' ? ((await reload()) ?? snapshot) : snapshot;
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

/** The current view of job `id`, or null when the queue does not know it. */
export async function jobView(queue: Queue<JobData, unknown, JobKind>, id: string): Promise<JobView | null> {
  const job = await queue.getJob(id);
  return job === undefined || job === null ? null : viewOf(job, () => queue.getJob(id));
}

export function queueJobSource(queue: Queue<JobData, unknown, JobKind>): JobSource {
  const started = async (job: AnyJob) => viewOf(job, () => queue.getJob(String(job.id)));
  return {
    backfill: async (input) => started(await enqueue(queue, 'backfill', input)),
    trainingDataset: async (input) => started(await enqueue(queue, 'training-dataset', input)),
    get: (id) => jobView(queue, id),
  };
}
