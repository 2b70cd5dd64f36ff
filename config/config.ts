// The one typed configuration of Tessera. Every process reads its settings here,
// from environment variables with defaults that match the local stack (`tessera up`)
// and docker-compose.yml. A bad value is a ConfigError with one clear line.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const hostPort = z.string().regex(/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/, 'expected host:port');

/** Every variable Tessera reads, its default, and how it is checked. */
export const ENV_SCHEMA = {
  TESSERA_DATA_DIR: z.string().min(1).default(path.join(PROJECT_ROOT, '.tessera')),
  TESSERA_KAFKA_BROKERS: z.string().default('127.0.0.1:19092')
    .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(hostPort).min(1)),
  TESSERA_KAFKA_CONTROLLER_PORT: port.default(19093),
  TESSERA_KAFKA_VERSION: z.string().regex(/^\d+\.\d+\.\d+$/).default('4.4.0'),
  TESSERA_TOPIC_EVENTS: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).default('clickstream.events'),
  TESSERA_TOPIC_DLQ: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).default('clickstream.dlq'),
  TESSERA_EVENTS_PARTITIONS: positiveInt.max(1024).default(6),
  TESSERA_ONLINE_GROUP: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).default('tessera-online'),
  TESSERA_OFFLINE_GROUP: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).default('tessera-offline'),
  TESSERA_CLICKHOUSE_URL: z.url().default('http://127.0.0.1:18123'),
  TESSERA_CLICKHOUSE_TCP_PORT: port.default(19000),
  TESSERA_CLICKHOUSE_DB: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/).default('tessera'),
  TESSERA_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'expected redis://host:port').default('redis://127.0.0.1:16379'),
  TESSERA_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).default('ts'),
  TESSERA_API_PORT: port.default(4000),
  TESSERA_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  TESSERA_METRICS_HOST: z.string().regex(/^[A-Za-z0-9.:-]{1,255}$/).default('127.0.0.1'),
  TESSERA_API_KEYS: z.string().default('dev:dev-read-key:read,admin:dev-admin-key:read+admin'),
  TESSERA_API_TILE_CACHE_ENTRIES: z.coerce.number().int().min(0).max(10_000_000).default(100_000),
  TESSERA_API_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  TESSERA_API_TILE_CACHE_MB: z.coerce.number().int().min(0).max(1_000_000).default(256),
  TESSERA_API_IDLE_GC_FILL: z.coerce.number().min(0).lt(1).default(0.5),
  TESSERA_API_JIT: z.enum(['0', '1']).default('1'),
  TESSERA_API_FAST_LANE: z.enum(['0', '1']).default('1'),
  TESSERA_MODE: z.enum(['development', 'production']).default('development'),
  TESSERA_ALLOWED_LATENESS_MS: z.coerce.number().int().min(0).default(10 * 60_000),
  TESSERA_MAX_FUTURE_MS: z.coerce.number().int().min(0).default(5 * 60_000),
  TESSERA_MAX_EVENT_BYTES: positiveInt.default(64 * 1024),
  TESSERA_RETENTION_DAYS: positiveInt.default(90),
  TESSERA_SKEW_EVERY_MS: z.coerce.number().int().min(0).default(10 * 60_000),
  TESSERA_SKEW_SAMPLE: positiveInt.max(100_000).default(200),
  TESSERA_JOB_LOCK_MS: positiveInt.min(1000).default(30_000),
  TESSERA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
} as const;

const schema = z.object(ENV_SCHEMA);
export type Env = z.infer<typeof schema>;

