// `tessera demo` / `npm run demo`: the main job on the local stack. Brings the stack up,
// runs the online worker, streams a generated clickstream (with its late, duplicate and
// malformed share) into Kafka at a steady rate, prints per-topic counts and what the worker
// accepted while it flows, and ends with the feature vector of the busiest user.
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config/config.js';
import { emptyKindCounts } from '../../fixtures/generator.js';
import { pumpGenerated } from '../../fixtures/pump.js';
import { createRegistry } from '../../core/features/registry.js';
import { up } from '../../stack/stack.js';
import { FeatureReader } from '../../store/reader.js';
import { startOnlineWorker } from '../../streams/online/worker.js';
import { createKafka } from '../../streams/kafka-client.js';
import { openEventProducer } from '../../streams/producer.js';

interface DemoOptions {
  seconds: number;
  rate: number;
}

async function topicCounts(config: Config): Promise<Record<string, number>> {
  const admin = createKafka(config, 'demo-admin').admin();
  await admin.connect();
  try {
    const out: Record<string, number> = {};
    for (const topic of [config.topics.events, config.topics.dlq]) {
      const offsets = await admin.fetchTopicOffsets(topic);
      out[topic] = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts).map(([t, n]) => `${t} ${n}`).join('  ');
}

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('run Tessera on the local stack: up, a steady generated stream, live per-topic counts')
    .option('--seconds <n>', 'how long to stream', (v) => Number(v), 20)
    .option('--rate <n>', 'events per second', (v) => Number(v), 2000)
    .action(async (opts: DemoOptions) => {
      const config = loadConfig();
      console.log('1/3 bringing the local stack up (first run installs Kafka, ClickHouse, Redis)');
      for (const r of await up(config, (m) => console.log(`    ${m}`))) console.log(`    ${r.service.padEnd(10)} ${r.outcome} (${(r.ms / 1000).toFixed(1)} s)`);
      const before = await topicCounts(config);
      console.log(`2/3 streaming ${opts.rate} events/s for ${opts.seconds} s into ${config.topics.events}; before: ${formatCounts(before)}`);
      const online = await startOnlineWorker({ config });
      const producer = await openEventProducer(config, { role: 'demo' });
      const kinds = emptyKindCounts();
      const perUser = new Map<string, number>();
      const counter = async (name: string): Promise<number> => (await online.metrics.registry.getSingleMetric(name)?.get())?.values.reduce((a, v) => a + v.value, 0) ?? 0;
      const ticker = setInterval(() => {
        void (async () => {
          const c = await topicCounts(config);
          console.log(`    ${new Date().toISOString().slice(11, 19)}  produced ${producer.stats().sent}  ${formatCounts(c)}  online: accepted ${await counter('tessera_online_events_accepted_total')}, to DLQ ${await counter('tessera_online_events_rejected_total')}`);
        })().catch(() => undefined);
      }, 2_000);
      try {
        await pumpGenerated({
          seed: String(Date.now()), startMs: Date.now(), rate: opts.rate, durationS: opts.seconds, users: 5_000, items: 2_000,
          outOfOrder: 0.05, outOfOrderMaxMs: 30_000, late: 0.01, duplicates: 0.01, malformed: 0.01,
          allowedLatenessMs: config.events.allowedLatenessMs, maxBytes: config.events.maxBytes,
        }, producer, { realtime: true, onRecord: (r) => { kinds[r.kind] += 1; if (r.kind === 'valid') perUser.set(r.key, (perUser.get(r.key) ?? 0) + 1); } });
        await new Promise((r) => setTimeout(r, 3_000)); // let the worker catch up
      } finally {
        clearInterval(ticker);
        await producer.close();
        await online.stop();
      }
      const after = await topicCounts(config);
      console.log(`3/3 done: produced ${Object.values(kinds).reduce((a, b) => a + b, 0)} records (valid ${kinds.valid}, late ${kinds.late}, duplicate ${kinds.duplicate}, malformed ${kinds.malformed})`);
      console.log(`    per-topic counts now: ${formatCounts(after)}`);
      console.log(`    added to ${config.topics.events}: ${(after[config.topics.events] ?? 0) - (before[config.topics.events] ?? 0)}`);
      const busiest = [...perUser].sort((a, b) => b[1] - a[1])[0]?.[0];
      if (busiest !== undefined) {
        const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
        const reader = new FeatureReader(online.redis.duplicate(), config.redis.prefix, registry);
        const [row] = await reader.read('user', [busiest], registry.forEntity('user').map((d) => d.name), Date.now());
        console.log(`    features of the busiest user ${busiest} (from Redis, now):`);
        console.log(JSON.stringify(row?.values ?? {}, null, 2).split('\n').map((l) => `      ${l}`).join('\n'));
      }
    });
}
