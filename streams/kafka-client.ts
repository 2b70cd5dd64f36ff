// The one place that creates kafkajs clients from the Tessera config: client id, brokers,
// retry policy, and kafkajs logs routed to pino (warn and above). Also creates the two
// topics (idempotently) and answers "is the broker healthy?".
import { Kafka, Partitioners, logLevel, type Admin, type KafkaConfig, type LogEntry, type Message, type Producer, type ProducerConfig } from 'kafkajs';
import type { Config } from '../config/config.js';
import { childLogger } from '../config/logger.js';

// kafkajs warns once per process that v2 changed the default partitioner. Tessera always
// uses the v2 default (murmur2, the Java client's mapping), so the warning is noise. It
// reads the variable when a producer is created, which is after this module loads.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const log = childLogger('kafka');

function pinoLogCreator() {
  return () => (entry: LogEntry) => {
    const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry.log;
    const fields = { ns: entry.namespace, ...extra };
    if (entry.level === logLevel.ERROR) log.error(fields, message);
    else if (entry.level === logLevel.WARN) log.warn(fields, message);
    else log.debug(fields, message);
  };
}

export interface CreateKafkaOptions {
  /** extra kafkajs settings (e.g. shorter timeouts for a health probe) */
  overrides?: Partial<KafkaConfig>;
}

/** A kafkajs client for this process; `role` is appended to the client id (`tessera-<role>`). */
export function createKafka(config: Config, role?: string, options: CreateKafkaOptions = {}): Kafka {
  return new Kafka({
    clientId: role ? `${config.kafka.clientId}-${role}` : config.kafka.clientId,
    brokers: config.kafka.brokers,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 30_000 },
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator,
    ...options.overrides,
  });
}

/**
 * A producer with the project's defaults: the v2 default (Java-compatible) partitioner, so
 * key = user_id lands on the same partition whatever client wrote it. Pass
 * `{ idempotent: true, maxInFlightRequests: 1 }` for ordered, exactly-once-per-session sends.
 */
export function createProducer(kafka: Kafka, options: ProducerConfig = {}): Producer {
  return kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...options });
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
}

/** The topics Tessera needs: events (config partitions, default 6) and the DLQ (same count). */
export function requiredTopics(config: Config): TopicSpec[] {
  return [
    { topic: config.topics.events, numPartitions: config.topics.eventsPartitions },
    { topic: config.topics.dlq, numPartitions: config.topics.eventsPartitions },
  ];
}

/**
 * Creates the missing topics; existing ones are left as they are (a topic with fewer
 * partitions than configured is logged, not altered: repartitioning would move users).
 * Returns the names it created. Safe to run concurrently from several processes.
 */
export async function ensureTopics(config: Config, topics: TopicSpec[] = requiredTopics(config), admin?: Admin): Promise<string[]> {
  const own = admin === undefined;
  const client = admin ?? createKafka(config, 'admin').admin();
  if (own) await client.connect();
  try {
    const existing = new Set(await client.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    const created: string[] = [];
    for (const spec of missing) {
      // One call per topic: kafkajs only reports "already exists" cleanly for a whole call.
      let made: boolean;
      try {
        made = await client.createTopics({ topics: [{ topic: spec.topic, numPartitions: spec.numPartitions }], waitForLeaders: true });
      } catch (error) {
        // KRaft may answer the leader wait with UNKNOWN_TOPIC_OR_PARTITION for a moment after
        // creating the topic (kafkajs retries only LEADER_NOT_AVAILABLE there): wait ourselves.
        if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
        await waitForLeaders(client, spec.topic, spec.numPartitions);
        made = true;
      }
      if (made) created.push(spec.topic);
    }
    const present = topics.filter((t) => existing.has(t.topic));
    if (present.length > 0) {
      const meta = await client.fetchTopicMetadata({ topics: present.map((t) => t.topic) });
      for (const t of meta.topics) {
        const want = present.find((p) => p.topic === t.name)?.numPartitions ?? 0;
        if (t.partitions.length < want) {
          log.warn({ topic: t.name, partitions: t.partitions.length, configured: want }, 'topic has fewer partitions than configured; left unchanged');
        }
      }
    }
    if (created.length > 0) log.info({ created }, 'created topics');
    return created;
  } finally {
    if (own) await client.disconnect();
  }
}

/** Polls metadata until every partition of the topic has a leader (up to 30 s). */
async function waitForLeaders(client: Admin, topic: string, partitions: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const meta = await client.fetchTopicMetadata({ topics: [topic] });
      const parts = meta.topics[0]?.partitions ?? [];
      if (parts.length >= partitions && parts.every((p) => p.leader >= 0)) return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic}: partitions without a leader after 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** True when a broker answers a metadata request within a few seconds. Never throws. */
export async function kafkaHealthy(config: Config): Promise<boolean> {
  const kafka = createKafka(config, 'health', {
    overrides: { connectionTimeout: 1_000, requestTimeout: 2_000, retry: { retries: 0 }, logLevel: logLevel.NOTHING },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export class KafkaUnavailableError extends Error {
  override name = 'KafkaUnavailable';
}

/** Fails fast with one clear line when no broker answers (instead of minutes of retries). */
export async function assertKafkaReachable(config: Config): Promise<void> {
  if (!(await kafkaHealthy(config))) {
    throw new KafkaUnavailableError(`no Kafka broker answers at ${config.kafka.brokers.join(',')} (start the stack with \`tessera up\`, or set TESSERA_KAFKA_BROKERS)`);
  }
}

/**
 * Sends messages in order, in requests of at most ~maxBytes (a larger message goes alone):
 * kafkajs puts one request's messages for a partition into one record batch, and the
 * broker refuses a batch over message.max.bytes.
 */
export async function sendBounded(producer: Producer, topic: string, messages: readonly Message[], maxBytes: number): Promise<void> {
  let batch: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = sizeOf(m.value) + sizeOf(m.key) + 200;
    if (batch.length > 0 && bytes + size > maxBytes) {
      await producer.send({ topic, acks: -1, messages: batch });
      batch = [];
      bytes = 0;
    }
    batch.push(m);
    bytes += size;
  }
  if (batch.length > 0) await producer.send({ topic, acks: -1, messages: batch });
}

function sizeOf(x: Message['value'] | Message['key']): number {
  return x === null || x === undefined ? 0 : typeof x === 'string' ? Buffer.byteLength(x) : x.length;
}
