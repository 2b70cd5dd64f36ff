// Kafka plumbing of the pipeline fuzz suite: produce valid and hostile records interleaved,
// each tagged with a `fuzz-id` header, and read a topic back with its headers, so every
// DLQ entry (which names its source partition and offset) maps back to what was sent.
import { randomUUID } from 'node:crypto';
import type { Kafka, Message } from 'kafkajs';
import { Rng } from '../../fixtures/random.js';
import { createProducer } from '../kafka-client.js';
import type { HostileRecord } from './hostile-records.js';
import type { ValidRecord } from './hostile-valid.js';

export const FUZZ_HEADER = 'fuzz-id';

export type Sent = { id: number; kind: 'valid'; record: ValidRecord } | { id: number; kind: 'hostile'; record: HostileRecord };

/** Valid records keep their order (per-user order matters); hostile ones land at random places among them. */
export function interleave(valid: readonly ValidRecord[], hostile: readonly HostileRecord[], seed: string): Sent[] {
  const rng = new Rng(seed);
  const out: Sent[] = [];
  let v = 0;
  let h = 0;
  while (v < valid.length || h < hostile.length) {
    const takeHostile = h < hostile.length && (v >= valid.length || rng.next() < (hostile.length - h) / (hostile.length - h + valid.length - v));
    const id = out.length;
    if (takeHostile) out.push({ id, kind: 'hostile', record: hostile[h++] as HostileRecord });
    else out.push({ id, kind: 'valid', record: valid[v++] as ValidRecord });
  }
  return out;
}

const SEND_BYTES = 256 * 1024;

function messageOf(s: Sent): Message {
  const headers = { [FUZZ_HEADER]: String(s.id) };
  if (s.kind === 'valid') return { key: s.record.key, value: s.record.value, headers };
  return { key: s.record.key, value: s.record.value, timestamp: String(s.record.timestamp), headers };
}

/**
 * Sends in order, in requests of at most ~256 KB (an oversize record goes alone): one
 * partition's record batch must stay under the broker's message.max.bytes.
 */
export async function produceAll(kafka: Kafka, topic: string, sent: readonly Sent[]): Promise<void> {
  const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    let batch: Message[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length > 0) await producer.send({ topic, acks: -1, messages: batch });
      batch = [];
      bytes = 0;
    };
    for (const s of sent) {
      const size = (s.record.value?.length ?? 0) + (s.record.key?.length ?? 0);
      if (bytes + size > SEND_BYTES) await flush();
      batch.push(messageOf(s));
      bytes += size;
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
}

export interface ReadBack {
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  fuzzId: number | null;
}

/** Every record of a topic up to its current end, in partition and offset order, with the fuzz id header. */
export async function readBack(kafka: Kafka, topic: string): Promise<ReadBack[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const target = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
  const total = ends.reduce((s, p) => s + Number(BigInt(p.high) - BigInt(p.low)), 0);
  const out: ReadBack[] = [];
  if (total === 0) return out;
  const consumer = kafka.consumer({ groupId: `test-fuzz-read-${randomUUID()}`, maxBytesPerPartition: 8 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (BigInt(m.offset) >= (target.get(batch.partition) ?? 0n)) continue;
          const header = m.headers?.[FUZZ_HEADER];
          out.push({ partition: batch.partition, offset: m.offset, timestamp: m.timestamp, key: m.key, value: m.value, fuzzId: header === undefined ? null : Number(String(header)) });
        }
        if (out.length >= total) resolve();
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}
