// Backfill and the consistency check on the real services. One generated stream (late,
// duplicate, malformed, out-of-order events) goes through the online worker (Redis) and
// the offline sink (ClickHouse); then:
// - `skew` finds 0 mismatches;
// - Redis tiles wiped, a backfill job (BullMQ worker) over the whole range restores every
//   probe's value, equal to before and to the reference; a second run changes nothing;
// - the same with the worker (`tessera run --jobs`, a real process) killed -9 half-way and
//   restarted: the job resumes from its last chunk and ends with the same values;
// - a corrupted tile is reported by `skew` (the function, the CLI's exit code 1, the
//   job's tessera_skew_mismatches gauge).
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { PROJECT_ROOT } from '../../config/config.js';
import { tilePrefix } from '../../core/codec.js';
import { floorTo } from '../../core/windows.js';
import { checkProbes, randomProbes, type Probe } from '../../store/probe-support.js';
import { FeatureReader } from '../../store/reader.js';
import { createRedis } from '../../store/redis-client.js';
import { KeySpace } from '../../store/keys.js';
import { pipelineEnv, readProbes, waitForJob, wipeTiles, type PipelineEnv, type ProbeValue } from './jobs-support.js';
import { createJobQueue, enqueue, jobsConnection } from './queue.js';
import { runSkewCheck } from './skew.js';
import { startJobWorker } from './worker.js';

const execFileAsync = promisify(execFile);
let env: PipelineEnv;
let redis: Redis;
let reader: FeatureReader;
let probes: Probe[];
let truth: ProbeValue[];
let range: { from: number; to: number };
const wallNow = Date.now();

before(async () => {
  env = await pipelineEnv('bkf', 24_000, { rate: 0.3 });
  redis = createRedis(env.config);
  reader = new FeatureReader(redis, env.prefix, env.registry);
  probes = randomProbes(env.registry, env.accepted, 1_200, 'bkf');
  truth = await readProbes(reader, probes, wallNow);
  const times = env.accepted.map((e) => e.event_time);
  range = { from: Math.min(...times), to: Math.max(...times) + 1 };
}, { timeout: 600_000 });

after(async () => {
  redis?.disconnect();
  await env?.cleanup();
});

/** Every probe exact both times has the same value; returns how many were compared. */
function assertSameAsTruth(now: ProbeValue[]): number {
  let compared = 0;
  now.forEach((v, i) => {
    const t = truth[i] as ProbeValue;
    if (!v.exact || !t.exact) return;
    const p = probes[i] as Probe;
    assert.deepEqual(v.value, t.value, `${p.entity} ${p.id} ${p.name} at ${new Date(p.T).toISOString()}`);
    compared += 1;
  });
  return compared;
}

const trivial = (v: unknown): boolean => v === null || v === 0 || (Array.isArray(v) && v.length === 0);

const skewDeps = () => ({ clickhouse: env.t.client(), database: env.t.db, redis, prefix: env.prefix, registry: env.registry, maxFutureMs: env.config.events.maxFutureMs });

test('skew: online and offline agree after the pipeline (0 mismatches)', { timeout: 300_000 }, async () => {
  const report = await runSkewCheck(skewDeps(), { sample: 200, seed: 'bkf', wallNow });
  console.log(`skew: ${report.entities} entities, ${report.compared} compared, ${report.skipped} skipped, ${report.mismatches} mismatches in ${report.ms.toFixed(0)} ms`);
  assert.ok(report.compared >= 2_000, `only ${report.compared} values compared`);
  assert.equal(report.mismatches, 0, JSON.stringify(report.examples.slice(0, 5)));
  const cli = await skewCli();
  assert.equal(cli.code, 0, cli.stdout + cli.stderr);
  assert.match(cli.stdout, / 0 mismatches/);
});

/** `tessera skew` as a user runs it (its own process), on this test's data. */
async function skewCli(): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [path.join(PROJECT_ROOT, 'bin/tessera.js'), 'skew', '--sample', '400', '--seed', 'bkf'], { cwd: PROJECT_ROOT, env: childEnv() });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function childEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env, TESSERA_REDIS_PREFIX: env.prefix, TESSERA_CLICKHOUSE_DB: env.t.db, TESSERA_JOB_LOCK_MS: '2000',
    TESSERA_SKEW_EVERY_MS: '0', TESSERA_RETENTION_DAYS: '1000000', TESSERA_METRICS_PORT: '0', TESSERA_LOG_LEVEL: 'warn',
    TESSERA_ALLOWED_LATENESS_MS: String(env.config.events.allowedLatenessMs),
  };
}

test('Redis wiped, then a backfill job over the whole range: every probe as before, twice', { timeout: 600_000 }, async () => {
  assert.ok(await wipeTiles(redis, env.prefix) > 0);
  const wiped = await readProbes(reader, probes, wallNow);
  // Old entities without keys are "unknown" to the reader now (not answered), never answered with their old values.
  const kept = wiped.filter((v, i) => v.exact && !trivial(v.value) && JSON.stringify(v.value) === JSON.stringify(truth[i]?.value)).length;
  assert.equal(kept, 0, `${kept} non-trivial values survived the wipe`);

  const worker = await startJobWorker({ config: env.config, prefix: env.prefix, database: env.t.db, registry: env.registry });
  const connection = jobsConnection(env.config);
  const queue = createJobQueue(connection, env.prefix);
  try {
    for (const run of [1, 2]) {
      const job = await enqueue(queue, 'backfill', { ...range, chunkEvents: 3_000 });
      const end = await waitForJob(queue, String(job.id), 300_000);
      assert.equal(end.state, 'completed', end.failedReason);
      const compared = assertSameAsTruth(await readProbes(reader, probes, wallNow));
      const ref = await checkProbes(reader, env.registry, env.accepted, probes, wallNow);
      console.log(`backfill run ${run}: ${JSON.stringify(end.result)}; ${compared} probes equal to before the wipe; reference: ${JSON.stringify({ exact: ref.exact, nonTrivial: ref.nonTrivial })}`);
      assert.ok(compared >= 500, `only ${compared} probes comparable`);
      assert.ok(ref.nonTrivial >= 200, `only ${ref.nonTrivial} non-trivial values`);
    }
  } finally {
    await queue.close();
    connection.disconnect();
    await worker.stop();
  }
});

