// Prometheus metrics of the API (prom-client), on their own registry so several servers
// (tests) can live in one process. Served at /metrics by plugins/use-metrics.ts.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the tile-cache gauges report when scraped (store/tile-cache.ts). */
export interface TileCacheSize { size: number; bytes: number }

export function createApiMetrics(options: { defaultMetrics?: boolean; tileCache?: TileCacheSize } = {}) {
  const registry = new Registry();
  const cache = options.tileCache;
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'tessera_api_' });
  return {
    registry,
    requestSeconds: new Histogram({
      name: 'tessera_api_request_duration_seconds',
      help: 'GraphQL HTTP request latency, by HTTP status',
      labelNames: ['status'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'tessera_api_errors_total',
      help: 'GraphQL errors returned, by extensions.code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    rows: new Counter({
      name: 'tessera_api_feature_rows_total',
      help: 'Feature rows served, by entity and by the store that answered (redis, clickhouse, mixed)',
      labelNames: ['entity', 'source'] as const,
      registers: [registry],
    }),
    offlineQueries: new Histogram({
      name: 'tessera_api_offline_query_duration_seconds',
      help: 'ClickHouse queries for features Redis could not answer exactly',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    offlineFailures: new Counter({
      name: 'tessera_api_offline_failures_total',
      help: 'Requests whose ClickHouse part failed (Redis answers were still returned)',
      registers: [registry],
    }),
    fastLane: new Counter({
      name: 'tessera_api_fast_lane_total',
      help: 'GraphQL requests the fast lane (api/fast-lane.ts) answered itself, or passed on to yoga after reading them (an unknown document, or an error to report)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    requestsByKey: new Counter({
      name: 'tessera_api_requests_total',
      help: 'Authenticated GraphQL operations, by API key name and operation type',
      labelNames: ['key', 'operation'] as const,
      registers: [registry],
    }),
    tileCacheLookups: new Counter({
      name: 'tessera_api_tile_cache_lookups_total',
      help: 'Entity reads by the API tile cache outcome: hit (Redis said unchanged), stale (cached, changed), cold (not cached)',
      labelNames: ['entity', 'result'] as const,
      registers: [registry],
    }),
    evaluations: new Counter({
      name: 'tessera_api_evaluations_total',
      help: 'Entity evaluations of cached tiles: reused (a snapshot of the same tiles held the request time) or computed',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    idleScavenges: new Counter({
      name: 'tessera_api_idle_scavenges_total',
      help: 'Young-generation GCs the API started between requests, with none in flight (TESSERA_API_IDLE_GC_FILL)',
      registers: [registry],
    }),
    processes: new Gauge({
      name: 'tessera_api_processes',
      help: 'API processes whose metrics this scrape holds (TESSERA_API_WORKERS; fewer while a worker restarts)',
      registers: [registry],
      collect() { this.set(1); }, // summed over the workers by api/cluster.ts
    }),
    tileCacheEntries: new Gauge({
      name: 'tessera_api_tile_cache_entries',
      help: 'Entities whose decoded tiles the API keeps',
      registers: [registry],
      collect() { this.set(cache?.size ?? 0); },
    }),
    tileCacheBytes: new Gauge({
      name: 'tessera_api_tile_cache_bytes',
      help: 'Approximate heap bytes of the decoded tiles the API keeps',
      registers: [registry],
      collect() { this.set(cache?.bytes ?? 0); },
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
