// The DLQ writer: rejected and late records, with their reason and original bytes, to
// `clickstream.dlq`. Keyed by source topic/partition/offset so downstream consumers (the
// ClickHouse rejected_events table) deduplicate the re-sends a crash replay can cause.
import type { Kafka, Producer } from 'kafkajs';
import { encodeDlqRecord, type DlqRecord } from '../core/event.js';
import type { DlqSink } from './online/processor.js';
import { createProducer, sendBounded } from './kafka-client.js';

/** kafkajs puts one send's messages for a partition in one record batch; the broker refuses one over message.max.bytes (1 MB). */
const SEND_BYTES = 512 * 1024;

export function dlqKey(record: Pick<DlqRecord, 'source_topic' | 'source_partition' | 'source_offset'>): string {
  return `${record.source_topic}:${record.source_partition}:${record.source_offset}`;
}

export interface KafkaDlq extends DlqSink {
  connect(): Promise<void>;
  close(): Promise<void>;
}

export function createKafkaDlq(kafka: Kafka, topic: string): KafkaDlq {
  const producer: Producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
  return {
    connect: () => producer.connect(),
    close: () => producer.disconnect(),
    async send(records) {
      await sendBounded(producer, topic, records.map((r) => ({
        key: dlqKey(r),
        value: encodeDlqRecord(r),
        headers: { reason: r.reason, 'source-partition': String(r.source_partition), 'source-offset': r.source_offset },
      })), SEND_BYTES);
    },
  };
}
