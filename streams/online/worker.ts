// `tessera run --online`: the kafkajs consumer (group tessera-online) around the online
// processor. Batches are processed per partition; offsets are committed only once the
// batch's Redis state is written and old enough to be on Redis's disk (commit-gate.ts).
// While Redis (or the DLQ broker) is unavailable the batch is retried with backoff and
// heartbeats, so the consumer holds its partitions, fetches nothing new (bounded memory)
// and resumes without loss. When Redis comes back as a new process (restart or crash),
// the worker rewinds its partitions to the committed offsets: the replay restores any
// write the crash took, and skips the rest by the per-entity markers.
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
import { batchingDlq } from './dlq-batcher.js';
import { createOnlineMetrics, type OnlineMetrics } from './metrics.js';
import { Coalescer, type CoalesceLimits } from './coalescer.js';
import { CommitGate, type PartitionOffset } from './commit-gate.js';
import { createOnlineProcessor, type BatchOutcome, type RawRecord } from './processor.js';


export interface OnlineWorkerOptions {
  config: Config;
  registry?: Registry;
  groupId?: string;
  topic?: string;
  /** Redis key prefix (tests use their own) */
  prefix?: string;
  /** partitions processed at once (default 6: every partition of the default topic, so one
   *  partition's Redis round trips overlap the others' CPU work within each fetch) */
  concurrency?: number;
  onBatch?: (partition: number, outcome: BatchOutcome) => void;
  /** every fetched batch, held or processed (benchmarks start their clock at the first) */
  onFetch?: (partition: number, records: number) => void;
  /** per-command Redis timeout (default 15 s; must stay below the 30 s group session timeout) */
  redisCommandTimeoutMs?: number;
  /** how old a batch's Redis writes must be before its offsets are committed (default 2.5 s: AOF everysec) */
  commitDelayMs?: number;
  /** how much of a partition's backlog one batch may take (coalescer.ts); default: while at
   *  least 1,000 records wait, up to 16 MiB, 64,000 records, 5 s */
  coalesce?: CoalesceLimits;
}

