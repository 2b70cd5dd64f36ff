// Group commit for the DLQ: partitions processed at once each send their batch's rejects,
// and the DLQ producer is idempotent with one request in flight, so six concurrent sends
// were six produce round trips in a row, each on some partition's critical path (its user
// writes wait for its rejects to be in the DLQ). Here sends that arrive while one is in
// flight are merged into the next: at most two round trips whatever the concurrency.
// A caller's promise settles when the send holding its records does: resolved = its
// records are in the DLQ; rejected = they may not be, and the caller retries its batch
// (the DLQ is deduplicated downstream by source partition and offset).
import type { DlqRecord } from '../../core/event.js';
import type { DlqSink } from './processor.js';

interface Waiting {
  records: DlqRecord[];
  settle: { resolve(): void; reject(err: unknown): void }[];
}

export function batchingDlq(inner: DlqSink): DlqSink {
  let inFlight = false;
  let next: Waiting | undefined;

  async function drain(): Promise<void> {
    inFlight = true;
    while (next !== undefined) {
      const group = next;
      next = undefined;
      try {
        await inner.send(group.records);
        for (const s of group.settle) s.resolve();
      } catch (err) {
        for (const s of group.settle) s.reject(err);
      }
    }
    inFlight = false;
  }

  return {
    send(records) {
      if (records.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        next ??= { records: [], settle: [] };
        for (const r of records) next.records.push(r);
        next.settle.push({ resolve, reject });
        if (!inFlight) void drain();
      });
    },
  };
}
