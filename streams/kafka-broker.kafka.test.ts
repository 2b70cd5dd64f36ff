// kafkajs 2.2.4 against the pinned Apache Kafka 4.x KRaft broker: produce, consume in a
// group, commit offsets, and a transaction that writes records and consumer offsets
// atomically (what the online worker's DLQ path relies on).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Admin } from 'kafkajs';
import { loadConfig } from '../config/config.js';
import { createKafka } from './kafka-client.js';

const config = loadConfig();
const kafka = createKafka(config, 'broker-test');
const topic = `test.broker.${randomUUID()}`;
const outTopic = `${topic}.out`;
let admin: Admin;

before(async () => {
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }, { topic: outTopic, numPartitions: 1 }], waitForLeaders: true });
});
after(async () => {
  await admin.deleteTopics({ topics: [topic, outTopic] }).catch(() => undefined);
  await admin.disconnect();
});

test('the broker is the pinned Kafka 4.x in KRaft mode', async () => {
  const cluster = await admin.describeCluster();
  assert.equal(cluster.brokers.length, 1);
  assert.equal(config.kafka.version.split('.')[0], '4');
});

test('produce with an idempotent producer, consume in a group, commit offsets', async () => {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const messages = Array.from({ length: 300 }, (_, i) => ({ key: `u${i % 17}`, value: `m${i}` }));
  await producer.send({ topic, messages });
  await producer.disconnect();

  const groupId = `g-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Set<string>();
  const keysByPartition = new Map<string, number>();
  await new Promise<void>((resolve, reject) => {
    consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (const m of batch.messages) {
          seen.add(m.value?.toString() ?? '');
          const key = m.key?.toString() ?? '';
          // Same key, same partition: what per-user ordering relies on.
          const prev = keysByPartition.get(key);
          assert.ok(prev === undefined || prev === batch.partition);
          keysByPartition.set(key, batch.partition);
          resolveOffset(m.offset);
        }
        await consumer.commitOffsets([{ topic, partition: batch.partition, offset: (Number(batch.lastOffset()) + 1).toString() }]);
        await heartbeat();
        if (seen.size === messages.length) resolve();
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  assert.equal(seen.size, 300);
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = offsets[0]?.partitions.reduce((s, p) => s + Number(p.offset), 0);
  assert.equal(committed, 300);
});

test('a transaction commits records and consumer offsets together; an aborted one leaves neither', async () => {
  const groupId = `g-tx-${randomUUID()}`;
  const producer = kafka.producer({ transactionalId: `tx-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();

  const aborted = await producer.transaction();
  await aborted.send({ topic: outTopic, messages: [{ value: 'aborted' }] });
  await aborted.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: '7' }] }] });
  await aborted.abort();

  const tx = await producer.transaction();
  await tx.send({ topic: outTopic, messages: [{ value: 'committed' }] });
  await tx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 1, offset: '5' }] }] });
  await tx.commit();
  await producer.disconnect();

  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  const byPartition = new Map(offsets[0]?.partitions.map((p) => [p.partition, p.offset]));
  assert.equal(byPartition.get(1), '5');
  assert.equal(byPartition.get(0), '-1');

  const reader = kafka.consumer({ groupId: `g-read-${randomUUID()}`, readUncommitted: false });
  await reader.connect();
  await reader.subscribe({ topic: outTopic, fromBeginning: true });
  const values: string[] = [];
  await new Promise<void>((resolve, reject) => {
    reader.run({ eachMessage: async ({ message }) => { values.push(message.value?.toString() ?? ''); resolve(); } }).catch(reject);
  });
  await new Promise((r) => setTimeout(r, 500));
  await reader.disconnect();
  assert.deepEqual(values, ['committed']);
});
