// `tessera bench --scenario ingest`: one online worker from a pre-filled topic to
// committed Redis state, next to the raw kafkajs consume rate of the same topic measured
// in the same run (a consumer that only counts records).
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.js';
import { startOnlineWorker } from '../streams/online/worker.js';
import { createKafka } from '../streams/kafka-client.js';
import { createRedis } from '../store/redis-client.js';
import { produceGenerated, waitForGroup } from '../streams/test-support.js';
import { round } from './support.js';

export interface IngestResult {
  events: number;
  rawConsumePerSec: number;
  workerPerSec: number;
  ratio: number;
  workerSeconds: number;
  /** this process's CPU (user + system, every thread) from the worker's start to its stop, per event */
  workerCpuMicrosPerEvent: number;
  /** Redis's CPU over the same span, per event */
  redisCpuMicrosPerEvent: number;
}

async function redisCpuSeconds(config: Config): Promise<number> {
  const redis = createRedis(config);
  try {
    const info = await redis.info('cpu');
    const get = (k: string): number => Number(new RegExp(`^${k}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN);
    return get('used_cpu_user') + get('used_cpu_sys');
  } finally {
    redis.disconnect();
  }
}

async function rawConsume(config: Config, total: number): Promise<number> {
  const consumer = createKafka(config, 'bench-raw').consumer({ groupId: `bench-raw-${randomUUID()}`, maxBytesPerPartition: 4 * 1024 * 1024, maxBytes: 16 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic: config.topics.events, fromBeginning: true });
  let n = 0;
  let t0 = 0;
  const seconds = await new Promise<number>((resolve, reject) => {
    consumer.run({
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        if (t0 === 0) t0 = performance.now();
        n += batch.messages.length;
        if (n >= total) resolve((performance.now() - t0) / 1000);
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  return total / seconds;
}

export async function benchIngest(config: Config, prefix: string, events: number, log: (m: string) => void): Promise<IngestResult> {
  log(`pre-filling ${config.topics.events} with ${events} generated events (real-time spacing: 2,000 events/s of event time)`);
  await produceGenerated(config, {
    seed: 'bench-ingest', startMs: Date.now() - Math.ceil(events / 2_000) * 1000 - 60_000, rate: 2_000, count: events,
    users: 20_000, items: 5_000, late: 0.01, duplicates: 0.01, malformed: 0.01, allowedLatenessMs: config.events.allowedLatenessMs,
  });
  log('baseline: raw kafkajs consume of the same topic');
  const raw = await rawConsume(config, events);
  log(`  ${Math.round(raw)} records/s`);
  log('online worker: consume -> decode -> accept -> tiles -> committed Redis state');
  const groupId = `bench-online-${prefix}`;
  const redis0 = await redisCpuSeconds(config);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let first = 0;
  // From the first fetched batch: group join time is not ingest throughput, and the first
  // processed batch can come after several fetches (streams/online/coalescer.ts).
  const worker = await startOnlineWorker({ config, prefix, groupId, onFetch: () => { if (first === 0) first = performance.now(); } });
  try {
    await waitForGroup(createKafka(config, 'bench'), groupId, config.topics.events, 1_800_000);
  } finally {
    await worker.stop();
  }
  const seconds = (performance.now() - (first || t0)) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const redisCpu = (await redisCpuSeconds(config)) - redis0;
  const rate = events / seconds;
  const workerCpu = round((cpu.user + cpu.system) / events, 1);
  const redisCpuPerEvent = round((redisCpu * 1e6) / events, 1);
  log(`  ${Math.round(rate)} events/s (${round(seconds, 1)} s); worker CPU ${workerCpu} µs per event, Redis CPU ${redisCpuPerEvent} µs per event`);
  return { events, rawConsumePerSec: Math.round(raw), workerPerSec: Math.round(rate), ratio: round(rate / raw, 3), workerSeconds: round(seconds, 1), workerCpuMicrosPerEvent: workerCpu, redisCpuMicrosPerEvent: redisCpuPerEvent };
}
