// DLQ writes must never exceed what the broker accepts (found by the pipeline fuzz suite,
// issue 7): the online worker once sent all DLQ records of a batch in one producer.send
// with each original value base64-encoded, so one 900 KB record, or a backlog of 10,000
// small malformed records in one partition, made a record batch over message.max.bytes
// (1 MB) and the worker retried it forever (the partition stopped). Now DLQ sends are
// split at ~512 KB (streams/dlq.ts) and a DLQ record carries at most the first 256 KiB of
// its original plus original_size (core/event.ts makeDlqRecord).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { createKafka, createProducer } from './kafka-client.js';
import { startOnlineWorker } from './online/worker.js';
import { privateConfig, removePrivate } from './test-support.js';

const WAIT_MS = 90_000;

async function dlqCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Produces `values` under one key, runs the worker, and returns how many DLQ records appeared within WAIT_MS. */
async function run(tag: string, values: readonly Buffer[]): Promise<number> {
  const { config, prefix } = await privateConfig(tag);
  const kafka = createKafka(config, 'test');
  try {
    const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // One request per 2,000 small or 1 large value, so the producer side stays under 1 MB.
    for (let i = 0; i < values.length;) {
      const n = (values[i]?.length ?? 0) > 100_000 ? 1 : 2_000;
      await producer.send({ topic: config.topics.events, messages: values.slice(i, i + n).map((value) => ({ key: 'one-user', value })) });
      i += n;
    }
    await producer.disconnect();
    const worker = await startOnlineWorker({ config, prefix, groupId: `test-${prefix}` });
    const deadline = Date.now() + WAIT_MS;
    let seen = 0;
    while (Date.now() < deadline && (seen = await dlqCount(kafka, config.topics.dlq)) < values.length) await new Promise((r) => setTimeout(r, 1_000));
    await worker.stop();
    return seen;
  } finally {
    await removePrivate(config, prefix);
  }
}

test('one 900 KB record (which Kafka accepts) reaches the DLQ, its original truncated with its size kept', { timeout: 300_000 }, async () => {
  // The original is under the broker limit, its base64 DLQ record (1.2 MB) is over it.
  const seen = await run('bigone', [Buffer.alloc(900_000, 0x61)]);
  assert.equal(seen, 1, 'the DLQ record was never written: the worker retries the batch forever');
});

test('a backlog of 10,000 small malformed records in one partition reaches the DLQ', { timeout: 300_000 }, async () => {
  // What a broken producer leaves while the worker is down: one 4 MB fetch becomes one
  // DLQ send of ~5 MB, over 1 MB per DLQ partition.
  const values = Array.from({ length: 10_000 }, (_, i) => Buffer.from(`${i}:${'x'.repeat(200)}`));
  const seen = await run('backlog', values);
  assert.equal(seen, values.length, `only ${seen} of ${values.length} DLQ records were written`);
});
