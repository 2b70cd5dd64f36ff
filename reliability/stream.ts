// A steady generated clickstream (with its late, duplicate, out-of-order and malformed
// share) that keeps flowing through faults: a batch the broker does not take is retried
// until it is (generation waits meanwhile, then catches up with the wall clock). A retried
// send may land twice; that is fine, because every check reads back what the topic holds,
// and the pipeline's dedup turns a second copy into a `duplicate` rejection.
import type { Producer } from 'kafkajs';
import type { Config } from '../config/config.js';
import { generateClickstream, type RecordKind } from '../fixtures/generator.js';
import { createKafka, createProducer } from '../streams/kafka-client.js';

export interface SteadyStreamOptions {
  seed: string;
  /** records per second */
  rate: number;
  users: number;
  items: number;
  /** defaults: 1% late, 1% duplicates, 1% malformed, 5% out of order */
  late?: number;
  duplicates?: number;
  malformed?: number;
  outOfOrder?: number;
  /**
   * Event time runs this many times faster than the wall clock (default 1); records still
   * go out at `rate` per wall second. With a factor above 1, start event time in the past
   * (eventStartMs) so it never leads the record timestamp by more than TESSERA_MAX_FUTURE_MS.
   */
  timeScale?: number;
  /** event time of the first record (default: the wall clock at start) */
  eventStartMs?: number;
}

export interface StreamStats {
  /** records generated and acknowledged by the broker (at least once) */
  sent: number;
  kinds: Record<RecordKind, number>;
  /** sends that failed and were retried */
  failedSends: number;
  /** records generated but not yet acknowledged */
  pending: number;
}

export interface SteadyStream {
  stats(): StreamStats;
  /** stops generating, sends what is pending (retrying until the broker takes it) and disconnects */
  stop(): Promise<StreamStats>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICK_MS = 100;

export async function startSteadyStream(config: Config, o: SteadyStreamOptions): Promise<SteadyStream> {
  const kafka = createKafka(config, 'steady-stream', { overrides: { retry: { initialRetryTime: 200, retries: 3, maxRetryTime: 2_000 } } });
  let producer: Producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const startMs = Date.now();
  const scale = o.timeScale ?? 1;
  const eventStartMs = o.eventStartMs ?? startMs;
  const gen = generateClickstream({
    seed: o.seed, startMs: eventStartMs, rate: o.rate / scale, durationS: 365 * 86_400, users: o.users, items: o.items,
    late: o.late ?? 0.01, duplicates: o.duplicates ?? 0.01, malformed: o.malformed ?? 0.01,
    outOfOrder: o.outOfOrder ?? 0.05, outOfOrderMaxMs: 30_000, allowedLatenessMs: config.events.allowedLatenessMs,
  });
  const stats: StreamStats = { sent: 0, kinds: { valid: 0, late: 0, duplicate: 0, malformed: 0 }, failedSends: 0, pending: 0 };
  let stopping = false;

  /** Sends one batch until the broker acknowledges it; a new producer after repeated failures. */
  async function sendUntilAcked(messages: { key: string; value: Buffer | string }[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await producer.send({ topic: config.topics.events, messages, acks: -1 });
        return;
      } catch {
        stats.failedSends += 1;
        await sleep(Math.min(500 * attempt, 3_000));
        if (attempt % 3 === 0) {
          // A producer whose broker went away can keep a stale idempotence epoch; start clean.
          await producer.disconnect().catch(() => undefined);
          producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
          await producer.connect().catch(() => undefined);
        }
      }
    }
  }

  const loop = (async () => {
    let next = gen.next();
    while (!next.done && !stopping) {
      const due = eventStartMs + (Date.now() - startMs) * scale;
      const batch: { key: string; value: Buffer | string }[] = [];
      const kinds: RecordKind[] = [];
      while (!next.done && next.value.clockMs <= due && batch.length < 5_000) {
        batch.push({ key: next.value.key, value: next.value.value });
        kinds.push(next.value.kind);
        next = gen.next();
      }
      if (batch.length === 0) {
        await sleep(TICK_MS);
        continue;
      }
      stats.pending = batch.length;
      await sendUntilAcked(batch);
      stats.pending = 0;
      stats.sent += batch.length;
      for (const k of kinds) stats.kinds[k] += 1;
      await sleep(TICK_MS);
    }
  })();

  return {
    stats: () => ({ ...stats, kinds: { ...stats.kinds } }),
    async stop() {
      stopping = true;
      await loop;
      await producer.disconnect().catch(() => undefined);
      return { ...stats, kinds: { ...stats.kinds } };
    },
  };
}
