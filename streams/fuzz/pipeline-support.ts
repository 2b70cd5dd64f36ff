// Kafka plumbing of the pipeline fuzz suite: produce valid and hostile records interleaved,
// each tagged with a `fuzz-id` header, and read a topic back with its headers, so every
// DLQ entry (which names its source partition and offset) maps back to what was sent.
import type { Kafka, Message } from 'kafkajs';
import { Rng } from '../../fixtures/random.js';
import { createProducer, sendBounded } from '../kafka-client.js';
import { readTopic, type ReadRecord } from '../test-support.js';
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
    await sendBounded(producer, topic, sent.map(messageOf), SEND_BYTES);
  } finally {
    await producer.disconnect();
  }
}

export type ReadBack = ReadRecord & { fuzzId: number | null };

/** Every record of a topic up to its current end, in partition and offset order, with the fuzz id header. */
export async function readBack(kafka: Kafka, topic: string): Promise<ReadBack[]> {
  return (await readTopic(kafka, topic)).map((r) => {
    const header = r.headers[FUZZ_HEADER];
    return { ...r, fuzzId: header === undefined ? null : Number(String(header)) };
  });
}
