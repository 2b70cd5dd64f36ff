// `tessera run --online`: the kafkajs consumer (group tessera-online) around the online
// processor. Batches are processed per partition; offsets are committed only after the
// batch's Redis state is written. While Redis (or the DLQ broker) is unavailable the batch
// is retried with backoff and heartbeats, so the consumer holds its partitions, fetches
// nothing new (bounded memory) and resumes without loss.
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Config } from '../../config/config.js';
import { childLogger } from '../../config/logger.js';
import { createRegistry, type Registry } from '../../core/features/registry.js';
import { createRedis } from '../../store/redis-client.js';
import { StoreConflictError } from '../../store/scripts.js';
import { TileStore } from '../../store/tile-store.js';
import { createKafkaDlq } from '../dlq.js';
import { createKafka } from '../kafka-client.js';
import { createOnlineMetrics, type OnlineMetrics } from './metrics.js';
import { createOnlineProcessor, type BatchOutcome } from './processor.js';


export interface OnlineWorkerOptions {
  config: Config;
  registry?: Registry;
  groupId?: string;
  topic?: string;
  /** Redis key prefix (tests use their own) */
  prefix?: string;
  /** partitions processed at once (default 3) */
  concurrency?: number;
  onBatch?: (partition: number, outcome: BatchOutcome) => void;
  /** per-command Redis timeout (default 15 s; must stay below the 30 s group session timeout) */
  redisCommandTimeoutMs?: number;
}

export interface OnlineWorker {
  metrics: OnlineMetrics;
  redis: Redis;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startOnlineWorker(opts: OnlineWorkerOptions): Promise<OnlineWorker> {
  const { config } = opts;
  const log = childLogger('online');
  const topic = opts.topic ?? config.topics.events;
  const registry = opts.registry ?? createRegistry({ latenessMs: config.events.allowedLatenessMs });
  const metrics = createOnlineMetrics();
  // A command timeout well below the group session timeout: a hung Redis turns into errors
  // and retries with heartbeats, instead of a stuck batch that gets the worker evicted.
  const redis = createRedis(config, { commandTimeout: opts.redisCommandTimeoutMs ?? 15_000 });
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  const store = new TileStore(redis, opts.prefix ?? config.redis.prefix, registry);
  const kafka = createKafka(config, 'online');
  const dlq = createKafkaDlq(kafka, config.topics.dlq);
  await dlq.connect();
  const processor = createOnlineProcessor({ store, dlq, registry, limits: { maxBytes: config.events.maxBytes, maxFutureMs: config.events.maxFutureMs } });
  const consumer: Consumer = kafka.consumer({
    groupId: opts.groupId ?? config.groups.online,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 16 * 1024 * 1024,
    retry: { retries: 10 },
  });
  let running = true;
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    // New assignment: cached markers of partitions we no longer own may be stale.
    processor.reset();
    log.info({ assignment: e.payload.memberAssignment }, 'joined group');
  });

  async function eachBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0) return;
    const t0 = performance.now();
    let backoff = 200;
    let outcome: BatchOutcome | undefined;
    while (outcome === undefined) {
      if (!running || !isRunning() || isStale()) return;
      try {
        outcome = await processor.process({ topic: batch.topic, partition: batch.partition, records: batch.messages });
      } catch (err) {
        if (err instanceof StoreConflictError) {
          log.warn({ partition: batch.partition, err: err.message }, 'partition moved to another consumer; dropping batch');
          return;
        }
        metrics.retries.inc();
        log.warn({ partition: batch.partition, err: (err as Error).message, retryInMs: backoff }, 'batch failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
        await heartbeat().catch(() => undefined);
      }
    }
    // Tell kafkajs the batch is done, or it fetches the same offsets again.
    resolveOffset(batch.lastOffset());
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
    record(metrics, batch.partition, outcome, batch.offsetLag(), performance.now() - t0);
    opts.onBatch?.(batch.partition, outcome);
    await heartbeat();
  }

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: opts.concurrency ?? 3, eachBatch });
  log.info({ topic, group: opts.groupId ?? config.groups.online }, 'online worker running');

  return {
    metrics,
    redis,
    async stop() {
      running = false;
      await consumer.disconnect();
      await dlq.close();
      redis.disconnect();
    },
  };
}

function record(m: OnlineMetrics, partition: number, o: BatchOutcome, lag: string, ms: number): void {
  const p = String(partition);
  m.eventsIn.inc(o.records);
  m.accepted.inc(o.accepted);
  m.skipped.inc(o.skipped);
  for (const [reason, n] of Object.entries(o.rejected)) m.rejected.inc({ reason }, n ?? 0);
  m.lag.set({ partition: p }, Number(lag));
  if (o.maxEventTime !== null) m.watermarkDelay.set({ partition: p }, (Date.now() - o.maxEventTime) / 1000);
  m.batchSize.observe(o.records);
  m.batchSeconds.observe(ms / 1000);
  m.redisSeconds.observe(o.redisMs / 1000);
}
