// Reading a topic back and watching consumer groups: every record of a topic up to its
// current end in partition order, the events a topic decodes to, and waiting until a group
// has committed everything. Used by tests, `tessera chaos` and `tessera soak`.
import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka } from 'kafkajs';
import type { Config } from '../config/config.js';
import { decodeEvent, type ClickEvent } from '../core/event.js';

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