const DEFAULT_COALESCE: CoalesceLimits = { minLag: 1_000, maxBytes: 16 * 1024 * 1024, maxRecords: 64_000, maxAgeMs: 5_000 };

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
  const processor = createOnlineProcessor({ store, dlq: batchingDlq(dlq), registry, limits: { maxBytes: config.events.maxBytes, maxFutureMs: config.events.maxFutureMs } });
  const consumer: Consumer = kafka.consumer({
    groupId: opts.groupId ?? config.groups.online,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    // One fetch can fill every partition processed at once (6 x 4 MiB): at 16 MiB a
    // backlog came as four partitions per fetch, and concurrent partitions sat idle.
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 24 * 1024 * 1024,
    retry: { retries: 10 },
  });
  let running = true;
  let rewinding = false;
  let inFlight = 0;
  const gate = new CommitGate(opts.commitDelayMs ?? 2_500);
  const coalescer = new Coalescer(opts.coalesce ?? DEFAULT_COALESCE);
  let assigned = new Set<number>();
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    // New assignment: cached markers of partitions we no longer own may be stale, and their
    // pending offsets are no longer ours to commit (kafkajs restarts from the committed ones).
    processor.reset();
    coalescer.drop();
    assigned = new Set(e.payload.memberAssignment[topic] ?? []);
    gate.drop(assigned);
    log.info({ assignment: e.payload.memberAssignment }, 'joined group');
  });

  async function commit(offsets: PartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await consumer.commitOffsets(offsets.map((o) => ({ topic, partition: o.partition, offset: o.offset })))
      .catch((err: Error) => log.warn({ err: err.message }, 'offset commit failed; a later commit covers it'));
  }
  const commitDue = (): Promise<void> => (rewinding ? Promise.resolve() : commit(gate.due(Date.now())));
  const commitTimer = setInterval(() => void commitDue(), 1_000);

  // Redis's run_id changes when it restarts: writes of the last second may be gone.
  let redisRunId: string | undefined;
  redis.on('ready', () => {
    void (async () => {
      const id = /run_id:(\w+)/.exec(await redis.info('server').catch(() => ''))?.[1];
      if (id === undefined) return;
      const restarted = redisRunId !== undefined && id !== redisRunId;
      redisRunId = id;
      if (restarted && running) await rewind();
    })();
  });

  /** Drops uncommitted progress and replays every owned partition from its committed offset. */
  async function rewind(): Promise<void> {
    rewinding = true;
    try {
      gate.drop();
      coalescer.drop();
      processor.reset();
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [committed] = await admin.fetchOffsets({ groupId: opts.groupId ?? config.groups.online, topics: [topic] });
        const lows = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.low]));
        for (const p of assigned) {
          const c = committed?.partitions.find((x) => x.partition === p)?.offset ?? '-1';
          consumer.seek({ topic, partition: p, offset: BigInt(c) >= 0n ? c : (lows.get(p) ?? '0') });
        }
      } finally {
        await admin.disconnect();
      }
      metrics.rewinds.inc();
      log.warn({ partitions: [...assigned] }, 'Redis restarted: replaying owned partitions from their committed offsets');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'rewind after a Redis restart failed');
    } finally {
      gate.drop();
      coalescer.drop();
      rewinding = false;
    }
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    inFlight += 1;
    try {
      await processBatch(payload);
    } finally {
      inFlight -= 1;
    }
  }

  async function processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, resolveOffset } = payload;
    if (batch.messages.length === 0 || rewinding || payload.isStale()) return;
    const t0 = performance.now();
    opts.onFetch?.(batch.partition, batch.messages.length);
    const records = coalescer.offer({ partition: batch.partition, messages: batch.messages, lag: BigInt(batch.offsetLag()) }, Date.now());
    // Held for the next fetch: kafkajs moves on past them (nothing is committed; see coalescer.ts).
    if (records === undefined) {
      resolveOffset(batch.lastOffset());
      await heartbeat();
      return;
    }
    // A batch of several fetches can take longer than the session timeout on a loaded
    // machine: heartbeats go on while it runs, or the group evicts this member mid-batch.
    const beat = setInterval(() => void heartbeat().catch(() => undefined), 3_000);
    try {
      await processRecords(payload, records, t0);
    } finally {
      clearInterval(beat);
    }
  }

  /** `records`: the batch's, after those held from earlier fetches of its partition. */
  async function processRecords({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload, records: readonly RawRecord[], t0: number): Promise<void> {
    // Records held from earlier fetches were resolved already: when this batch is dropped,
    // kafkajs must fetch them again, or a later batch's commit would pass over them. (Stale
    // batches and a stopping consumer need nothing: a seek or the committed offsets decide.)
    const dropBatch = (): void => {
      if (records.length > batch.messages.length) consumer.seek({ topic: batch.topic, partition: batch.partition, offset: (records[0] as RawRecord).offset });
    };
    let backoff = 200;
    let outcome: BatchOutcome | undefined;
    while (outcome === undefined) {
      if (!running || !isRunning() || isStale()) return;
      try {
        outcome = await processor.process({ topic: batch.topic, partition: batch.partition, records });
      } catch (err) {
        if (err instanceof StoreConflictError) {
          log.warn({ partition: batch.partition, err: err.message }, 'partition moved to another consumer; dropping batch');
          return dropBatch();
        }
        metrics.retries.inc();
        log.warn({ partition: batch.partition, err: (err as Error).message, retryInMs: backoff }, 'batch failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
        await heartbeat().catch(() => undefined);
      }
    }
    // Rewound meanwhile (a seek): the records come again from the committed offset.
    if (isStale() || rewinding) return;
    // Tell kafkajs the batch is done, or it fetches the same offsets again.
    resolveOffset(batch.lastOffset());
    gate.applied(batch.partition, (BigInt(batch.lastOffset()) + 1n).toString(), Date.now());
    await commitDue();
    record(metrics, batch.partition, outcome, batch.offsetLag(), performance.now() - t0);
    opts.onBatch?.(batch.partition, outcome);
    await heartbeat();
  }

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: opts.concurrency ?? 6, eachBatch });
  log.info({ topic, group: opts.groupId ?? config.groups.online }, 'online worker running');

  return {
    metrics,
    redis,
    async stop() {
      running = false;
      clearInterval(commitTimer);
      // Let the batches in hand finish, then commit everything written: Redis is up and
      // persists its AOF on a clean shutdown.
      consumer.pause([{ topic }]);
      while (inFlight > 0) await sleep(20);
      await commit(gate.all());
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
  for (const [phase, ms] of Object.entries(o.phases)) m.phaseSeconds.observe({ phase }, ms / 1000);
}
