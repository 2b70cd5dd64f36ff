// For the sink's service tests: private topics, ClickHouse database, Redis prefix and
// consumer group; what the reference says must end up in `events`; what actually did; the
// sink as a child process (sink-runner.ts) that can be killed for real.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import readline from 'node:readline';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import { PROJECT_ROOT, type Config } from '../../config/config.js';
import { encodeDlqRecord, makeDlqRecord, type ClickEvent } from '../../core/event.js';
import { referenceAccept } from '../../core/reference.js';
import type { GeneratedRecord, GeneratorOptions, RecordKind } from '../../fixtures/generator.js';
import { pumpGenerated } from '../../fixtures/pump.js';
import { createRedis } from '../../store/redis-client.js';
import { dlqKey } from '../../streams/dlq.js';
import { createKafka, createProducer } from '../../streams/kafka-client.js';
import { openEventProducer } from '../../streams/producer.js';
import { decodeAll, deleteTopics, privateConfig, readTopic } from '../../streams/test-support.js';
import { selectRows } from '../query.js';
import { sql, table } from '../sql.js';
import { createTestDatabase, type TestDatabase } from '../test-support.js';
import type { FlushStep } from './flush.js';
import type { SinkRunnerOptions, SinkRunnerReport } from './sink-runner.js';

export interface SinkTestEnv {
  config: Config;
  prefix: string;
  groupId: string;
  kafka: Kafka;
  t: TestDatabase;
  cleanup(): Promise<void>;
}

export async function sinkTestEnv(tag: string): Promise<SinkTestEnv> {
  const { config, prefix } = await privateConfig(tag);
  const t = await createTestDatabase(tag);
  const kafka = createKafka(config, `${tag}-test`);
  return {
    config, prefix, kafka, t, groupId: `test-offline-${randomUUID()}`,
    async cleanup() {
      await deleteTopics(config);
      const redis = createRedis(config);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await t.drop();
    },
  };
}

/** Row key of an accepted event: the events table's dedup key. */
export const eventKey = (e: Pick<ClickEvent, 'user_id' | 'event_time' | 'event_id'>): string => `${e.user_id}\u0000${e.event_time}\u0000${e.event_id}`;

/** The reference's accepted events of the topic as it is now (read back in partition order). */
export async function acceptedKeys(env: SinkTestEnv): Promise<string[]> {
  const records = await readTopic(env.kafka, env.config.topics.events);
  return referenceAccept(decodeAll(records, env.config), env.config.events.allowedLatenessMs).map(eventKey).sort();
}

/** Distinct event keys in `events` (deduplicated as readers do), and the raw row count. */
export async function storedKeys(client: ClickHouseClient, db: string): Promise<{ keys: string[]; rawRows: number }> {
  const rows = await selectRows<{ user_id: string; event_time: string; event_id: string }>(client, sql`
    SELECT user_id, toString(event_time) AS event_time, event_id FROM ${table(db, 'events')} GROUP BY user_id, event_time, event_id`);
  const [raw] = await selectRows<{ n: string }>(client, sql`SELECT toString(count()) AS n FROM ${table(db, 'events')}`);
  return { keys: rows.map((r) => eventKey({ user_id: r.user_id, event_time: Number(r.event_time), event_id: r.event_id })).sort(), rawRows: Number(raw?.n ?? 0) };
}

