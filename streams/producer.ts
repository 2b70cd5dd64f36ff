// The event producer used by the generator and the importers: key = user_id, batches of
// N messages / B bytes sent with one sendBatch each, strictly one batch at a time (so
// per-key order holds), a bounded buffer with backpressure (`await push()` waits while
// it is full), flush and close. It can also send raw bytes (malformed test events).
//
// `createEventProducer` takes its I/O (anything with kafkajs' sendBatch) as an argument,
// so it is unit-tested with a fake; `openEventProducer` wires it to a real idempotent
// kafkajs producer.
import { CompressionTypes, type Message, type ProducerBatch } from 'kafkajs';
import type { Config } from '../config/config.js';
import { encodeEvent, type ClickEvent } from '../core/event.js';
import { createKafka, createProducer } from './kafka-client.js';

export interface BatchSender {
  sendBatch(batch: ProducerBatch): Promise<unknown>;
}

export interface EventProducerOptions {
  topic: string;
  /** send when this many messages are buffered (default 500) */
  batchMessages?: number;
  /** send when the buffered values reach this many bytes (default 512 KiB, under the broker's 1 MiB) */
  batchBytes?: number;
  /** at most this many messages buffered or in flight; push() waits beyond (default 10,000) */
  maxBufferedMessages?: number;
  /** send a partial batch after this long (default 50 ms) */
  lingerMs?: number;
  compression?: CompressionTypes;
}

export interface ProducerStats {
  /** messages acknowledged by the broker */
  sent: number;
  /** value bytes acknowledged */
  sentBytes: number;
  batches: number;
  /** messages buffered or in flight */
  pending: number;
}

export interface EventProducer {
  readonly topic: string;
  /** Buffers one event (key = user_id); waits while the buffer is full. */
  push(event: ClickEvent): Promise<void>;
  /** Buffers raw bytes under a key (null key: the partitioner picks a partition). */
  pushRaw(key: string | null, value: Buffer | string | null): Promise<void>;
  /** Sends everything buffered and waits for the broker's acknowledgement. */
  flush(): Promise<void>;
  /** Flushes, then releases the connection (when this producer owns one). Idempotent. */
  close(): Promise<void>;
  stats(): ProducerStats;
}

interface InFlight {
  done: Promise<void>;
  count: number;
}

function valueBytes(value: Buffer | string | null): number {
  if (value === null) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;
}

export function createEventProducer(sender: BatchSender, options: EventProducerOptions, onClose?: () => Promise<void>): EventProducer {
  const batchMessages = Math.max(1, options.batchMessages ?? 500);
  const batchBytes = Math.max(1, options.batchBytes ?? 512 * 1024);
  const maxBuffered = Math.max(batchMessages, options.maxBufferedMessages ?? 10_000);
  const lingerMs = options.lingerMs ?? 50;
  const compression = options.compression ?? CompressionTypes.None;

  let batch: Message[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const inFlight: InFlight[] = [];
  let chain: Promise<void> = Promise.resolve();
  let failure: Error | undefined;
  let closed: Promise<void> | undefined;
  const stats = { sent: 0, sentBytes: 0, batches: 0 };

  function pendingCount(): number {
    return batch.length + inFlight.reduce((n, f) => n + f.count, 0);
  }

  /** Hands the current batch to the send chain (sends run one after another). */
  function dispatch(): void {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (batch.length === 0) return;
    const messages = batch;
    const size = bytes;
    batch = [];
    bytes = 0;
    const entry: InFlight = { count: messages.length, done: Promise.resolve() };
    entry.done = chain.then(async () => {
      try {
        if (failure !== undefined) return; // an earlier batch failed: keep order, send nothing more
        await sender.sendBatch({ topicMessages: [{ topic: options.topic, messages }], acks: -1, compression });
        stats.sent += messages.length;
        stats.sentBytes += size;
        stats.batches += 1;
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
      } finally {
        inFlight.splice(inFlight.indexOf(entry), 1);
      }
    });
    chain = entry.done;
    inFlight.push(entry);
  }

  function check(): void {
    if (failure !== undefined) throw failure;
    if (closed !== undefined) throw new Error(`producer for ${options.topic} is closed`);
  }

  async function add(message: Message, size: number): Promise<void> {
    check();
    // Backpressure: wait for the oldest send while buffered + in flight is at the bound.
    while (pendingCount() >= maxBuffered) {
      if (inFlight.length === 0) dispatch();
      const oldest = inFlight[0];
      if (oldest === undefined) break;
      await oldest.done;
      check();
    }
    batch.push(message);
    bytes += size;
    if (batch.length >= batchMessages || bytes >= batchBytes) dispatch();
    else if (timer === undefined && lingerMs >= 0) {
      timer = setTimeout(dispatch, lingerMs);
      timer.unref();
    }
  }

  async function flush(): Promise<void> {
    dispatch();
    await chain;
    if (failure !== undefined) throw failure;
  }

  return {
    topic: options.topic,
    push(event: ClickEvent): Promise<void> {
      const value = encodeEvent(event);
      return add({ key: event.user_id, value }, Buffer.byteLength(value));
    },
    pushRaw(key: string | null, value: Buffer | string | null): Promise<void> {
      return add({ key, value }, valueBytes(value));
    },
    async flush(): Promise<void> {
      check();
      await flush();
    },
    close(): Promise<void> {
      closed ??= (async () => {
        try {
          await flush();
        } finally {
          await onClose?.();
        }
      })();
      return closed;
    },
    stats(): ProducerStats {
      return { ...stats, pending: pendingCount() };
    },
  };
}

/**
 * Connects an idempotent kafkajs producer (`idempotent: true, maxInFlightRequests: 1`)
 * and wraps it. `close()` flushes and disconnects.
 */
export async function openEventProducer(config: Config, options: Partial<EventProducerOptions> & { role?: string } = {}): Promise<EventProducer> {
  const kafka = createKafka(config, options.role ?? 'producer');
  const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return createEventProducer(producer, { ...options, topic: options.topic ?? config.topics.events }, () => producer.disconnect());
}
