// The GraphQL API (DESIGN §6): graphql-yoga on node:http, port 4000, path /graphql.
// Everything beyond the schema is a plugin (plugins/use-*.ts): auth, limits,
// introspection, timeout, error codes, metrics, readiness. GraphiQL (development only)
// is rendered from local assets (@graphql-yoga/render-graphiql), never from a CDN.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { createSchema, createYoga, type GraphiQLOptions, type YogaServerInstance } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { childLogger } from '../config/logger.js';
import { createRegistry, type Registry } from '../core/features/registry.js';
import { createClickHouse } from '../offline/clickhouse-client.js';
import { FeatureReader } from '../store/reader.js';
import { TileCache } from '../store/tile-cache.js';
import { clusterWorkerMetrics } from './cluster.js';
import { checkProductionKeys, DEVELOPMENT_KEYS, parseApiKeys, type KeyRing } from './auth.js';
import type { ApiContext } from './context.js';
import { DEFAULT_LIMITS, type ApiLimits } from './limits.js';
import { exposedGc, scavengeWhenIdle } from './idle-scavenge.js';
import { createFastLane, type FastLane } from './fast-lane.js';
import { createApiMetrics, type ApiMetrics } from './metrics.js';
import { createApiRedis, ensureRedisReady, redisProblem, watchRedis } from './online.js';
import { useAuth } from './plugins/use-auth.js';
import { useBodyLimit } from './plugins/use-body-limit.js';
import { useErrorCodes } from './plugins/use-error-codes.js';
import { useIntrospection } from './plugins/use-introspection.js';
import { useLimits } from './plugins/use-limits.js';
import { useMetrics } from './plugins/use-metrics.js';
import { useReadiness } from './plugins/use-readiness.js';
import { useTimeout } from './plugins/use-timeout.js';
import { createResolvers } from './resolvers.js';
import { schemaSDL } from './schema-sdl.js';
import { FeatureService } from './service.js';
import { queueJobSource } from '../offline/jobs/job-source.js';
import { createJobQueue, jobsConnection } from '../offline/jobs/queue.js';
import { clickHouseOffline, type JobSource, type OfflineSource, type OnlineSource } from './sources.js';

export const GRAPHQL_PATH = '/graphql';

export interface CreateApiOptions {
  config: Config;
  /** default: the catalog + custom features with the configured lateness */
  registry?: Registry;
  /** default: a fail-fast client (online.ts); a given client is not closed by stop() */
  redis?: Redis;
  /** Redis key prefix (default config.redis.prefix; tests use their own) */
  prefix?: string;
  /** default: offline features from ClickHouse (config.clickhouse) */
  offline?: OfflineSource;
  /** default: the Redis FeatureReader */
  online?: OnlineSource;
  /** the BullMQ job system; without it job() and the mutations answer NOT_AVAILABLE */
  jobs?: JobSource;
  limits?: Partial<ApiLimits>;
  logger?: Logger;
  /** the clock (tests) */
  now?: () => number;
  /** an API cluster worker (api/cluster.ts): /metrics reports every worker's metrics */
  clusterWorker?: boolean;
}

export interface Api {
  yoga: YogaServerInstance<object, ApiContext>;
  server: Server;
  metrics: ApiMetrics;
  registry: Registry;
  limits: ApiLimits;
  /** null when the online store (Redis) answers, else why not (what /ready reports) */
  ready(): Promise<string | null>;
  /** listens on port (default config.api.port; 0 = any free port) and resolves the bound port */
  start(port?: number, host?: string): Promise<number>;
  stop(): Promise<void>;
}

const DEFAULT_QUERY = `# Tessera feature store. Send a key with scope "read" (Headers below).
# Typed fields: users(ids, asOf) / items(ids, asOf); generic: features(entity, ids, names, asOf).
{
  users(ids: ["u1", "u2"]) { id asOf source user_views_1h user_last_5_items user_cart_rate_24h }
  features(entity: "item", ids: ["i1"], names: ["item_views_24h", "item_conversion_24h"]) { id source values }
}
`;

/** GraphiQL's default headers: the published development read key when it is configured. */
function graphiqlHeaders(keys: KeyRing): string {
  const key = keys.lookup(DEVELOPMENT_KEYS[0] as string) ? DEVELOPMENT_KEYS[0] : '<your API key>';
  return JSON.stringify({ Authorization: `Bearer ${key}` });
}

function memo(render: (opts?: GraphiQLOptions) => string): (opts?: GraphiQLOptions) => string {
  const cache = new Map<string, string>();
  return (opts) => {
    const key = JSON.stringify(opts ?? {});
    let html = cache.get(key);
    if (html === undefined) cache.set(key, (html = render(opts)));
    return html;
  };
}