/** What the online worker would put on the DLQ for the malformed records (one per record). */
export async function produceDlq(env: SinkTestEnv, records: readonly GeneratedRecord[]): Promise<number> {
  const producer = createProducer(env.kafka, { idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const messages = records.map((r, i) => {
      const d = makeDlqRecord(r.expected ?? 'schema', 'test', { topic: env.config.topics.events, partition: i % 6, offset: String(i), timestamp: r.clockMs, key: r.key, value: r.value });
      return { key: dlqKey(d), value: encodeDlqRecord(d) };
    });
    // Sends of at most ~512 KiB: oversize test records are 64 KiB+ each, the broker takes 1 MiB per request.
    for (let i = 0, bytes = 0, start = 0; i <= messages.length; i++) {
      const m = messages[i];
      if (i === messages.length || (bytes > 0 && bytes + (m?.value.length ?? 0) > 512 * 1024)) {
        if (i > start) await producer.send({ topic: env.config.topics.dlq, messages: messages.slice(start, i) });
        start = i;
        bytes = 0;
      }
      bytes += m?.value.length ?? 0;
    }
    return messages.length;
  } finally {
    await producer.disconnect();
  }
}

/** Starts a TypeScript entry point as its own node process (tsx loader), in the project root. */
export function spawnTsx(script: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  // A test that fails or times out must not leave its children consuming.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  return child;
}

/** SIGKILL, resolved once the process is gone. */
export function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export interface SinkProcess {
  child: ChildProcess;
  /** the sink is consuming */
  ready: Promise<void>;
  /** true when the runner reports its next `step` line (from now on), false after timeoutMs */
  nextStep(step: FlushStep, timeoutMs: number): Promise<boolean>;
  kill9(): Promise<void>;
  /** SIGTERM: flush, commit, exit 0; the runner's counters */
  stop(): Promise<SinkRunnerReport>;
}

/** The sink of `env` (its database, prefix and group) in a child process: sink-runner.ts. */
export function spawnSink(env: SinkTestEnv, o: Pick<SinkRunnerOptions, 'limits' | 'reportSteps'> = {}): SinkProcess {
  const options: SinkRunnerOptions = { database: env.t.db, prefix: env.prefix, groupId: env.groupId, ...o };
  const child = spawnTsx('offline/sink/sink-runner.ts', [JSON.stringify(options)], {
    ...process.env, TESSERA_TOPIC_EVENTS: env.config.topics.events, TESSERA_TOPIC_DLQ: env.config.topics.dlq,
    TESSERA_LOG_LEVEL: process.env.TESSERA_LOG_LEVEL ?? 'warn',
  });
  const waiters: Array<{ step: string; done: (ok: boolean) => void }> = [];
  let report: ((r: SinkRunnerReport) => void) | undefined;
  let markReady!: () => void;
  let failReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => { markReady = res; failReady = rej; });
  readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (line === 'ready') markReady();
    else if (line.startsWith('step ')) {
      const step = line.split(' ')[1];
      for (const w of waiters.splice(0)) if (w.step === step) w.done(true); else waiters.push(w);
    } else if (line.startsWith('stopped ')) report?.(JSON.parse(line.slice('stopped '.length)) as SinkRunnerReport);
  });
  child.once('exit', (code, signal) => {
    failReady(new Error(`sink process exited before it was ready (code ${code}, signal ${signal})`));
    for (const w of waiters.splice(0)) w.done(false);
  });
  return {
    child,
    ready,
    nextStep: (step, timeoutMs) => new Promise((resolve) => {
      const w = { step, done: (ok: boolean) => { clearTimeout(timer); resolve(ok); } };
      const timer = setTimeout(() => {
        const i = waiters.indexOf(w);
        if (i >= 0) waiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      waiters.push(w);
    }),
    kill9: () => kill9(child),
    stop: () => new Promise<SinkRunnerReport>((resolve, reject) => {
      report = resolve;
      // 'close', not 'exit': the report line may still be in the pipe when the process exits
      child.once('close', (code) => reject(new Error(`sink process exited with ${code} without a report`)));
      child.kill('SIGTERM');
    }),
  };
}

export interface SteadyRun {
  produced: number;
  seconds: number;
  /** records per kind (the generator's ground truth: `valid` ones are the accepted events) */
  kinds: Record<RecordKind, number>;
  /** the malformed records, for produceDlq */
  malformed: GeneratedRecord[];
  /** eventKey() of every valid record, sorted (when asked for) */
  acceptedKeys: string[];
}

/**
 * Produces a generated stream paced to the wall clock: `gen.rate` records per second of
 * event time are sent at that rate (as fast as possible when the machine cannot keep up;
 * `seconds` tells what was reached). Nothing is kept in memory but the malformed records
 * and, if asked, the keys of the valid ones: the generator's ground truth of what is
 * accepted (cheaper than re-reading the topic through the brute-force reference, which is
 * quadratic in one user's events).
 */
export async function produceSteady(config: Config, gen: GeneratorOptions, o: { keepAcceptedKeys?: boolean } = {}): Promise<SteadyRun> {
  const producer = await openEventProducer(config, { role: 'test-steady', lingerMs: 5, batchMessages: 2_000, batchBytes: 768 * 1024, maxBufferedMessages: 20_000 });
  const kinds: Record<RecordKind, number> = { valid: 0, late: 0, duplicate: 0, malformed: 0 };
  const malformed: GeneratedRecord[] = [];
  const acceptedKeys: string[] = [];
  const t0 = performance.now();
  try {
    const produced = await pumpGenerated(gen, producer, {
      realtime: true,
      onRecord: (r) => {
        kinds[r.kind] += 1;
        if (r.kind === 'malformed') malformed.push(r);
        if (o.keepAcceptedKeys && r.kind === 'valid') acceptedKeys.push(eventKey({ user_id: r.key, event_time: r.eventTimeMs ?? NaN, event_id: r.eventId ?? '' }));
      },
    });
    return { produced, seconds: (performance.now() - t0) / 1000, kinds, malformed, acceptedKeys: acceptedKeys.sort() };
  } finally {
    await producer.close();
  }
}
