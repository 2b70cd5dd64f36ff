// For the sink's service tests: private topics, ClickHouse database, Redis prefix and
// consumer group; what the reference says must end up in `events`; what actually did.
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import type { Config } from '../../config/config.js';
import { encodeDlqRecord, makeDlqRecord, type ClickEvent } from '../../core/event.js';
import { referenceAccept } from '../../core/reference.js';
import type { GeneratedRecord } from '../../fixtures/generator.js';
import { createRedis } from '../../store/redis-client.js';
import { dlqKey } from '../../streams/dlq.js';
import { createKafka, createProducer } from '../../streams/kafka-client.js';
import { decodeAll, deleteTopics, privateConfig, readTopic } from '../../streams/test-support.js';
import { selectRows } from '../query.js';
import { sql, table } from '../sql.js';
import { createTestDatabase, type TestDatabase } from '../test-support.js';

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
  const dlq = records.map((r, i) => makeDlqRecord(r.expected ?? 'schema', 'test', { topic: env.config.topics.events, partition: i % 6, offset: String(i), timestamp: r.clockMs, key: r.key, value: r.value }));
  await producer.send({ topic: env.config.topics.dlq, messages: dlq.map((d) => ({ key: dlqKey(d), value: encodeDlqRecord(d) })) });
  await producer.disconnect();
  return dlq.length;
}