export function createApi(options: CreateApiOptions): Api {
  const { config } = options;
  const development = config.mode === 'development';
  const log = options.logger ?? childLogger('api');
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const keys = parseApiKeys(config.api.keys);
  if (!development) checkProductionKeys(keys);
  const registry = options.registry ?? createRegistry({ latenessMs: config.events.allowedLatenessMs });
  // Created even when off (0 bounds), so the gauges always have a source.
  const tileCache = new TileCache({ ...config.api.tileCache, onLookup: (entity, result, n) => metrics.tileCacheLookups.inc({ entity, result }, n), onEvaluate: (result, n) => metrics.evaluations.inc({ result }, n) });
  const metrics = createApiMetrics({ tileCache });

  const ownRedis = options.redis === undefined;
  const redis = options.redis ?? createApiRedis(config, limits.redisCommandTimeoutMs);
  const health = watchRedis(redis, (message) => log.warn({ err: message }, 'redis connection error'));
  const ownClickHouse = options.offline === undefined ? createClickHouse(config, { requestTimeoutMs: limits.requestTimeoutMs }) : undefined;
  const offline = options.offline ?? clickHouseOffline(ownClickHouse as NonNullable<typeof ownClickHouse>, config.clickhouse.database, {
    registry, maxFutureMs: config.events.maxFutureMs, timeoutMs: limits.requestTimeoutMs,
    onQuery: (q) => metrics.offlineQueries.observe(q.ms / 1000),
  });
  const online = options.online ?? new FeatureReader(redis, options.prefix ?? config.redis.prefix, registry, { cache: tileCache });
  const service = new FeatureService({
    registry, online, offline, metrics, now: options.now, maxFutureMs: config.events.maxFutureMs,
    ensureOnline: options.online ? undefined : () => ensureRedisReady(redis, limits.redisCommandTimeoutMs, health.lastError),
  });

  // Production only: development's CORS, introspection and GraphiQL are yoga's alone.
  const fastLane: FastLane | undefined = config.api.fastLane && !development ? createFastLane({
    yoga: (): YogaServerInstance<object, ApiContext> => yoga, graphqlEndpoint: GRAPHQL_PATH, keys, metrics,
    maxBodyBytes: limits.maxBodyBytes, requestTimeoutMs: limits.requestTimeoutMs,
  }) : undefined;
  const yoga = createYoga<object, ApiContext>({
    schema: createSchema<ApiContext>({
      typeDefs: schemaSDL(registry),
      resolvers: createResolvers({ registry, service, limits, jobs: options.jobs }) as never,
    }),
    graphqlEndpoint: GRAPHQL_PATH,
    healthCheckEndpoint: '/health',
    landingPage: false,
    graphiql: development ? { title: 'Tessera feature store', defaultQuery: DEFAULT_QUERY, defaultHeaders: graphiqlHeaders(keys) } : false,
    renderGraphiQL: memo(renderGraphiQL),
    maxRequestBodySize: false, // plugins/use-body-limit.ts: the same cap, cheaper
    cors: development ? undefined : false,
    maskedErrors: { isDev: development },
    logging: {
      debug: (...args: unknown[]) => log.debug(args.map(String).join(' ')),
      info: (...args: unknown[]) => log.info(args.map(String).join(' ')),
      warn: (...args: unknown[]) => log.warn(args.map(String).join(' ')),
      error: (...args: unknown[]) => log.error({ err: args[0] }, 'graphql error'),
    },
    plugins: [
      useMetrics({ metrics, graphqlEndpoint: GRAPHQL_PATH, text: options.clusterWorker ? clusterWorkerMetrics(metrics.registry) : undefined }),
      useBodyLimit(limits.maxBodyBytes),
      useReadiness({ check: () => redisProblem(redis, limits.redisCommandTimeoutMs, health.lastError) }),
      useAuth({ keys, metrics }),
      useErrorCodes(),
      useLimits(limits, { development }),
      useIntrospection({ enabled: development }),
      // Compiled execution (graphql-jit): a query document is compiled once, then each
      // request runs it without graphql-js's per-field resolve info and argument objects
      // (a ranking request allocates 56% less and costs ~45% less CPU; BENCHMARKS.md).
      // Before useTimeout, which wraps whatever executes.
      ...(config.api.jit ? [useGraphQlJit()] : []),
      useTimeout({ ms: limits.requestTimeoutMs }),
      ...(fastLane ? [fastLane.plugin] : []),
    ],
  });

  const server = createServer(fastLane?.listener ?? yoga);
  server.requestTimeout = limits.requestTimeoutMs + 5_000;
  server.headersTimeout = 10_000;
  const gc = config.api.idleGcFill > 0 ? exposedGc() : undefined;
  const idle = gc && scavengeWhenIdle(server, { fill: config.api.idleGcFill, gc, onScavenge: () => metrics.idleScavenges.inc() });
  if (config.api.idleGcFill > 0 && !gc && !development) log.info('idle scavenges off: node runs without --expose-gc (TESSERA_API_NODE_FLAGS)');

  return {
    yoga, server, metrics, registry, limits,
    ready: () => redisProblem(redis, limits.redisCommandTimeoutMs, health.lastError),
    start: (port = config.api.port, host?: string) => new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    }),
    async stop() {
      idle?.stop();
      await new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      if (ownRedis) redis.disconnect();
      await ownClickHouse?.close();
    },
  };
}

/** `tessera run --api`: serves until stop() (the caller handles signals). */
export async function startApiServer(config: Config, options: { clusterWorker?: boolean } = {}): Promise<Api> {
  const log = childLogger('api');
  // Mutations only enqueue; `tessera run --jobs` workers run the jobs.
  const jobConnection = jobsConnection(config);
  const queue = createJobQueue(jobConnection, config.redis.prefix);
  const api = createApi({ config, logger: log, jobs: queueJobSource(queue), clusterWorker: options.clusterWorker });
  const stopApi = api.stop.bind(api);
  api.stop = async () => {
    await stopApi();
    await queue.close();
    jobConnection.disconnect();
  };
  const port = await api.start(config.api.port);
  const problem = await api.ready();
  if (problem !== null) log.warn({ problem }, 'online store not reachable yet: feature reads fail with STORE_UNAVAILABLE until it is');
  log.info({ port, path: GRAPHQL_PATH, mode: config.mode, graphiql: config.mode === 'development' }, 'GraphQL API listening');
  return api;
}
