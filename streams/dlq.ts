// The DLQ writer: rejected and late records, with their reason and original bytes, to
// `clickstream.dlq`. Keyed by source topic/partition/offset so downstream consumers (the
// ClickHouse rejected_events table) deduplicate the re-sends a crash replay can cause.
import type { Kafka, Producer } from 'kafkajs';
import { encodeDlqRecord, type DlqRecord } from '../core/event.js';
import type { DlqSink } from './online/processor.js';
import { createProducer } from './kafka-client.js';

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
      if (records.length === 0) return;
      await producer.send({
        topic,
        acks: -1,
        messages: records.map((r) => ({
          key: dlqKey(r),
          value: encodeDlqRecord(r),
          headers: { reason: r.reason, 'source-partition': String(r.source_partition), 'source-offset': r.source_offset },
        })),
      });
    },
  };
}
