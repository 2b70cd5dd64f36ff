// job(id) must never show a finished job without its result: the job is read, then its
// state; a job that finishes in between was reported 'completed' with result null (seen
// as a flaky API test under load). Reproduced here deterministically with a stale snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { QueueEvents, Worker } from 'bullmq';
import { loadConfig } from '../../config/config.js';
import { deletePrefix } from '../../store/redis-client.js';
import { jobView, queueJobSource, viewOf } from './job-source.js';
import { bullPrefix, createJobQueue, enqueue, jobsConnection, QUEUE_NAME } from './queue.js';

test('a job that finishes between the read and getState is shown with its result', { timeout: 60_000 }, async () => {
  const config = loadConfig();
  const prefix = `jobsrc${randomBytes(4).toString('hex')}`;
  const connection = jobsConnection(config);
  const queue = createJobQueue(connection, prefix);
  // BullMQ does not close connections it was given: each is ours to disconnect.
  const eventsConnection = jobsConnection(config);
  const workerConnection = jobsConnection(config);
  const events = new QueueEvents(QUEUE_NAME, { connection: eventsConnection, prefix: bullPrefix(prefix) });
  let worker: Worker | undefined;
  try {
    await events.waitUntilReady();
    const job = await enqueue(queue, 'retention', { days: 30 });
    const stale = await queue.getJob(String(job.id));
    assert.ok(stale);
    worker = new Worker(QUEUE_NAME, async () => ({ rows: 7 }), { connection: workerConnection, prefix: bullPrefix(prefix) });
    await job.waitUntilFinished(events, 30_000);

    assert.equal(stale.returnvalue ?? null, null, 'the snapshot predates the result (the race being tested)');
    const view = await viewOf(stale, () => queue.getJob(String(job.id)));
    assert.equal(view.state, 'completed');
    assert.deepEqual(view.result, { rows: 7 });
    assert.equal(view.progress, 1);
    assert.ok(view.finishedAt !== null);
    assert.deepEqual((await jobView(queue, String(job.id)))?.result, { rows: 7 });
    assert.deepEqual((await queueJobSource(queue).get(String(job.id)))?.result, { rows: 7 });
    assert.equal(await jobView(queue, 'no-such-job'), null);
  } finally {
    await worker?.close();
    await events.close();
    await queue.close();
    await deletePrefix(connection, prefix);
    for (const c of [connection, eventsConnection, workerConnection]) c.disconnect();
  }
});
