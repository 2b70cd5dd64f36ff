// Running a job from the CLI: enqueue it, make sure some worker will take it (a
// `tessera run --jobs` process, or else one started in this process for the job's
// duration), and follow it with a progress bar until it completes or fails for good.
import type { Job, Queue } from 'bullmq';
import type { Config } from '../../config/config.js';
import { createProgress } from '../../fixtures/progress.js';
import { viewOf } from '../../offline/jobs/job-source.js';
import { createJobQueue, enqueue, jobsConnection, type JobData, type JobKind } from '../../offline/jobs/queue.js';
import { startJobWorker, type JobWorker } from '../../offline/jobs/worker.js';

export class JobFailedError extends Error {
  override name = 'JobFailed';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function noteOf(progress: unknown): string {
  if (typeof progress !== 'object' || progress === null) return '';
  const p = progress as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof p.chunksDone === 'number' && typeof p.chunks === 'number') parts.push(`chunk ${p.chunksDone}/${p.chunks}`);
  if (Array.isArray(p.chunksDone) && typeof p.chunks === 'number') parts.push(`chunk ${p.chunksDone.length}/${p.chunks}`);
  if (typeof p.entity === 'string') parts.push(`${p.entity}s`);
  if (typeof p.events === 'number') parts.push(`${p.events} events`);
  if (typeof p.rows === 'number') parts.push(`${p.rows} rows`);
  return parts.join(', ');
}

/** Runs one job to its end and returns its result; throws JobFailedError with the job's reason. */
export async function runJob(config: Config, kind: JobKind, input: unknown, label: string): Promise<unknown> {
  const connection = jobsConnection(config);
  const queue: Queue<JobData, unknown, JobKind> = createJobQueue(connection, config.redis.prefix);
  let local: JobWorker | undefined;
  try {
    const job: Job<JobData, unknown, JobKind> = await enqueue(queue, kind, input);
    if ((await queue.getWorkers()).length === 0) {
      process.stderr.write('no `tessera run --jobs` worker is running: running the job in this process\n');
      local = await startJobWorker({ config });
    }
    process.stderr.write(`job ${job.id} (${kind}) queued\n`);
    const bar = createProgress(label, 1000, '‰');
    try {
      for (;;) {
        const fresh = await queue.getJob(String(job.id));
        if (fresh === undefined || fresh === null) throw new JobFailedError(`job ${job.id} disappeared from the queue`);
        const view = await viewOf(fresh, () => queue.getJob(String(job.id)));
        bar.update(Math.round((view.progress ?? 0) * 1000), `${view.state}${noteOf(fresh.progress) ? `, ${noteOf(fresh.progress)}` : ''}`);
        if (view.state === 'completed') return view.result;
        if (view.state === 'failed') throw new JobFailedError(`job ${job.id} failed after ${fresh.attemptsMade} attempt(s): ${view.error ?? 'no reason given'}`);
        await sleep(250);
      }
    } finally {
      bar.stop();
    }
  } finally {
    await local?.stop();
    await queue.close();
    connection.disconnect();
  }
}
