// `tessera generate`: a synthetic, realistic clickstream (fixtures/generator.ts) produced
// to Kafka, as fast as possible or paced to the wall clock (--realtime). Same --seed and
// --start give the same records. Progress on stderr, a summary by kind on stdout.
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { parseEventTime, type RejectReason } from '../../core/event.js';
import { emptyKindCounts, resolveOptions, type GeneratorOptions } from '../../fixtures/generator.js';
import { pumpGenerated } from '../../fixtures/pump.js';
import { createProgress } from '../../fixtures/progress.js';
import { assertKafkaReachable, ensureTopics, requiredTopics } from '../../streams/kafka-client.js';
import { openEventProducer } from '../../streams/producer.js';

interface GenerateCliOptions {
  rate: number;
  duration?: number;
  count?: number;
  users: number;
  items: number;
  userZipf: number;
  itemZipf: number;
  seed: string;
  start?: number;
  outOfOrder: number;
  outOfOrderMax: number;
  late: number;
  malformed: number;
  duplicates: number;
  realtime?: boolean;
  topic?: string;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a positive number');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number >= 0');
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a fraction between 0 and 1');
  return n;
}

function time(value: string): number {
  const t = parseEventTime(/^\d+$/.test(value) ? Number(value) : value);
  if (typeof t !== 'number') throw new InvalidArgumentError(`expected ISO-8601 with timezone or epoch ms: ${t.problem}`);
  return t;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('produce a synthetic clickstream to Kafka: Zipf users/items, session funnels, out-of-order, late, duplicate and malformed events')
    .option('--rate <n>', 'events per second (of event time)', positiveNumber, 100)
    .option('--duration <seconds>', 'seconds of event time (default 60 unless --count is given)', positiveNumber)
    .option('--count <n>', 'stop after this many records', positiveInt)
    .option('--users <n>', 'distinct users (Zipf-distributed activity)', positiveInt, 10_000)
    .option('--items <n>', 'distinct items (Zipf-distributed popularity)', positiveInt, 5_000)
    .option('--user-zipf <s>', 'Zipf exponent of user activity', nonNegative, 1.0)
    .option('--item-zipf <s>', 'Zipf exponent of item popularity', nonNegative, 1.1)
    .option('--seed <seed>', 'random seed: same seed and --start, same stream', '1')
    .option('--start <time>', 'event time of the first record, ISO-8601 or epoch ms (default: now, or now - duration without --realtime)', time)
    .option('--out-of-order <fraction>', 'valid events whose event_time is moved back (within the bound)', fraction, 0.05)
    .option('--out-of-order-max <seconds>', 'bound of that move; must stay below the allowed lateness', nonNegative, 30)
    .option('--late <fraction>', 'events older than the allowed lateness for their user', fraction, 0.01)
    .option('--malformed <fraction>', 'bad JSON, schema violations, oversize, bad UTF-8, ...', fraction, 0.01)
    .option('--duplicates <fraction>', 'recent events re-sent verbatim (at-least-once)', fraction, 0.01)
    .option('--realtime', 'pace records to the wall clock (default: as fast as possible)')
    .option('--topic <name>', 'target topic (default: the events topic from config)')
    .action(async (opts: GenerateCliOptions) => {
      await runGenerate(opts);
    });
}

async function runGenerate(opts: GenerateCliOptions): Promise<void> {
  const config = loadConfig();
  const durationS = opts.duration ?? (opts.count === undefined ? 60 : undefined);
  const spanS = Math.min(durationS ?? Infinity, opts.count === undefined ? Infinity : opts.count / opts.rate);
  const startMs = opts.start ?? (opts.realtime ? Date.now() : Date.now() - Math.round(spanS * 1000));
  const genOptions: GeneratorOptions = {
    seed: opts.seed,
    startMs,
    rate: opts.rate,
    durationS,
    count: opts.count,
    users: opts.users,
    items: opts.items,
    userZipf: opts.userZipf,
    itemZipf: opts.itemZipf,
    outOfOrder: opts.outOfOrder,
    outOfOrderMaxMs: Math.round(opts.outOfOrderMax * 1000),
    late: opts.late,
    duplicates: opts.duplicates,
    malformed: opts.malformed,
    allowedLatenessMs: config.events.allowedLatenessMs,
    maxBytes: config.events.maxBytes,
  };
  const { total } = resolveOptions(genOptions); // fails fast, before touching Kafka

  const topic = opts.topic ?? config.topics.events;
  const topics = requiredTopics(config);
  if (!topics.some((t) => t.topic === topic)) topics.push({ topic, numPartitions: config.topics.eventsPartitions });
  await assertKafkaReachable(config);
  await ensureTopics(config, topics);
  const producer = await openEventProducer(config, { topic, role: 'generate' });

  const counts = emptyKindCounts();
  const malformedBy = new Map<RejectReason, number>();
  let outOfOrder = 0;
  let produced: number;
  let stop = false;
  const onSigint = () => {
    stop = true;
  };
  process.once('SIGINT', onSigint);
  const progress = createProgress('generate', total, 'records');
  const wallStart = Date.now();
  try {
    produced = await pumpGenerated(genOptions, producer, {
      realtime: opts.realtime,
      shouldStop: () => stop,
      onRecord: (record) => {
        counts[record.kind] += 1;
        if (record.outOfOrder) outOfOrder += 1;
        if (record.expected) malformedBy.set(record.expected, (malformedBy.get(record.expected) ?? 0) + 1);
        const n = counts.valid + counts.late + counts.duplicate + counts.malformed;
        if (n % 500 === 0) progress.update(n, `sent ${producer.stats().sent}`);
      },
    });
    progress.update(produced, `sent ${producer.stats().sent}`);
  } finally {
    progress.stop();
    process.removeListener('SIGINT', onSigint);
    await producer.close();
  }

  const seconds = (Date.now() - wallStart) / 1000;
  const pad = (n: number) => String(n).padStart(9);
  const lines = [
    `${stop ? 'interrupted: ' : ''}produced ${produced} records to ${topic} in ${seconds.toFixed(1)} s (${Math.round(produced / Math.max(seconds, 0.001))}/s), ` +
      `event time ${new Date(startMs).toISOString()} .. ${new Date(startMs + Math.round(spanS * 1000)).toISOString()}, seed ${opts.seed}`,
    `  valid     ${pad(counts.valid)}  (out-of-order ${outOfOrder})`,
    `  late      ${pad(counts.late)}`,
    `  duplicate ${pad(counts.duplicate)}`,
    `  malformed ${pad(counts.malformed)}${malformedBy.size > 0 ? `  (${[...malformedBy].sort().map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}`,
  ];
  console.log(lines.join('\n'));
}
