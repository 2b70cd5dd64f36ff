// Freshness at a steady rate: while a generated stream flows at `rate` events/s, probe
// events are produced every 50 ms and the read function is polled until each probe is
// visible in `user_last_5_items`. Reported next to the same-run baseline: the raw Kafka
// produce -> consume latency of the same probes (a plain consumer in another group).
//
// Topology as deployed: the online worker is its own process (`tessera run --online`) and
// so is the stream's producer (`tessera generate --realtime`); this process only produces
// the probes, polls the read function and runs the baseline consumer. (Until 2026-12-07
// the generator, the worker and the probes shared one event loop: at 5,000 events/s that
// thread was ~90% busy, a quarter of it collecting the generator's and the worker's
// garbage, and every batch waited for it.) `inProcess: true` keeps that old topology.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import { PROJECT_ROOT, type Config } from '../config/config.js';
import { createRegistry } from '../core/features/registry.js';
import { pumpGenerated } from '../fixtures/pump.js';
import { freePort } from '../stack/process.js';
import { createKafka, createProducer } from '../streams/kafka-client.js';
import { startOnlineWorker } from '../streams/online/worker.js';
import { openEventProducer } from '../streams/producer.js';
import { FeatureReader } from '../store/reader.js';
import { createRedis } from '../store/redis-client.js';
import { sleep, stopChild, summarize, type LatencySummary } from './support.js';

export interface FreshnessResult {
  rate: number;
  seconds: number;
  featureVisibleMs: LatencySummary;
  rawKafkaMs: LatencySummary;
  /** the worker's batches: count, mean records, mean ms, mean Redis ms */
  batches: string;
}

export interface FreshnessOptions {
  /** generator and worker in this process (the old topology, for comparison) */
  inProcess?: boolean;
}

const STREAM = { users: 20_000, items: 5_000, late: 0.01, duplicates: 0.01, malformed: 0.01 };
/** how long the generated stream may take to reach the topic */
const STREAM_START_LIMIT_S = 60;
/** how long a probe may take to become visible before the run fails */
const PROBE_LIMIT_MS = 30_000;

