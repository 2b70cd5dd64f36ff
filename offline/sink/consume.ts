// kafkajs batches -> the sink buffer. Events records are decoded and judged (judge.ts) after
// loading the state of users not yet in memory; DLQ records become rejected_events rows.
// A batch only advances the fetch position (resolveOffset) once it is in the buffer; offsets
// are committed by the flush, after ClickHouse acknowledged. A batch that became stale while
// waiting for Redis (rebalance, rewind, stop) is left unresolved: it is fetched again.
import type { EachBatchPayload } from 'kafkajs';
import type { Logger } from 'pino';
import { decodeDlqRecord, type EventLimits } from '../../core/event.js';
import { dlqRecordToRow, type RejectedRow } from '../rejected-table.js';
import type { AcceptanceStore } from './acceptance-store.js';
import type { SinkBuffer } from './buffer.js';
import { entryOf, judgeSlice, keyedUsers, type PartitionUsers } from './judge.js';
import type { SinkMetrics } from './metrics.js';

export interface ConsumeDeps {
  eventsTopic: string;
  dlqTopic: string;
  limits: EventLimits;
  latenessMs: number;
  store: AcceptanceStore;
  buffer: SinkBuffer;
  metrics: SinkMetrics;
  log: Logger;
  usersOf(partition: number): PartitionUsers;
  /** changes when the partition's buffered state is thrown away (rebalance, rewind, stop) */
  epoch(partition: number): string;
  backoff: { initialMs: number; maxMs: number };
  onFailing(failing: boolean): void;
  /** after rows were buffered: check flush triggers and the buffer bound */
  onBuffered(): void;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** records judged between two heartbeats */
const SLICE_RECORDS = 2_000;

export function createBatchHandler(deps: ConsumeDeps): (payload: EachBatchPayload) => Promise<void> {
  const sleep = deps.sleep ?? defaultSleep;

  async function loadUsers(partition: number, users: PartitionUsers, wanted: string[], payload: EachBatchPayload, stillCurrent: () => boolean): Promise<boolean> {
    let delay = deps.backoff.initialMs;
    for (;;) {
      if (!stillCurrent()) return false;
      try {
        const loaded = await deps.store.load(partition, wanted);
        for (const [u, stored] of loaded) if (!users.has(u)) users.set(u, entryOf(stored));
        deps.onFailing(false);
        return true;
      } catch (error) {
        deps.metrics.retries.inc({ step: 'load' });
        deps.onFailing(true);
        deps.log.warn({ partition, err: (error as Error).message, retryInMs: delay }, 'loading acceptance state failed; retrying');
        await sleep(delay);
        delay = Math.min(delay * 2, deps.backoff.maxMs);
        await payload.heartbeat().catch(() => undefined);
      }
    }
  }

  return async (payload) => {
    const { batch, resolveOffset, isRunning, isStale } = payload;
    if (batch.messages.length === 0) return;
    const { topic, partition } = batch;
    const epoch = deps.epoch(partition);
    const stillCurrent = () => deps.epoch(partition) === epoch && isRunning() && !isStale();
    if (!stillCurrent()) return;
    const first = batch.firstOffset() ?? batch.messages[0]?.offset ?? '0';
    const last = batch.lastOffset();
    const records = batch.messages.length;

    if (topic === deps.dlqTopic) {
      const rows: RejectedRow[] = [];
      let bytes = 0;
      for (const m of batch.messages) {
        const record = decodeDlqRecord(m.value);
        if (record === null) {
          deps.metrics.dlqInvalid.inc();
          deps.log.warn({ topic, partition, offset: m.offset }, 'not a DLQ record; skipped');
          continue;
        }
        rows.push(dlqRecordToRow(record, { partition, offset: m.offset }));
        bytes += 2 * (m.value?.byteLength ?? 0) + 300;
      }
      deps.buffer.add(topic, partition, 'dlq', { rejectedRows: rows, bytes, firstOffset: first, lastOffset: last, records }, Date.now());
      deps.metrics.recordsIn.inc({ topic: 'dlq' }, records);
      resolveOffset(last);
      deps.onBuffered();
      return;
    }
    // Events: in slices, with a heartbeat between them. A whole fetch (8 MiB, ~25,000
    // records) judged in one go kept the event loop busy for seconds on a loaded machine,
    // long enough to miss the session timeout and be thrown out of the group. Within a
    // slice each record is decoded and judged before the next (judgeSlice), so decoded
    // events die young instead of 2,000 of them surviving young-generation collections.
    for (let i = 0; i < records; i += SLICE_RECORDS) {
      const slice = batch.messages.slice(i, i + SLICE_RECORDS);
      const end = i + SLICE_RECORDS >= records;
      const sliceLast = end ? last : (slice[slice.length - 1]?.offset ?? last);
      const users = deps.usersOf(partition);
      // The users the records' keys name, loaded before anything is judged; a record whose
      // payload names another user stops judgeSlice, which then goes on after loading it.
      let wanted = keyedUsers(slice, users);
      for (let from = 0; ;) {
        if (wanted.length > 0 && !(await loadUsers(partition, users, wanted, payload, stillCurrent))) return;
        if (!stillCurrent()) return;
        // From here to buffer.add nothing awaits: the judged states and the buffered rows
        // always match, whenever a flush takes its snapshot.
        const judged = judgeSlice(partition, slice, from, deps.limits, users, deps.latenessMs);
        const next = judged.next;
        if (next > from) {
          const partFirst = from === 0 ? (i === 0 ? first : (slice[0]?.offset ?? first)) : (slice[from]?.offset ?? first);
          const partLast = next === slice.length ? sliceLast : (slice[next - 1]?.offset ?? sliceLast);
          deps.buffer.add(topic, partition, 'events', { lines: judged.lines, days: judged.days, bytes: judged.bytes, firstOffset: partFirst, lastOffset: partLast, records: next - from }, Date.now());
          for (const [reason, n] of Object.entries(judged.rejected)) deps.metrics.notInserted.inc({ reason }, n ?? 0);
          if (judged.skipped > 0) deps.metrics.replayed.inc(judged.skipped);
          for (const u of judged.unstorable) {
            deps.metrics.notInserted.inc({ reason: 'unstorable' });
            deps.log.error({ topic, partition, offset: u.offset, err: u.error }, 'accepted event cannot be stored in ClickHouse; skipped');
          }
          deps.metrics.recordsIn.inc({ topic: 'events' }, next - from);
        }
        if (judged.missing === undefined) break;
        // a user just loaded is in the cache until its commit is taken: no progress is a bug
        if (next === from && wanted.length === 1 && wanted[0] === judged.missing) throw new Error(`state of user ${JSON.stringify(judged.missing)} was loaded but is not in the cache`);
        wanted = [judged.missing];
        from = next;
      }
      resolveOffset(sliceLast);
      deps.onBuffered();
      if (!end) {
        await payload.heartbeat().catch(() => undefined);
        if (!stillCurrent()) return;
      }
    }
  };
}
