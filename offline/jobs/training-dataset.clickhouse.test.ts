// Training datasets on the real ClickHouse and BullMQ (Redis): a labels table in, an
// output table out with every requested feature as of each label's ts.
// - Leakage: events planted at ts - 1 ms are counted, events at ts and ts + 1 ms are not,
//   for every window kind (sliding, tumbling, hopping, session, recency, last-N, top-K):
//   the dataset equals the values computed from only the events before ts, and differs
//   from the values without the planted ts - 1 event.
// - 600 random user labels and 300 random item labels equal the reference evaluator.
// - `tessera dataset` (the CLI: CSV in, job, CSV out) gives the same values.
// - the API's trainingDataset mutation and job(id); bad input fails at once, with the reason.
// - many chunks, two in flight, stopped after some and resumed: the same rows, once each.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { PROJECT_ROOT } from '../../config/config.js';
import { decodeEvent, type ClickEvent } from '../../core/event.js';
import type { Entity, FeatureValue } from '../../core/features/definition.js';
import { createRegistry, type Registry } from '../../core/features/registry.js';
import { referenceAccept, referenceValue } from '../../core/reference.js';
import { generateClickstream } from '../../fixtures/generator.js';
import { Rng } from '../../fixtures/random.js';
import { byEntity } from '../features/test-fixtures.js';
import { migrate } from '../migrate.js';
import { execute, insertRows, selectRows } from '../query.js';
import { sql, table } from '../sql.js';
import { createTestDatabase, insertEvents, type TestDatabase } from '../test-support.js';
import { ADMIN_KEY, codes, gql, startTestApi, testConfig } from '../../api/test-support.js';
import { queueJobSource } from './job-source.js';
import { createJobQueue, enqueue, jobsConnection } from './queue.js';
import { waitForJob } from './jobs-support.js';
import { startJobWorker, type JobWorker } from './worker.js';
import { runTrainingDataset, type TrainingDatasetProgress } from './training-dataset.js';

const execFileAsync = promisify(execFile);
const LATENESS = 10 * 60_000;
const HALF_HOUR = 30 * 60_000;
const prefix = `ttds${process.pid}`;
let t: TestDatabase;
let registry: Registry;
let accepted: ClickEvent[];
let worker: JobWorker;
let labelSpecs: Array<{ id: string; ts: number }>;

before(async () => {
  t = await createTestDatabase('dataset');
  await migrate(t.admin, t.db);
  registry = createRegistry({ latenessMs: LATENESS });
  const decoded: ClickEvent[] = [];
  for (const r of generateClickstream({ seed: 'dataset', startMs: Date.UTC(2024, 5, 3), rate: 0.1, durationS: 2 * 86_400, users: 100, items: 200, late: 0.02, duplicates: 0.03, malformed: 0.01, outOfOrder: 0.1 })) {
    const res = decodeEvent(r.value, r.clockMs);
    if (res.ok) decoded.push(res.event);
  }
  accepted = referenceAccept(decoded, LATENESS);
  // Planted events around half-hour-aligned label times (so ts - 1 lies in the last
  // completed tumbling and hopping windows too): views with an item and a category.
  const rng = new Rng('plant');
  const users = [...new Set(accepted.map((e) => e.user_id))];
  labelSpecs = users.slice(0, 40).map((id) => ({ id, ts: Math.floor((Date.UTC(2024, 5, 3, 6) + rng.next() * 36 * 3600_000) / HALF_HOUR) * HALF_HOUR }));
  const plant = (id: string, time: number, tag: string): ClickEvent => ({ event_id: `plant-${tag}-${id}-${time}`, user_id: id, event_type: 'view', event_time: time, ingest_time: time, item_id: `plant-item-${tag}`, category: `plant-cat-${tag}`, price: 3, quantity: 1 });
  for (const l of labelSpecs) accepted.push(plant(l.id, l.ts - 1, 'before'), plant(l.id, l.ts, 'at'), plant(l.id, l.ts + 1, 'after'));
  await insertEvents(t.client(), t.db, accepted);
  worker = await startJobWorker({ config: t.config, prefix, database: t.db, registry });
}, { timeout: 300_000 });

after(async () => {
  await worker?.stop();
  const redis = jobsConnection(t.config);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await t?.drop();
});