export async function benchFreshness(config: Config, prefix: string, rate: number, seconds: number, log: (m: string) => void, options: FreshnessOptions = {}): Promise<FreshnessResult> {
  const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
  const kafka = createKafka(config, 'bench-fresh');
  const groupId = `bench-fresh-${prefix}`;
  // Whatever happens (a probe that never shows up included), everything started here is
  // stopped before the caller deletes the topic and keys under it.
  const cleanup: Array<() => Promise<unknown>> = [];
  const sentAt = new Map<string, number>();
  const rawMs: number[] = [];
  const visibleMs: number[] = [];
  let batches: string;
  try {
    const worker = options.inProcess ? await inProcessWorker(config, prefix, groupId) : await workerProcess(config, prefix, groupId);
    cleanup.unshift(() => worker.stop());
    const redis = createRedis(config);
    cleanup.unshift(async () => redis.disconnect());
    const reader = new FeatureReader(redis, prefix, registry);
    // Baseline consumer: sees the same probe records, notes arrival time.
    const raw = kafka.consumer({ groupId: `bench-fresh-raw-${randomUUID()}`, maxWaitTimeInMs: 100 });
    cleanup.unshift(() => raw.disconnect());
    await raw.connect();
    await raw.subscribe({ topic: config.topics.events, fromBeginning: false });
    let streamed = 0; // records of the generated stream (not probes) seen by the baseline consumer
    await raw.run({ eachMessage: async ({ message }) => {
      const key = message.key?.toString() ?? '';
      const t = sentAt.get(key);
      if (t !== undefined) rawMs.push(performance.now() - t);
      else streamed += 1;
    } });
    await sleep(3_000); // both groups joined before measuring

    log(`streaming ${rate} events/s for ${seconds} s with a probe every 50 ms (${options.inProcess ? 'generator and worker in this process' : 'generator and worker in their own processes'})`);
    // The stream runs longer than the probes (it is stopped after them): probes measure a
    // worker under load from the first to the last.
    const streamSeconds = seconds + STREAM_START_LIMIT_S + 5;
    const startedAt = performance.now();
    const stream = options.inProcess ? await inProcessStream(config, rate, streamSeconds) : generatorProcess(config, rate, streamSeconds);
    cleanup.unshift(() => stream.stop());
    // A generator process needs seconds to start: probes before its first records measured
    // an idle worker (until 2026-12-07, half of the probes of a 30-s run on a slow machine).
    // Probing starts once the stream has flowed for half a second.
    while (streamed < Math.max(1, rate / 2)) {
      if (performance.now() - startedAt > STREAM_START_LIMIT_S * 1000) throw new Error(`the generated stream did not start within ${STREAM_START_LIMIT_S} s`);
      await sleep(20);
    }
    log(`  stream flowing after ${((performance.now() - startedAt) / 1000).toFixed(1)} s; probing for ${seconds} s`);

    const probeProducer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
    cleanup.unshift(() => probeProducer.disconnect());
    await probeProducer.connect();
    const end = Date.now() + seconds * 1000;
    // Probes go out every 50 ms whatever the earlier ones do. (Sent one at a time, a probe
    // that waited seconds hid the seconds after it: a 30-s run at saturation measured 7.)
    // Each poll reads every probe not yet visible in one call, more often while few wait.
    const waiting = new Map<string, { item: string; t0: number }>();
    let sending = true;
    let stop = false;
    let sendFailed = false;
    const sender = (async () => {
      try {
        for (let n = 0; !stop && Date.now() < end; n++) {
          const user = `fresh-probe-${prefix}-${n}`;
          const item = `probe-item-${n}`;
          const t0 = performance.now();
          sentAt.set(user, t0);
          waiting.set(user, { item, t0 });
          await probeProducer.send({ topic: config.topics.events, messages: [{ key: user, value: JSON.stringify({ event_id: `p${n}`, user_id: user, event_type: 'view', event_time: Date.now(), item_id: item }) }] });
          await sleep(Math.max(0, 50 - (performance.now() - t0)));
        }
      } catch (err) {
        sendFailed = true; // the poll loop stops; `await sender` below rethrows this
        throw err;
      } finally {
        sending = false;
      }
    })();
    sender.catch(() => undefined); // awaited below; this only covers a poll that failed first
    try {
      while ((sending || waiting.size > 0) && !sendFailed) {
        if (waiting.size > 0) {
          const readings = await reader.read('user', [...waiting.keys()], ['user_last_5_items'], Date.now());
          const now = performance.now();
          for (const r of readings) {
            const w = waiting.get(r.id);
            if (w === undefined) continue;
            const v = r.values.user_last_5_items;
            if (Array.isArray(v) && v.includes(w.item)) {
              visibleMs.push(now - w.t0);
              waiting.delete(r.id);
            } else if (now - w.t0 > PROBE_LIMIT_MS) {
              throw new Error(`probe ${r.id} not visible after ${PROBE_LIMIT_MS / 1000} s`);
            }
          }
        }
        await sleep(Math.min(20, 1 + waiting.size));
      }
    } finally {
      stop = true;
    }
    await sender;
    await sleep(500); // late raw-consumer arrivals
    batches = batchStats(await worker.metrics());
    log(`  worker: ${batches}`);
  } finally {
    for (const step of cleanup) await step().catch(() => undefined);
  }
  return { rate, seconds, featureVisibleMs: summarize(visibleMs), rawKafkaMs: summarize(rawMs), batches };
}

interface Running {
  /** the worker's Prometheus text */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

function childEnv(config: Config, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TESSERA_KAFKA_BROKERS: config.kafka.brokers.join(','), TESSERA_REDIS_URL: config.redis.url,
    TESSERA_TOPIC_EVENTS: config.topics.events, TESSERA_TOPIC_DLQ: config.topics.dlq,
    TESSERA_ALLOWED_LATENESS_MS: String(config.events.allowedLatenessMs), ...extra,
  };
}

