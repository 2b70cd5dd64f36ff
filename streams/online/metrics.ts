// Prometheus metrics of the online worker (prom-client), on their own registry so several
// workers in one process tree do not collide.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createOnlineMetrics() {
  const registry = new Registry();
  registry.setDefaultLabels({ process: 'tessera-online' });
  return {
    registry,
    eventsIn: new Counter({ name: 'tessera_online_events_in_total', help: 'records consumed from the events topic', registers: [registry] }),
    accepted: new Counter({ name: 'tessera_online_events_accepted_total', help: 'events accepted into tiles', registers: [registry] }),
    rejected: new Counter({ name: 'tessera_online_events_rejected_total', help: 'records sent to the DLQ, by reason', labelNames: ['reason'], registers: [registry] }),
    skipped: new Counter({ name: 'tessera_online_events_replayed_total', help: 'records already applied before (replay after crash or rebalance)', registers: [registry] }),
    lag: new Gauge({ name: 'tessera_online_consumer_lag', help: 'records behind the partition end, after the last batch', labelNames: ['partition'], registers: [registry] }),
    watermarkDelay: new Gauge({ name: 'tessera_online_watermark_delay_seconds', help: 'wall clock minus the largest accepted event_time of the last batch', labelNames: ['partition'], registers: [registry] }),
    batchSize: new Histogram({ name: 'tessera_online_batch_size', help: 'records per processed batch', buckets: [1, 10, 100, 500, 1000, 5000, 10000, 50000], registers: [registry] }),
    batchSeconds: new Histogram({ name: 'tessera_online_batch_seconds', help: 'time to process one batch (decode to committed Redis state)', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
    phaseSeconds: new Histogram({ name: 'tessera_online_batch_phase_seconds', help: 'time per batch in each phase: decode, meta (load markers), judge, items (DLQ send and item writes), users (user writes)', labelNames: ['phase'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5], registers: [registry] }),
    redisSeconds: new Histogram({ name: 'tessera_online_redis_seconds', help: 'Redis time per batch (meta load + tile writes)', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5], registers: [registry] }),
    rewinds: new Counter({ name: 'tessera_online_rewinds_total', help: 'replays from the committed offsets after Redis came back as a new process (restart or crash)', registers: [registry] }),
    retries: new Counter({ name: 'tessera_online_batch_retries_total', help: 'batch attempts that failed and were retried (Redis or Kafka unavailable)', registers: [registry] }),
  };
}

export type OnlineMetrics = ReturnType<typeof createOnlineMetrics>;
