// Test helpers for streams/: private topics, producing generated records, reading a topic
// back in partition order, and waiting for a consumer group to catch up.
import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '../config/config.js';
import { generateClickstream, type GeneratedRecord, type GeneratorOptions } from '../fixtures/generator.js';
import { createRedis, deletePrefix } from '../store/redis-client.js';
import { createKafka, createProducer, ensureTopics } from './kafka-client.js';

/** A config whose topics and Redis prefix belong to this test only. */
export async function privateConfig(tag: string, partitions = 6): Promise<{ config: Config; prefix: string }> {
  const id = `${tag}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({ ...process.env, TESSERA_TOPIC_EVENTS: `test.${id}`, TESSERA_TOPIC_DLQ: `test.${id}.dlq`, TESSERA_EVENTS_PARTITIONS: String(partitions), TESSERA_METRICS_PORT: '0' });
  await ensureTopics(config);
  return { config, prefix: `tt${id.replace(/[^A-Za-z0-9]/g, '').slice(-20)}` };
}

/** Removes what privateConfig made: the Redis keys under the prefix and both topics. */
export async function removePrivate(config: Config, prefix: string): Promise<void> {
  const redis = createRedis(config);
  try {
    await deletePrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
  await deleteTopics(config);
}

export async function deleteTopics(config: Config): Promise<void> {
  const admin = createKafka(config, 'test-admin').admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [config.topics.events, config.topics.dlq] }).catch(() => undefined);
  await admin.disconnect();
}

/** Produces generated records (key = user_id) and returns them with their kinds. */
export async function produceGenerated(config: Config, gen: GeneratorOptions): Promise<GeneratedRecord[]> {
  const producer = createProducer(createKafka(config, 'test-producer'), { idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const records = [...generateClickstream(gen)];
  for (let i = 0; i < records.length; i += 2_000) {
    await producer.send({ topic: config.topics.events, messages: records.slice(i, i + 2_000).map((r) => ({ key: r.key, value: r.value })) });
  }
  await producer.disconnect();
  return records;
}

export { decodeAll, readTopic, waitForGroup, type ReadRecord } from './topic-reader.js';
