// Crash safety of `tessera run --offline` for real: the sink runs as its own OS process
// (sink-runner.ts) and is killed with SIGKILL ten times while a 500,000-event stream (late,
// duplicate, malformed, out-of-order events) is being produced at a steady rate over ~90 s
// (so every kill lands while there is work), each time restarted. Kill
// moments are random: a random time after start (joining, consuming or flushing), or right
// after a flush's INSERT was acknowledged (states and offsets not written yet), or right
// after its state write (offsets not committed yet). Afterwards:
// - the set of event keys (user_id, event_time, event_id) in `events` equals the set of
//   accepted events produced (the generator's ground truth, which the reference evaluator
//   agrees with: sink.kafka.test.ts, judge.test.ts);
// - count() FINAL equals it too, and so does the plain count() after OPTIMIZE ... FINAL
//   (re-inserted copies collapse into one row);
// - rejected_events holds each DLQ record once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../fixtures/random.js';
import { waitForGroup } from '../../streams/test-support.js';
import { execute, selectRows } from '../query.js';
import { sql, str, table } from '../sql.js';
import type { SinkLimits } from './sink.js';
import { produceDlq, produceSteady, sinkTestEnv, spawnSink, storedKeys } from './test-support.js';

const COUNT = Number(process.env.TESSERA_TEST_SINK_CRASH_EVENTS ?? 500_000);
const KILLS = 10;
const PRODUCE_S = 90;
// Small flushes, so every life of the sink flushes several times and kills land between
// flush steps; a short session (10 s, the broker allows 6 s; loaded machines miss that), so
// a killed member's partitions move soon.
const LIMITS: Partial<SinkLimits> = { flushRows: 20_000, flushMs: 1_000, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function count(env: Awaited<ReturnType<typeof sinkTestEnv>>, name: string, final: boolean): Promise<number> {
  const [row] = await selectRows<{ n: string }>(env.t.client(), final
    ? sql`SELECT toString(count()) AS n FROM ${table(env.t.db, name)} FINAL`
    : sql`SELECT toString(count()) AS n FROM ${table(env.t.db, name)}`);
  return Number(row?.n ?? 0);
}

test(`kill -9 of the sink process at ${KILLS} random moments during a ${COUNT}-event run, each restarted: exactly the accepted events`, { timeout: 900_000 }, async () => {
  const env = await sinkTestEnv('offkill');
  try {
    const t0 = Date.now();
    const producing = produceSteady(env.config, {
      seed: 'sink-kill', startMs: Date.now(), rate: COUNT / PRODUCE_S, count: COUNT,
      users: 5_000, items: 2_000, late: 0.01, duplicates: 0.01, malformed: 0.01, outOfOrder: 0.05, outOfOrderMaxMs: 60_000,
      allowedLatenessMs: env.config.events.allowedLatenessMs,
    }, { keepAcceptedKeys: true });
    const rng = new Rng('sink-kill-moments');
    const moments: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const sink = spawnSink(env, { limits: LIMITS });
      await sink.ready;
      const r = rng.next();
      if (r < 0.3) {
        const ms = 500 + Math.floor(rng.next() * 3_500);
        await sleep(ms);
        moments.push(`${((Date.now() - t0) / 1000).toFixed(0)} s: ${ms} ms after start`);
      } else {
        const step = r < 0.65 ? 'inserted' : 'stored';
        const hit = await sink.nextStep(step, 30_000);
        moments.push(`${((Date.now() - t0) / 1000).toFixed(0)} s: ${hit ? `right after a flush's ${step === 'inserted' ? 'INSERT' : 'state write'}` : `no ${step} step in 30 s`}`);
      }
      await sink.kill9();
    }
    const run = await producing;
    const dlqCount = await produceDlq(env, run.malformed);

    const last = spawnSink(env, { limits: LIMITS });
    await last.ready;
    await waitForGroup(env.kafka, env.groupId, env.config.topics.events, 600_000);
    await waitForGroup(env.kafka, env.groupId, env.config.topics.dlq, 60_000);
    const report = await last.stop();

    const want = run.acceptedKeys;
    const got = await storedKeys(env.t.client(), env.t.db);
    const rawBefore = got.rawRows;
    console.log(`sink crash: ${run.produced} records in ${run.seconds.toFixed(0)} s, ${want.length} accepted; kills at ${moments.join('; ')}; `
      + `${rawBefore} raw rows (copies inserted by replays are mostly merged away by now); the last sink skipped ${report.replayed} records by marker`);
    assert.ok(moments.some((m) => m.includes('INSERT')) && moments.some((m) => m.includes('state write')), 'kills between flush steps happened');
    assert.equal(got.keys.length, want.length);
    assert.deepStrictEqual(got.keys, want, 'the stored event keys are exactly the accepted ones');
    assert.equal(await count(env, 'events', true), want.length, 'count() FINAL');

    const partitions = await selectRows<{ partition: string }>(env.t.client(), sql`
      SELECT DISTINCT partition FROM system.parts WHERE database = ${str(env.t.db)} AND table = 'events' AND active`);
    for (const p of partitions) await execute(env.t.client(), sql`OPTIMIZE TABLE ${table(env.t.db, 'events')} PARTITION ${str(p.partition)} FINAL`);
    assert.equal(await count(env, 'events', false), want.length, 'plain count() after OPTIMIZE ... FINAL');
    assert.equal(await count(env, 'rejected_events', true), dlqCount, 'each DLQ record once');
  } finally {
    await env.cleanup();
  }
});