async function dataset(labels: Array<{ id: string; ts: number; label: number }>, names: string[], out: string): Promise<Array<Record<string, unknown>>> {
  const labelsTable = `${out}_labels`;
  await execute(t.client(), sql`CREATE TABLE ${table(t.db, labelsTable)} (entity_id String, ts UInt64, label Float64) ENGINE = MergeTree ORDER BY (entity_id, ts)`);
  await insertRows(t.client(), table(t.db, labelsTable), labels.map((l) => ({ entity_id: l.id, ts: l.ts, label: l.label })));
  const connection = jobsConnection(t.config);
  const queue = createJobQueue(connection, prefix);
  try {
    const job = await enqueue(queue, 'training-dataset', { labelsTable, names, outputTable: out });
    const end = await waitForJob(queue, String(job.id), 300_000);
    assert.equal(end.state, 'completed', end.failedReason);
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return selectRows(t.client(), sql`SELECT * FROM ${table(t.db, out)}`);
}

/** A JSONEachRow cell as a feature value: Int64 cells (and Array(Int64) members) arrive as strings. */
const asValue = (v: unknown): FeatureValue => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' && /^-?\d+$/.test(x) ? Number(x) : x)) as FeatureValue : v === null ? null : Number(v));

test('no leakage: events at ts and after are excluded, the event at ts - 1 ms included, for every window kind', { timeout: 300_000 }, async () => {
  const names = ['user_views_1h', 'user_views_10m_tumbling', 'user_events_30m_hop_5m', 'user_session_events', 'user_session_duration_s', 'user_seconds_since_last_event', 'user_last_5_items', 'user_top_3_categories_7d', 'user_distinct_items_1h'];
  const rows = await dataset(labelSpecs.map((l) => ({ ...l, label: 1 })), names, 'leak');
  assert.equal(rows.length, labelSpecs.length);
  const own = byEntity(accepted).user;
  let differs = 0;
  for (const row of rows) {
    const id = String(row.entity_id);
    const ts = Number(row.ts);
    const events = own.get(id) ?? [];
    const past = events.filter((e) => e.event_time < ts);
    const withoutBefore = past.filter((e) => !e.event_id.startsWith('plant-before'));
    for (const name of names) {
      const got = asValue(row[name]);
      assert.deepEqual(got, referenceValue(registry.features, past, 'user', id, name, ts), `${name} of ${id} at ${ts}: must equal the value from events before ts only`);
      if (JSON.stringify(got) !== JSON.stringify(referenceValue(registry.features, withoutBefore, 'user', id, name, ts))) differs += 1;
    }
  }
  // Every feature of every label moves with the ts - 1 event except where it cannot
  // (a top-3 already full of more frequent categories); most must.
  assert.ok(differs >= names.length * labelSpecs.length * 0.8, `the ts - 1 event changed only ${differs} of ${names.length * labelSpecs.length} values`);
});

function randomLabels(entity: Entity, n: number): Array<{ id: string; ts: number; label: number }> {
  const rng = new Rng(`labels-${entity}`);
  const ids = [...byEntity(accepted)[entity].keys()];
  const lo = Math.min(...accepted.map((e) => e.event_time));
  const hi = Math.max(...accepted.map((e) => e.event_time));
  return Array.from({ length: n }, (_, i) => ({ id: ids[Math.floor(rng.next() * ids.length)] as string, ts: lo + Math.floor(rng.next() * (hi - lo + 3_600_000)), label: i % 2 }));
}

for (const [entity, n] of [['user', 600], ['item', 300]] as const) {
  test(`${n} random ${entity} labels x every ${entity} feature equal the reference`, { timeout: 300_000 }, async () => {
    const names = registry.features.filter((f) => f.entity === entity).map((f) => f.name);
    const labels = randomLabels(entity, n);
    const rows = await dataset(labels, names, `rand_${entity}`);
    assert.equal(rows.length, n);
    const own = byEntity(accepted)[entity];
    let nonTrivial = 0;
    for (const row of rows) {
      const id = String(row.entity_id);
      assert.ok(row.label === 0 || row.label === 1, 'label column carried through');
      for (const name of names) {
        const expected = referenceValue(registry.features, own.get(id) ?? [], entity, id, name, Number(row.ts));
        assert.deepEqual(asValue(row[name]), expected, `${name} of ${id} at ${row.ts}`);
        if (expected !== null && expected !== 0 && !(Array.isArray(expected) && expected.length === 0)) nonTrivial += 1;
      }
    }
    assert.ok(nonTrivial >= n, `only ${nonTrivial} non-trivial values`);
  });
}

test('tessera dataset: labels CSV in, CSV with the features out, in input order', { timeout: 300_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-dataset-'));
  const labels = randomLabels('user', 50);
  const input = path.join(dir, 'labels.csv');
  fs.writeFileSync(input, `entity_id,ts,clicked\n${labels.map((l, i) => `${l.id},${i % 2 === 0 ? l.ts : new Date(l.ts).toISOString()},${l.label}`).join('\n')}\n`);
  const out = path.join(dir, 'out.csv');
  const names = ['user_views_24h', 'user_last_5_items', 'user_avg_view_price_24h'];
  // Asynchronously: this process's job worker must keep running while the CLI waits for it.
  await execFileAsync(process.execPath, [path.join(PROJECT_ROOT, 'bin/tessera.js'), 'dataset', '--labels', input, '--names', names.join(','), '--out', out], {
    cwd: PROJECT_ROOT, env: { ...process.env, TESSERA_CLICKHOUSE_DB: t.db, TESSERA_REDIS_PREFIX: prefix, TESSERA_LOG_LEVEL: 'warn' },
  });
  const rows = parse(fs.readFileSync(out, 'utf8'), { columns: true }) as Array<Record<string, string>>;
  assert.deepEqual(Object.keys(rows[0] ?? {}), ['entity_id', 'ts', 'clicked', ...names]);
  assert.equal(rows.length, labels.length);
  const own = byEntity(accepted).user;
  rows.forEach((row, i) => {
    const l = labels[i] as { id: string; ts: number; label: number };
    assert.equal(row.entity_id, l.id);
    assert.equal(Number(row.ts), l.ts);
    assert.equal(Number(row.clicked), l.label);
    for (const name of names) {
      const expected = referenceValue(registry.features, own.get(l.id) ?? [], 'user', l.id, name, l.ts);
      const cell = row[name] ?? '';
      const got = Array.isArray(expected) ? JSON.parse(cell) : cell === '' ? null : Number(cell);
      assert.deepEqual(got, expected, `${name} of ${l.id} at ${l.ts}`);
    }
  });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('API: trainingDataset mutation (admin scope) starts the job, job(id) follows it to completed', { timeout: 300_000 }, async () => {
  const labelsTable = 'api_labels';
  await execute(t.client(), sql`CREATE TABLE ${table(t.db, labelsTable)} (entity_id String, ts UInt64) ENGINE = MergeTree ORDER BY (entity_id, ts)`);
  await insertRows(t.client(), table(t.db, labelsTable), randomLabels('user', 40).map((l) => ({ entity_id: l.id, ts: l.ts })));
  const connection = jobsConnection(t.config);
  const queue = createJobQueue(connection, prefix);
  const config = testConfig({ TESSERA_CLICKHOUSE_DB: t.db, TESSERA_REDIS_PREFIX: prefix });
  const server = await startTestApi({ config, prefix, jobs: queueJobSource(queue) });
  try {
    const denied = await gql(server.url, 'mutation { trainingDataset(labelsTable: "api_labels", names: ["user_views_1h"], outputTable: "api_out") { id } }');
    assert.deepEqual(codes(denied), ['FORBIDDEN'], 'a read key cannot start jobs');
    const started = await gql(server.url, 'mutation { trainingDataset(labelsTable: "api_labels", names: ["user_views_1h", "user_last_5_items"], outputTable: "api_out") { id kind state } }', { key: ADMIN_KEY });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const id = started.body.data.trainingDataset.id as string;
    assert.equal(started.body.data.trainingDataset.kind, 'training-dataset');
    let job: { state: string; progress: number | null; result: { rows: number } | null; error: string | null } | undefined;
    for (let i = 0; i < 600 && job?.state !== 'completed' && job?.state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      job = (await gql(server.url, `{ job(id: ${JSON.stringify(id)}) { state progress result error } }`, { key: ADMIN_KEY })).body.data.job;
    }
    assert.equal(job?.state, 'completed', job?.error ?? 'not finished');
    assert.equal(job?.progress, 1);
    assert.equal(job?.result?.rows, 40);
    const [n] = await selectRows<{ n: string }>(t.client(), sql`SELECT toString(count()) AS n FROM ${table(t.db, 'api_out')}`);
    assert.equal(Number(n?.n), 40);
    const unknown = await gql(server.url, '{ job(id: "no-such-job") { id } }', { key: ADMIN_KEY });
    assert.equal(unknown.body.data.job, null);
  } finally {
    await server.stop();
    await queue.close();
    connection.disconnect();
  }
});

test('a job with bad input fails at once with the reason and is kept; retention runs as a job', { timeout: 300_000 }, async () => {
  const connection = jobsConnection(t.config);
  const queue = createJobQueue(connection, prefix);
  try {
    const bad = await enqueue(queue, 'training-dataset', { labelsTable: 'no_such_labels', names: ['user_views_1h'], outputTable: 'never' });
    const end = await waitForJob(queue, String(bad.id), 120_000);
    assert.equal(end.state, 'failed');
    assert.match(end.failedReason ?? '', /LabelsTableError: labels table .*no_such_labels does not exist/);
    assert.equal((await queue.getJob(String(bad.id)))?.attemptsMade, 1, 'bad input is not retried');

    const retention = await enqueue(queue, 'retention', { days: 100_000 });
    const done = await waitForJob(queue, String(retention.id), 120_000);
    assert.equal(done.state, 'completed', done.failedReason);
    assert.deepEqual((done.result as { dropped: unknown[] }).dropped, [], 'nothing is older than 100,000 days');
    await assert.rejects(enqueue(queue, 'retention', { days: 0 }), /JobInputError|days/);
  } finally {
    await queue.close();
    connection.disconnect();
  }
});

test('chunks two at a time, stopped mid-way and resumed: the same rows as one chunk, each label once', { timeout: 300_000 }, async () => {
  const names = registry.features.filter((f) => f.entity === 'user').map((f) => f.name);
  const labels = randomLabels('user', 400);
  const labelsTable = 'chunked_labels';
  await execute(t.client(), sql`CREATE TABLE ${table(t.db, labelsTable)} (entity_id String, ts UInt64, label Float64) ENGINE = MergeTree ORDER BY (entity_id, ts)`);
  await insertRows(t.client(), table(t.db, labelsTable), labels.map((l, i) => ({ entity_id: l.id, ts: l.ts, label: i })));
  const deps = { clickhouse: t.client(), database: t.db, registry, maxFutureMs: t.config.events.maxFutureMs };
  const whole = await runTrainingDataset({ ...deps, chunkLabels: 1_000, concurrency: 1 }, { labelsTable, names, outputTable: 'chunked_whole' });
  assert.equal(whole.chunks, 1);

  // chunks of at most 40 labels (whole entities), two in flight; the first attempt is stopped after 3 chunks finish
  const input = { labelsTable, names, outputTable: 'chunked_resumed' };
  const stop = new AbortController();
  let last: TrainingDatasetProgress | undefined;
  await assert.rejects(runTrainingDataset({ ...deps, chunkLabels: 40, concurrency: 2 }, input, {
    signal: stop.signal,
    onProgress: (p) => {
      last = p;
      if (p.chunksDone.length >= 3) stop.abort();
    },
  }));
  const stopped = last as TrainingDatasetProgress;
  assert.ok(stopped.chunks >= 10, `${stopped.chunks} chunks of at most 40 labels`);
  assert.ok(stopped.chunksDone.length >= 3 && stopped.chunksDone.length < stopped.chunks, `stopped after ${stopped.chunksDone.length} chunks`);
  const resumed = await runTrainingDataset({ ...deps, chunkLabels: 40, concurrency: 2 }, input, { chunksDone: stopped.chunksDone });
  assert.equal(resumed.rows + stopped.rows, labels.length);

  const rows = (out: string) => selectRows<Record<string, unknown>>(t.client(), sql`SELECT * FROM ${table(t.db, out)} ORDER BY label`);
  const [a, b] = [await rows('chunked_whole'), await rows('chunked_resumed')];
  assert.equal(b.length, labels.length, 'every label exactly once');
  assert.deepEqual(b, a);
});