/** A `tessera` child process; its log (stderr) is piped to the caller. */
function tessera(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'tessera.js'), ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Passes a child's warnings and errors (and a CLI failure) on to this process's stderr; calls `onLine` with every log line. */
function watchLog(child: ChildProcess, name: string, onLine: (line: string) => void = () => undefined): void {
  readline.createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
    onLine(line);
    if (/^tessera: |"level":(40|50|60)/.test(line)) process.stderr.write(`${name}: ${line}\n`);
  });
}

/** `tessera run --online` under the bench's prefix and group; ready once it joined the group. */
async function workerProcess(config: Config, prefix: string, groupId: string): Promise<Running> {
  const port = await freePort();
  const child = tessera(['run', '--online'], childEnv(config, { TESSERA_REDIS_PREFIX: prefix, TESSERA_ONLINE_GROUP: groupId, TESSERA_METRICS_PORT: String(port), TESSERA_METRICS_HOST: '127.0.0.1', TESSERA_LOG_LEVEL: 'info' }));
  const joined = new Promise<void>((resolve, reject) => {
    watchLog(child, 'online worker', (line) => { if (line.includes('"msg":"joined group"')) resolve(); });
    child.once('exit', (code) => reject(new Error(`the online worker exited with ${code} before it joined its group`)));
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the online worker did not join its group within 60 s')), 60_000);
  });
  joined.catch(() => undefined); // an exit after the timeout: already handled below
  try {
    await Promise.race([joined, timeout]);
  } catch (err) {
    await stopChild(child, 15_000);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
    stop: () => stopChild(child, 15_000),
  };
}

async function inProcessWorker(config: Config, prefix: string, groupId: string): Promise<Running> {
  const worker = await startOnlineWorker({ config, prefix, groupId });
  return { metrics: () => worker.metrics.registry.metrics(), stop: () => worker.stop() };
}

/** `tessera generate --realtime` into the bench's topic. */
function generatorProcess(config: Config, rate: number, seconds: number): { stop(): Promise<void> } {
  const child = tessera(['generate', '--realtime', '--rate', String(rate), '--duration', String(seconds), '--seed', `fresh-${randomUUID()}`,
    '--users', String(STREAM.users), '--items', String(STREAM.items), '--late', String(STREAM.late), '--duplicates', String(STREAM.duplicates), '--malformed', String(STREAM.malformed)],
  childEnv(config, { TESSERA_LOG_LEVEL: 'warn' }));
  watchLog(child, 'generator');
  return { stop: () => stopChild(child, 15_000) };
}

async function inProcessStream(config: Config, rate: number, seconds: number): Promise<{ stop(): Promise<void> }> {
  const background = await openEventProducer(config, { role: 'bench-fresh-bg', lingerMs: 5 });
  let stop = false;
  const pump = pumpGenerated({
    seed: `fresh-${randomUUID()}`, startMs: Date.now(), rate, durationS: seconds, ...STREAM, allowedLatenessMs: config.events.allowedLatenessMs,
  }, background, { realtime: true, shouldStop: () => stop });
  return {
    async stop() {
      stop = true;
      await pump.catch(() => undefined);
      await background.close();
    },
  };
}

/** Where a batch's time went (the worker's own histograms): what freshness is made of. */
function batchStats(metrics: string): string {
  const sum = (name: string, label = ''): number => metrics.split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(label))
    .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
  const batches = sum('tessera_online_batch_seconds_count');
  const per = (x: number): string => (batches > 0 ? (x / batches).toFixed(1) : 'NaN');
  const phases = ['decode', 'meta', 'judge', 'items', 'users'].map((p) => `${p} ${per(sum('tessera_online_batch_phase_seconds_sum', `phase="${p}"`) * 1000)}`).join(', ');
  return `${batches} batches, ${per(sum('tessera_online_batch_size_sum'))} records, ${per(sum('tessera_online_batch_seconds_sum') * 1000)} ms each (Redis ${per(sum('tessera_online_redis_seconds_sum') * 1000)} ms; phases in ms: ${phases})`;
}
