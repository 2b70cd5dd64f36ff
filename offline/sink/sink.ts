// `tessera run --offline`: the exactly-once, batched ClickHouse sink (DESIGN §5).
//
// Design:
// - One kafkajs consumer in group `tessera-offline` reads `clickstream.events` and
//   `clickstream.dlq` (the DLQ is written by the online worker; the sink writes none).
// - Records are decoded and judged with the online path's exact rules (core decodeEvent +
//   the per-user acceptance state machine), so decode failures, late and duplicate events
//   never reach `events`; DLQ records become `rejected_events` rows.
// - Rows are buffered across kafkajs batches and partitions and flushed when the buffer
//   holds flushRows rows (100,000), flushBytes bytes, or flushMs (5 s) after its first
//   record, or idleFlushMs (1 s) after its last one when it holds idleFlushMinRows (the end of a
//   backlog; a trickle waits for flushMs), and not sooner than minFlushIntervalMs (1 s)
//   after the previous flush ended: ONE INSERT into events per flush
//   (split by day only for multi-week history), so parts are few and large. Rows are kept
//   as TabSeparated lines (row-encoder.ts) and inserted in that format.
// - Exactly once (flush.ts): insert -> store the judged users' acceptance states in Redis
//   (compare-and-set on a per-(user, partition) offset marker) -> commit offsets. Replays
//   skip records at or below a user's marker and re-judge the rest deterministically; the
//   ReplacingMergeTree collapses any row inserted twice (same key).
// - Back-pressure: consumption pauses while the buffer is over its bound or a flush step
//   is failing (ClickHouse or Redis down; retried with exponential backoff), so memory
//   stays bounded; it resumes when the flush went through.
// - A rebalance (GROUP_JOIN) drops the buffer and the state cache: kafkajs restarts every
//   partition from its committed offset. A partition whose markers moved under us (another
//   instance owns it) is rewound the same way.
// - stop(): pause, flush, commit, disconnect (graceful, SIGTERM). kill(): disconnect at
//   once without flushing or committing (what a crash leaves), for tests.
import type { Registry as PromRegistry } from 'prom-client';
import type { Config } from '../../config/config.js';
import { childLogger } from '../../config/logger.js';
import { createRegistry, type Registry } from '../../core/features/registry.js';
import { createRedis } from '../../store/redis-client.js';
import { createKafka } from '../../streams/kafka-client.js';
import { createClickHouse } from '../clickhouse-client.js';
import { migrate } from '../migrate.js';
import { AcceptanceStore, stateTtlMs } from './acceptance-store.js';
import { SinkBuffer, type Snapshot } from './buffer.js';
import { createBatchHandler } from './consume.js';
import { flushSnapshot, type FlushStep } from './flush.js';
import { confirmCommits, takeCommits, trimUsers, type PartitionUsers } from './judge.js';
import { resolveLimits, type SinkLimits } from './limits.js';
import { createSinkMetrics } from './metrics.js';

export { DEFAULT_SINK_LIMITS, type SinkLimits } from './limits.js';


export interface OfflineSinkOptions {
  config: Config;
  registry?: Registry;
  groupId?: string;
  /** default config.topics.events */
  topic?: string;
  /** default config.topics.dlq */
  dlqTopic?: string;
  /** default config.clickhouse.database (migrated at start) */
  database?: string;
  /** Redis key prefix (default config.redis.prefix) */
  prefix?: string;
  limits?: Partial<SinkLimits>;
  /** partitions judged at once (default 4) */
  concurrency?: number;
  /** stop() on SIGTERM/SIGINT (off by default: `tessera run` handles signals for all processes) */
  handleSignals?: boolean;
  /** called whenever consumed records were buffered (benchmarks time from the first one) */
  onBuffered?: () => void;
  /** test hook after each flush step ('inserted', 'stored', 'committed'), e.g. to crash there */
  onFlushStep?: (step: FlushStep, snapshot: Snapshot) => Promise<void> | void;
}