function jobsProcess(): ChildProcess {
  return spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/tessera.js'), 'run', '--jobs'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: childEnv(),
  });
}

test('backfill with its worker process killed -9 half-way, then restarted: resumes and ends equal', { timeout: 600_000 }, async () => {
  await wipeTiles(redis, env.prefix);
  const connection = jobsConnection(env.config);
  const queue = createJobQueue(connection, env.prefix);
  let child = jobsProcess();
  try {
    const job = await enqueue(queue, 'backfill', { ...range, chunkEvents: 1_000 });
    const mid = await waitForJob(queue, String(job.id), 300_000, (state, p) => state === 'completed' || (typeof p === 'object' && p !== null && (p as { fraction: number }).fraction >= 0.3));
    assert.notEqual(mid.state, 'completed', 'the job finished before it could be killed');
    const total = (mid.progress as { chunks: number }).chunks;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const stalled = await queue.getJob(String(job.id));
    console.log(`killed at ${JSON.stringify(mid.progress)}; job state now ${await stalled?.getState()}, resume ${JSON.stringify(stalled?.data.backfillResume)}`);
    child = jobsProcess();
    const end = await waitForJob(queue, String(job.id), 300_000);
    assert.equal(end.state, 'completed', end.failedReason);
    const resumed = end.result as { chunks: number };
    console.log(`resumed run: ${JSON.stringify(end.result)} (first run planned ${total} chunks)`);
    assert.ok(resumed.chunks < total, `the restarted job did ${resumed.chunks} of ${total} chunks: it did not resume`);
    const compared = assertSameAsTruth(await readProbes(reader, probes, wallNow));
    assert.ok(compared >= 500, `only ${compared} probes comparable`);
    await checkProbes(reader, env.registry, env.accepted, probes, wallNow);
  } finally {
    child.kill('SIGKILL');
    await queue.close();
    connection.disconnect();
  }
});

test('skew reports a corrupted Redis tile', { timeout: 300_000 }, async () => {
  // The busiest user's last view: corrupt the 5-minute tile holding it (user_views_24h).
  const counts = new Map<string, number>();
  for (const e of env.accepted) counts.set(e.user_id, (counts.get(e.user_id) ?? 0) + 1);
  const user = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] as string;
  const def = env.registry.get('user_views_24h');
  const series = env.registry.seriesOf(def as Parameters<typeof env.registry.seriesOf>[0]);
  const lastView = Math.max(...env.accepted.filter((e) => e.user_id === user && e.event_type === 'view').map((e) => e.event_time));
  const key = new KeySpace(env.prefix).tiles('user', user, series.tileMs);
  // The tile's view COUNT (part n). Not "the first field of the tile in HKEYS": that order
  // depends on the Redis process's random hash seed, and the tile's hi or lo bound moved by
  // 7 ms changes no value (a later hi only makes the reading at the user's last T inexact),
  // so skew rightly found nothing on a fresh Redis where hi or lo came first.
  // After a backfill the count is in the tile's `t` summary (core/codec.ts), and a
  // separate n field adds to it, as the stream worker's increments do.
  const prefix = tilePrefix(floorTo(lastView, series.tileMs), series.tileMs, series.id);
  const stored = (await redis.hexists(key, `${prefix}:t`)) + (await redis.hexists(key, `${prefix}:n`));
  assert.ok(stored > 0, `no tile ${prefix} in ${key}`);
  await redis.hincrby(key, `${prefix}:n`, 7);

  const report = await runSkewCheck(skewDeps(), { sample: 2_000, seed: 'bkf', wallNow });
  console.log(`skew after corruption: ${report.mismatches} mismatches; ${JSON.stringify(report.examples.slice(0, 3))}`);
  assert.ok(report.mismatches >= 1);
  const hits = report.examples.filter((m) => m.id === user && m.feature === 'user_views_24h');
  assert.ok(hits.length > 0, 'the corrupted user is not among the examples');
  for (const m of hits) assert.equal((m.online as number) - (m.offline as number), 7, `online is not the offline count + 7: ${JSON.stringify(m)}`);

  const cli = await skewCli();
  assert.equal(cli.code, 1, 'tessera skew exits 1 on a mismatch');
  assert.match(cli.stdout, new RegExp(`user "${user}" user_views_24h`));

  // As a job: the worker exports the result as the tessera_skew_mismatches gauge.
  const worker = await startJobWorker({ config: env.config, prefix: env.prefix, database: env.t.db, registry: env.registry });
  const connection = jobsConnection(env.config);
  const queue = createJobQueue(connection, env.prefix);
  try {
    const job = await enqueue(queue, 'skew', { sample: 2_000, seed: 'bkf' });
    assert.equal((await waitForJob(queue, String(job.id), 300_000)).state, 'completed');
    const gauge = /^tessera_skew_mismatches (\d+)$/m.exec(await worker.metrics.metrics());
    assert.ok(gauge && Number(gauge[1]) >= 1, 'the skew gauge shows the mismatch');
  } finally {
    await queue.close();
    connection.disconnect();
    await worker.stop();
  }
});
