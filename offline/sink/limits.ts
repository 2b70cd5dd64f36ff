// The offline sink's limits (flush triggers, buffer bounds, retries, Kafka sessions) and
// their defaults; sink.ts applies them.

export interface SinkLimits {
  /** flush when this many rows are buffered */
  flushRows: number;
  /** flush when this many bytes (approximate) are buffered */
  flushBytes: number;
  /** flush this long after the first buffered record */
  flushMs: number;
  /** pause between the end of one flush and the start of the next, unless stopping (default min(1 s, flushMs)): at most one INSERT per table per second for live traffic */
  minFlushIntervalMs: number;
  /**
   * flush when no record was buffered for this long (default minFlushIntervalMs): the end of
   * a backlog (or a stream gone quiet) is inserted now instead of up to flushMs later. Live
   * traffic never leaves the sink idle this long, so it does not shrink its parts.
   */
  idleFlushMs: number;
  /**
   * the idle flush waits for at least this many buffered rows (default flushRows / 10): a
   * trickle of a few records a second is idle between records, and flushing it every
   * idleFlushMs would make ClickHouse parts of a few rows; it waits for flushMs instead
   */
  idleFlushMinRows: number;
  /** pause consumption above this many buffered rows (default 2 x flushRows) */
  maxBufferedRows: number;
  maxBufferedBytes: number;
  /** an INSERT touching more days is split (ClickHouse memory, max_partitions_per_insert_block) */
  maxDaysPerInsert: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** stop() gives up flushing after this long (the records are consumed again next time) */
  stopTimeoutMs: number;
  /** users whose state is kept in memory per partition, beyond which settled ones are forgotten */
  maxCachedUsers: number;
  /** kafkajs fetch size per partition (a batch never holds more) */
  fetchBytesPerPartition: number;
  /** consumer-group session: a dead sink's partitions move after this long (broker minimum 6 s) */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

type Derived = 'maxBufferedRows' | 'maxBufferedBytes' | 'minFlushIntervalMs' | 'idleFlushMs' | 'idleFlushMinRows';

export const DEFAULT_SINK_LIMITS: Readonly<Omit<SinkLimits, Derived>> = Object.freeze({
  flushRows: 100_000, flushBytes: 64 * 1024 * 1024, flushMs: 5_000, maxDaysPerInsert: 50,
  backoffInitialMs: 200, backoffMaxMs: 10_000, stopTimeoutMs: 30_000, maxCachedUsers: 200_000,
  fetchBytesPerPartition: 8 * 1024 * 1024, sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000,
});

/** The defaults, overridden by `given`; the derived limits follow the given ones unless set. */
export function resolveLimits(given: Partial<SinkLimits> = {}): SinkLimits {
  const base = { ...DEFAULT_SINK_LIMITS, ...given };
  const minFlushIntervalMs = given.minFlushIntervalMs ?? Math.min(1_000, base.flushMs);
  return {
    maxBufferedRows: 2 * base.flushRows, maxBufferedBytes: 2 * base.flushBytes, minFlushIntervalMs, idleFlushMs: minFlushIntervalMs,
    idleFlushMinRows: Math.ceil(base.flushRows / 10), ...base,
  };
}