export interface OfflineSink {
  /** prom-client registry: rows in, inserted, inserts, rows per insert, latency, buffered, paused */
  metrics: PromRegistry;
  /** graceful: stop consuming, flush what is buffered, commit, disconnect */
  stop(): Promise<void>;
  /** crash-like: disconnect now, no flush, no commit */
  kill(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startOfflineSink(opts: OfflineSinkOptions): Promise<OfflineSink> {
  const { config } = opts;
  const log = childLogger('offline');
  const limits: SinkLimits = resolveLimits(opts.limits);
  const db = opts.database ?? config.clickhouse.database;
  const topic = opts.topic ?? config.topics.events;
  const dlqTopic = opts.dlqTopic ?? config.topics.dlq;
  const registry = opts.registry ?? createRegistry({ latenessMs: config.events.allowedLatenessMs });
  const backoff = { initialMs: limits.backoffInitialMs, maxMs: limits.backoffMaxMs };

  const admin = createClickHouse(config, { database: null });
  try {
    await migrate(admin, db);
  } finally {
    await admin.close();
  }
  const ch = createClickHouse(config, { database: db });
  const redis = createRedis(config);
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  const store = new AcceptanceStore(redis, opts.prefix ?? config.redis.prefix, stateTtlMs(registry), registry.latenessMs);
  const metrics = createSinkMetrics();
  const buffer = new SinkBuffer();
  const users = new Map<number, PartitionUsers>();
  const rewinds = new Map<number, number>();
  let generation = 0;
  let stopping = false;
  let killed = false;
  let failing = false;
  let paused = false;
  let flushing: Promise<void> | null = null;
  let lastFlushAt = -Infinity;

  const kafka = createKafka(config, 'offline');
  const consumer = kafka.consumer({
    groupId: opts.groupId ?? config.groups.offline,
    sessionTimeout: limits.sessionTimeoutMs,
    heartbeatInterval: limits.heartbeatIntervalMs,
    maxBytesPerPartition: limits.fetchBytesPerPartition,
    maxBytes: Math.max(64 * 1024 * 1024, limits.fetchBytesPerPartition),
    // Short long-polls: a paused consumer (all partitions) sleeps this long between checks,
    // and stop() waits for the fetch in flight.
    maxWaitTimeInMs: 500,
    retry: { retries: 10 },
  });
  const usersOf = (p: number): PartitionUsers => {
    let m = users.get(p);
    if (m === undefined) users.set(p, (m = new Map()));
    return m;
  };
  const gauges = (): void => {
    metrics.bufferedRows.set(buffer.rows);
    metrics.bufferedBytes.set(buffer.bytes);
  };

  function updatePause(): void {
    if (killed) return; // disconnected: kafkajs refuses pause/resume
    const want = failing || stopping || buffer.rows >= limits.maxBufferedRows || buffer.bytes >= limits.maxBufferedBytes;
    if (want === paused) return;
    const topics = [{ topic }, { topic: dlqTopic }];
    try {
      if (want) consumer.pause(topics);
      else consumer.resume(topics);
      paused = want;
      metrics.paused.set(want ? 1 : 0);
    } catch (err) {
      log.warn({ err: (err as Error).message }, want ? 'pause failed' : 'resume failed');
    }
  }
  const setFailing = (f: boolean): void => {
    failing = f;
    updatePause();
  };

  function maybeFlush(): void {
    if (flushing !== null || killed || buffer.isEmpty()) return;
    if (!stopping && Date.now() - lastFlushAt < limits.minFlushIntervalMs) return; // the timer comes back
    const now = Date.now();
    const due = stopping || buffer.rows >= limits.flushRows || buffer.bytes >= limits.flushBytes
      || (buffer.firstAt !== null && now - buffer.firstAt >= limits.flushMs)
      || (buffer.lastAt !== null && now - buffer.lastAt >= limits.idleFlushMs && buffer.rows >= limits.idleFlushMinRows);
    if (!due) return;
    flushing = runFlush().catch((err: Error) => log.error({ err: err.message }, 'flush failed')).finally(() => {
      // measured from the end of a flush: consecutive INSERTs are at least this far apart
      lastFlushAt = Date.now();
      flushing = null;
      updatePause();
      maybeFlush();
    });
  }

  async function runFlush(): Promise<void> {
    const snap = buffer.snapshot(generation, (p) => takeCommits(usersOf(p), registry.latenessMs));
    gauges();
    const t0 = performance.now();
    const result = await flushSnapshot({
      client: ch, db, store, metrics, log, backoff, maxDaysPerInsert: limits.maxDaysPerInsert,
      commitOffsets: (offsets) => consumer.commitOffsets(offsets),
      isCurrent: (s) => s.generation === generation && !killed,
      onFailing: setFailing,
      // After a rebalance the cache belongs to the new generation, which re-reads the states.
      onStatesStored: (p, commits) => { if (snap.generation === generation) confirmCommits(usersOf(p), commits); },
      onStep: opts.onFlushStep,
    }, snap);
    metrics.flushSeconds.observe((performance.now() - t0) / 1000);
    for (const c of result.conflicted) {
      // Another consumer moved this partition's markers: forget our view of it and read
      // it again from the flushed position (records up to its markers will be skipped).
      log.warn({ topic: c.topic, partition: c.partition }, 'acceptance state moved under us; rewinding the partition');
      rewinds.set(c.partition, (rewinds.get(c.partition) ?? 0) + 1);
      buffer.drop(c.topic, c.partition);
      users.delete(c.partition);
      try {
        consumer.seek({ topic: c.topic, partition: c.partition, offset: c.firstOffset });
      } catch (err) {
        log.warn({ partition: c.partition, err: (err as Error).message }, 'seek failed; the partition restarts from its committed offset on the next rebalance');
      }
    }
    if (result.outcome === 'done') for (const m of users.values()) trimUsers(m, limits.maxCachedUsers);
    gauges();
  }

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    // kafkajs restarts every assigned partition from its committed offset after a join.
    generation += 1;
    buffer.clear();
    users.clear();
    gauges();
    log.info({ assignment: e.payload.memberAssignment }, 'joined group');
  });
  consumer.on(consumer.events.CRASH, (e) => log.error({ err: e.payload.error.message, restart: e.payload.restart }, 'consumer crashed'));

