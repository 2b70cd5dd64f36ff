// Prometheus metrics of the API (prom-client), on their own registry so several servers
// (tests) can live in one process. Served at /metrics by plugins/use-metrics.ts.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createApiMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
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
    requestsByKey: new Counter({
      name: 'tessera_api_requests_total',
      help: 'Authenticated GraphQL operations, by API key name and operation type',
      labelNames: ['key', 'operation'] as const,
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
