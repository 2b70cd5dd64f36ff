// Test helpers for streams/: private topics, producing generated records, reading a topic
// back in partition order, and waiting for a consumer group to catch up.
import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka } from 'kafkajs';
import { loadConfig, type Config } from '../config/config.js';
import { decodeEvent, type ClickEvent } from '../core/event.js';
import { generateClickstream, type GeneratedRecord, type GeneratorOptions } from '../fixtures/generator.js';
import { createRedis } from '../store/redis-client.js';
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
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
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

export interface ReadRecord {
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** Reads every record of a topic (up to its current end), partition by partition, in offset order. */
export async function readTopic(kafka: Kafka, topic: string): Promise<ReadRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const target = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
  const total = ends.reduce((s, p) => s + Number(BigInt(p.high) - BigInt(p.low)), 0);
  const out: ReadRecord[] = [];
  if (total === 0) return out;
  const consumer = kafka.consumer({ groupId: `test-read-${randomUUID()}`, maxBytesPerPartition: 8 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (BigInt(m.offset) < (target.get(batch.partition) ?? 0n)) out.push({ partition: batch.partition, offset: m.offset, timestamp: m.timestamp, key: m.key, value: m.value, headers: m.headers ?? {} });
        }
        if (out.length >= total) resolve();
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** The decoded events of a topic in partition order (what the pipeline saw; per-user order is kept). */
export function decodeAll(records: readonly ReadRecord[], config: Config): ClickEvent[] {
  const out: ClickEvent[] = [];
  for (const r of records) {
    const res = decodeEvent(r.value, Number(r.timestamp), { maxBytes: config.events.maxBytes, maxFutureMs: config.events.maxFutureMs });
    if (res.ok) out.push(res.event);
  }
  return out;
}

/** Waits until the group has committed every partition up to the topic's end. */
export async function waitForGroup(kafka: Kafka, groupId: string, topic: string, timeoutMs: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ends = await admin.fetchTopicOffsets(topic);
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      if (ends.every((e) => (byPartition.get(e.partition) ?? -1n) >= BigInt(e.high))) return;
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`group ${groupId} did not catch up with ${topic} in ${timeoutMs} ms`);
  } finally {
    await admin.disconnect();
  }
}
