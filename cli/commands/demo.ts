// `tessera demo` / `npm run demo`: the whole product on the local stack. Brings the stack
// up; runs the online worker, the offline sink, the API and the job worker in this
// process; streams a generated clickstream (with its late, duplicate and malformed share)
// at a steady rate while a status line reports throughput, lag, freshness, part sizes and
// skew; then asks the API for a feature vector, runs a consistency check as a job, and
// prints the GraphiQL URL and commands to try next.
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { emptyKindCounts } from '../../fixtures/generator.js';
import { pumpGenerated } from '../../fixtures/pump.js';
import { startApiServer } from '../../api/server.js';
import { createClickHouse } from '../../offline/clickhouse-client.js';
import { createJobQueue, enqueue, jobsConnection } from '../../offline/jobs/queue.js';
import { startJobWorker } from '../../offline/jobs/worker.js';
import { startOfflineSink } from '../../offline/sink/sink.js';
import { up } from '../../stack/stack.js';
import { startOnlineWorker } from '../../streams/online/worker.js';
import { createKafka } from '../../streams/kafka-client.js';
import { openEventProducer } from '../../streams/producer.js';
import { startStatusLine } from '../demo/status.js';

interface DemoOptions {
  seconds: number;
  rate: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('run the whole product on the local stack: stream, online + offline + API + jobs, a live status line')
    .option('--seconds <n>', 'how long to stream', (v) => Number(v), 30)
    .option('--rate <n>', 'events per second', (v) => Number(v), 2000)
    .action(async (opts: DemoOptions) => {
      const config = loadConfig();
      const startedAt = Date.now();
      console.log('1/5 bringing the local stack up (the first run installs Kafka, ClickHouse and Redis)');
      for (const r of await up(config, (m) => console.log(`    ${m}`))) console.log(`    ${r.service.padEnd(10)} ${r.outcome} (${(r.ms / 1000).toFixed(1)} s)`);

      console.log('2/5 starting the online worker, offline sink, GraphQL API and job worker');
      const online = await startOnlineWorker({ config });
      const sink = await startOfflineSink({ config });
      const api = await startApiServer(config);
      const jobs = await startJobWorker({ config });
      const admin = createKafka(config, 'demo-admin').admin();
      await admin.connect();
      const clickhouse = createClickHouse(config);
      const producer = await openEventProducer(config, { role: 'demo' });
      let streaming = true;
      const status = startStatusLine({
        config, admin, clickhouse, online: online.metrics.registry, jobs: jobs.metrics, produced: () => producer.stats().sent, streaming: () => streaming,
        groups: config.groups, startedAt,
      });
      const kinds = emptyKindCounts();
      const perUser = new Map<string, number>();
      try {
        console.log(`3/5 streaming ${opts.rate} events/s for ${opts.seconds} s into ${config.topics.events}`);
        await pumpGenerated({
          seed: String(Date.now()), startMs: Date.now(), rate: opts.rate, durationS: opts.seconds, users: 5_000, items: 2_000,
          outOfOrder: 0.05, outOfOrderMaxMs: 30_000, late: 0.01, duplicates: 0.01, malformed: 0.01,
          allowedLatenessMs: config.events.allowedLatenessMs, maxBytes: config.events.maxBytes,
        }, producer, { realtime: true, onRecord: (r) => { kinds[r.kind] += 1; if (r.kind === 'valid') perUser.set(r.key, (perUser.get(r.key) ?? 0) + 1); } });
        streaming = false;
        console.log(`    produced ${Object.values(kinds).reduce((a, b) => a + b, 0)} records (valid ${kinds.valid}, late ${kinds.late}, duplicate ${kinds.duplicate}, malformed ${kinds.malformed}); waiting for the sink's next flush`);
        await sleep(7_000);

        const busiest = [...perUser].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'u1';
        const query = `{ features(entity: "user", ids: [${JSON.stringify(busiest)}], names: ["user_views_1h", "user_distinct_items_1h", "user_last_5_items", "user_session_events", "user_seconds_since_last_event"]) { id asOf source values } }`;
        const key = config.api.keys.split(',').map((k) => k.split(':')).find((k) => (k[2] ?? '').includes('read'))?.[1] ?? '';
        const res = await fetch(`http://127.0.0.1:${config.api.port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query }) });
        console.log('4/5 a feature vector from the API:');
        console.log(`    curl -s localhost:${config.api.port}/graphql -H 'authorization: Bearer ${key}' -H 'content-type: application/json' -d '${JSON.stringify({ query })}'`);
        console.log(JSON.stringify(await res.json(), null, 2).split('\n').map((l) => `    ${l}`).join('\n'));

        console.log('5/5 consistency check (a skew job: online answers vs ClickHouse recomputation)');
        const connection = jobsConnection(config);
        const queue = createJobQueue(connection, config.redis.prefix);
        const job = await enqueue(queue, 'skew', { sample: 100 });
        for (let i = 0; i < 240; i++) {
          const state = await job.getState();
          if (state === 'completed' || state === 'failed') break;
          await sleep(500);
        }
        const done = await queue.getJob(String(job.id));
        const report = done?.returnvalue as { compared: number; mismatches: number; skipped: number } | undefined;
        console.log(report ? `    ${report.compared} values compared, ${report.mismatches} mismatches, ${report.skipped} not answerable exactly by Redis` : `    check did not finish: ${done?.failedReason ?? 'timeout'}`);
        await queue.close();
        connection.disconnect();
        await sleep(3_000);
      } finally {
        status.stop();
        await producer.close();
        await admin.disconnect();
        await clickhouse.close();
        await jobs.stop();
        await api.stop();
        await sink.stop();
        await online.stop();
      }
      console.log(`done. GraphiQL (while \`tessera run\` serves): http://127.0.0.1:${config.api.port}/graphql`);
      console.log('next: `npx tessera run` (all processes), `npx tessera skew --sample 200`, `npx tessera backfill`, `npx tessera dataset --labels labels.csv --names user_views_24h --out out.csv`');
    });
}
