// Freshness at a steady rate: while a generated stream flows at `rate` events/s, probe
// events are produced every 50 ms and the read function is polled until the probe is
// visible in `user_last_5_items`. Reported next to the same-run baseline: the raw Kafka
// produce -> consume latency of the same probes (a plain consumer in another group).
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.js';
import { createRegistry } from '../core/features/registry.js';
import { pumpGenerated } from '../fixtures/pump.js';
import { createKafka, createProducer } from '../streams/kafka-client.js';
import type { OnlineMetrics } from '../streams/online/metrics.js';
import { startOnlineWorker } from '../streams/online/worker.js';
import { openEventProducer } from '../streams/producer.js';
import { FeatureReader } from '../store/reader.js';
import { createRedis } from '../store/redis-client.js';
import { sleep, summarize, type LatencySummary } from './support.js';

export interface FreshnessResult {
  rate: number;
  seconds: number;
  featureVisibleMs: LatencySummary;
  rawKafkaMs: LatencySummary;
}

export async function benchFreshness(config: Config, prefix: string, rate: number, seconds: number, log: (m: string) => void): Promise<FreshnessResult> {
  const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
  const kafka = createKafka(config, 'bench-fresh');
  const worker = await startOnlineWorker({ config, prefix, groupId: `bench-fresh-${prefix}` });
  const redis = createRedis(config);
  const reader = new FeatureReader(redis, prefix, registry);
  // Whatever happens (a probe that never shows up included), everything started here is
  // stopped before the caller deletes the topic and keys under it.
  const cleanup: Array<() => Promise<unknown>> = [async () => redis.disconnect(), () => worker.stop()];
  const sentAt = new Map<string, number>();
  const rawMs: number[] = [];
  const visibleMs: number[] = [];
  try {
    // Baseline consumer: sees the same probe records, notes arrival time.
    const raw = kafka.consumer({ groupId: `bench-fresh-raw-${randomUUID()}`, maxWaitTimeInMs: 100 });
    cleanup.unshift(() => raw.disconnect());
    await raw.connect();
    await raw.subscribe({ topic: config.topics.events, fromBeginning: false });
    await raw.run({ eachMessage: async ({ message }) => {
      const key = message.key?.toString() ?? '';
      const t = sentAt.get(key);
      if (t !== undefined) rawMs.push(performance.now() - t);
    } });
    await sleep(3_000); // both groups joined before measuring

    const background = await openEventProducer(config, { role: 'bench-fresh-bg', lingerMs: 5 });
    let stop = false;
    log(`streaming ${rate} events/s for ${seconds} s with a probe every 50 ms`);
    const pump = pumpGenerated({
      seed: `fresh-${randomUUID()}`, startMs: Date.now(), rate, durationS: seconds, users: 20_000, items: 5_000,
      late: 0.01, duplicates: 0.01, malformed: 0.01, allowedLatenessMs: config.events.allowedLatenessMs,
    }, background, { realtime: true, shouldStop: () => stop });
    cleanup.unshift(async () => {
      stop = true;
      await pump.catch(() => undefined);
      await background.close();
    });

    const probeProducer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
    cleanup.unshift(() => probeProducer.disconnect());
    await probeProducer.connect();
    const end = Date.now() + seconds * 1000;
    let n = 0;
    while (Date.now() < end) {
      const user = `fresh-probe-${prefix}-${n++}`;
      const item = `probe-item-${n}`;
      const now = Date.now();
      const t0 = performance.now();
      sentAt.set(user, t0);
      await probeProducer.send({ topic: config.topics.events, messages: [{ key: user, value: JSON.stringify({ event_id: `p${n}`, user_id: user, event_type: 'view', event_time: now, item_id: item }) }] });
      for (;;) {
        const [r] = await reader.read('user', [user], ['user_last_5_items'], now + 1);
        const v = r?.values.user_last_5_items;
        if (Array.isArray(v) && v.includes(item)) break;
        if (performance.now() - t0 > 10_000) throw new Error('probe not visible after 10 s');
        await sleep(1);
      }
      visibleMs.push(performance.now() - t0);
      await sleep(Math.max(0, 50 - (performance.now() - t0)));
    }
    await sleep(500); // late raw-consumer arrivals
    log(`  worker: ${await batchStats(worker.metrics)}`);
  } finally {
    for (const step of cleanup) await step().catch(() => undefined);
  }
  return { rate, seconds, featureVisibleMs: summarize(visibleMs), rawKafkaMs: summarize(rawMs) };
}

/** Where a batch's time went (the worker's own histograms): what freshness is made of. */
async function batchStats(m: OnlineMetrics): Promise<string> {
  const sumCount = async (h: OnlineMetrics['batchSeconds']): Promise<[number, number]> => {
    const { values } = await h.get();
    const pick = (suffix: string): number => values.filter((v) => v.metricName?.endsWith(suffix)).reduce((a, v) => a + v.value, 0);
    return [pick('_sum'), pick('_count')];
  };
  const [batchS, batches] = await sumCount(m.batchSeconds);
  const [redisS] = await sumCount(m.redisSeconds);
  const [records] = await sumCount(m.batchSize);
  const per = (x: number): string => (batches > 0 ? (x / batches).toFixed(1) : 'NaN');
  return `${batches} batches, ${per(records)} records, ${per(batchS * 1000)} ms each (Redis ${per(redisS * 1000)} ms)`;
}
