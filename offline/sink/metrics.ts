// Prometheus metrics of the offline sink (prom-client), on their own registry so several
// sinks (or a sink and the online worker) in one process do not collide.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createSinkMetrics() {
  const registry = new Registry();
  registry.setDefaultLabels({ process: 'tessera-offline' });
  const reg = [registry];
  return {
    registry,
    recordsIn: new Counter({ name: 'tessera_offline_records_in_total', help: 'records consumed, by topic (events or dlq)', labelNames: ['topic'], registers: reg }),
    notInserted: new Counter({ name: 'tessera_offline_events_not_inserted_total', help: 'events-topic records not inserted into events, by reason (decode failures, late, duplicate, unstorable)', labelNames: ['reason'], registers: reg }),
    replayed: new Counter({ name: 'tessera_offline_records_replayed_total', help: 'records at or below the user\'s stored marker (already inserted before a restart or rebalance)', registers: reg }),
    dlqInvalid: new Counter({ name: 'tessera_offline_dlq_invalid_total', help: 'DLQ-topic records that are not DLQ records (logged, not inserted)', registers: reg }),
    rowsInserted: new Counter({ name: 'tessera_offline_rows_inserted_total', help: 'rows inserted, by table', labelNames: ['table'], registers: reg }),
    inserts: new Counter({ name: 'tessera_offline_inserts_total', help: 'INSERT statements (batches) acknowledged, by table', labelNames: ['table'], registers: reg }),
    rowsPerInsert: new Histogram({ name: 'tessera_offline_rows_per_insert', help: 'rows per INSERT, by table', labelNames: ['table'], buckets: [1, 100, 1_000, 10_000, 25_000, 50_000, 100_000, 200_000, 500_000], registers: reg }),
    insertSeconds: new Histogram({ name: 'tessera_offline_insert_seconds', help: 'INSERT latency until ClickHouse acknowledged, by table', labelNames: ['table'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: reg }),
    flushes: new Counter({ name: 'tessera_offline_flushes_total', help: 'flushes by outcome (done, abandoned after a rebalance)', labelNames: ['outcome'], registers: reg }),
    stateSeconds: new Histogram({ name: 'tessera_offline_state_seconds', help: 'storing the judged users\' acceptance states in Redis (commit-user.lua, one pipeline per partition) for one flush', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: reg }),
    flushSeconds: new Histogram({ name: 'tessera_offline_flush_seconds', help: 'one flush: inserts, state writes and offset commit', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: reg }),
    retries: new Counter({ name: 'tessera_offline_retries_total', help: 'failed attempts retried with backoff (ClickHouse, Redis or Kafka unavailable)', labelNames: ['step'], registers: reg }),
    conflicts: new Counter({ name: 'tessera_offline_state_conflicts_total', help: 'partitions whose user markers moved under us (another sink owns them): rewound', registers: reg }),
    bufferedRows: new Gauge({ name: 'tessera_offline_buffered_rows', help: 'rows waiting for the next flush', registers: reg }),
    bufferedBytes: new Gauge({ name: 'tessera_offline_buffered_bytes', help: 'approximate bytes waiting for the next flush', registers: reg }),
    paused: new Gauge({ name: 'tessera_offline_paused', help: '1 while consumption is paused (buffer full or a flush failing)', registers: reg }),
  };
}

export type SinkMetrics = ReturnType<typeof createSinkMetrics>;