export interface Config {
  dataDir: string;
  mode: 'development' | 'production';
  logLevel: Env['TESSERA_LOG_LEVEL'];
  kafka: { brokers: string[]; controllerPort: number; version: string; clientId: string };
  topics: { events: string; dlq: string; eventsPartitions: number };
  /** consumer groups of the online worker and the offline sink */
  groups: { online: string; offline: string };
  clickhouse: { url: string; httpPort: number; tcpPort: number; database: string };
  redis: { url: string; port: number; prefix: string };
  /**
   * tileCache: the API's cache of decoded tiles (store/tile-cache.ts), revalidated against
   * Redis on every read; bounded by entries and approximate MiB (either 0 = off).
   * idleGcFill: scavenge between requests once the young generation is this full
   * (api/idle-scavenge.ts; 0 = off; needs node --expose-gc). jit: compiled query
   * execution (graphql-jit) instead of graphql-js's executor. fastLane: in production mode,
   * known query documents skip yoga's request pipeline (api/fast-lane.ts)
   */
  api: { port: number; keys: string; workers: number; tileCache: { maxEntries: number; maxBytes: number }; idleGcFill: number; jit: boolean; fastLane: boolean };
  /** Prometheus /metrics of the workers (0 = off) */
  metricsPort: number;
  /** interface of the workers' /metrics (127.0.0.1; 0.0.0.0 in containers) */
  metricsHost: string;
  events: { allowedLatenessMs: number; maxFutureMs: number; maxBytes: number };
  /**
   * BullMQ jobs: ClickHouse retention in days, the scheduled consistency check (every
   * skewEveryMs, 0 = off, over skewSample entities), and the job lock: a job whose worker
   * died is picked up again after about this long
   */
  jobs: { retentionDays: number; skewEveryMs: number; skewSample: number; lockMs: number };
}

/** Parses an environment (default: process.env) into a Config, or throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(ENV_SCHEMA)) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '?');
    throw new ConfigError(`invalid ${key}=${JSON.stringify(picked[key] ?? '')}: ${issue?.message ?? 'bad value'}`);
  }
  const e = parsed.data;
  return {
    dataDir: path.resolve(e.TESSERA_DATA_DIR),
    mode: e.TESSERA_MODE,
    logLevel: e.TESSERA_LOG_LEVEL,
    kafka: { brokers: e.TESSERA_KAFKA_BROKERS, controllerPort: e.TESSERA_KAFKA_CONTROLLER_PORT, version: e.TESSERA_KAFKA_VERSION, clientId: 'tessera' },
    topics: { events: e.TESSERA_TOPIC_EVENTS, dlq: e.TESSERA_TOPIC_DLQ, eventsPartitions: e.TESSERA_EVENTS_PARTITIONS },
    groups: { online: e.TESSERA_ONLINE_GROUP, offline: e.TESSERA_OFFLINE_GROUP },
    clickhouse: { url: e.TESSERA_CLICKHOUSE_URL, httpPort: urlPort(e.TESSERA_CLICKHOUSE_URL, 8123), tcpPort: e.TESSERA_CLICKHOUSE_TCP_PORT, database: e.TESSERA_CLICKHOUSE_DB },
    redis: { url: e.TESSERA_REDIS_URL, port: urlPort(e.TESSERA_REDIS_URL, 6379), prefix: e.TESSERA_REDIS_PREFIX },
    api: {
      port: e.TESSERA_API_PORT, keys: e.TESSERA_API_KEYS, workers: e.TESSERA_API_WORKERS,
      tileCache: { maxEntries: e.TESSERA_API_TILE_CACHE_ENTRIES, maxBytes: e.TESSERA_API_TILE_CACHE_MB * 1024 * 1024 },
      idleGcFill: e.TESSERA_API_IDLE_GC_FILL,
      jit: e.TESSERA_API_JIT === '1',
      fastLane: e.TESSERA_API_FAST_LANE === '1',
    },
    metricsPort: e.TESSERA_METRICS_PORT,
    metricsHost: e.TESSERA_METRICS_HOST,
    events: { allowedLatenessMs: e.TESSERA_ALLOWED_LATENESS_MS, maxFutureMs: e.TESSERA_MAX_FUTURE_MS, maxBytes: e.TESSERA_MAX_EVENT_BYTES },
    jobs: { retentionDays: e.TESSERA_RETENTION_DAYS, skewEveryMs: e.TESSERA_SKEW_EVERY_MS, skewSample: e.TESSERA_SKEW_SAMPLE, lockMs: e.TESSERA_JOB_LOCK_MS },
  };
}

function urlPort(url: string, fallback: number): number {
  const p = new URL(url).port;
  return p === '' ? fallback : Number(p);
}

/** The port of the first Kafka broker (what the local stack listens on). */
export function kafkaPort(config: Config): number {
  const first = config.kafka.brokers[0] ?? '127.0.0.1:9092';
  return Number(first.slice(first.lastIndexOf(':') + 1));
}