  const handler = createBatchHandler({
    eventsTopic: topic, dlqTopic, store, buffer, metrics, log, backoff, usersOf,
    limits: { maxBytes: config.events.maxBytes, maxFutureMs: config.events.maxFutureMs },
    latenessMs: registry.latenessMs,
    epoch: (p) => (stopping || killed ? 'stopped' : `${generation}/${rewinds.get(p) ?? 0}`),
    onFailing: setFailing,
    onBuffered: () => {
      opts.onBuffered?.();
      gauges();
      updatePause();
      maybeFlush();
    },
  });

  await consumer.connect();
  await consumer.subscribe({ topics: [topic, dlqTopic], fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: opts.concurrency ?? 4, eachBatch: handler });
  const timer = setInterval(maybeFlush, Math.max(20, Math.min(250, limits.flushMs / 4, limits.idleFlushMs / 4)));
  log.info({ topic, dlqTopic, db, group: opts.groupId ?? config.groups.offline, flushRows: limits.flushRows, flushMs: limits.flushMs }, 'offline sink running');

  let closed: Promise<void> | undefined;
  async function close(): Promise<void> {
    clearInterval(timer);
    await consumer.disconnect().catch((err: Error) => log.warn({ err: err.message }, 'consumer disconnect failed'));
    redis.disconnect();
    await ch.close();
  }
  async function stop(): Promise<void> {
    closed ??= (async () => {
      stopping = true;
      updatePause();
      const deadline = Date.now() + limits.stopTimeoutMs;
      while (Date.now() < deadline && (flushing !== null || !buffer.isEmpty())) {
        maybeFlush();
        await Promise.race([flushing ?? Promise.resolve(), sleep(100)]);
      }
      if (flushing !== null || !buffer.isEmpty()) log.warn('stop: flush did not finish in time; the rest will be consumed again');
      killed = true; // abandon whatever is still retrying
      await close();
      log.info('offline sink stopped');
    })();
    return closed;
  }
  async function kill(): Promise<void> {
    killed = true;
    closed ??= close();
    return closed;
  }
  if (opts.handleSignals) {
    const onSignal = (signal: string) => {
      log.info({ signal }, 'stopping the offline sink');
      void stop();
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  }
  return { metrics: metrics.registry, stop, kill };
}
