// Which consumed offsets may be committed to Kafka yet. Redis acknowledges a write before it
// is on disk (AOF with appendfsync everysec: fsynced within about a second, up to two when
// the disk is slow). Were offsets committed at once, a Redis crash could lose writes whose
// records Kafka already counts as consumed: lost for good. So a batch's offsets are
// committed only once its writes are `delayMs` old; after a Redis restart the worker drops
// what is pending and rewinds to the committed offsets, and the replay (idempotent by the
// per-entity markers) rewrites whatever the crash took.
export interface PartitionOffset {
  partition: number;
  /** the next offset to consume (Kafka's committed-offset convention) */
  offset: string;
}

export class CommitGate {
  private readonly pending = new Map<number, { offset: string; at: number }[]>();

  constructor(private readonly delayMs: number) {}

  /** A batch of `partition` was written to Redis at `at`; `next` = its last offset + 1. */
  applied(partition: number, next: string, at: number): void {
    const list = this.pending.get(partition);
    if (list === undefined) this.pending.set(partition, [{ offset: next, at }]);
    else list.push({ offset: next, at });
  }

  /** Per partition, the newest offset whose writes are old enough; they leave the gate. */
  due(now: number): PartitionOffset[] {
    return this.take((at) => at <= now - this.delayMs);
  }

  /** Everything pending (a graceful stop: Redis is up and will persist it on shutdown). */
  all(): PartitionOffset[] {
    return this.take(() => true);
  }

  /** Forgets pending offsets: of every partition (Redis restarted) or of partitions no longer owned. */
  drop(keep?: ReadonlySet<number>): void {
    for (const p of [...this.pending.keys()]) if (keep === undefined || !keep.has(p)) this.pending.delete(p);
  }

  get size(): number {
    let n = 0;
    for (const list of this.pending.values()) n += list.length;
    return n;
  }

  private take(ready: (at: number) => boolean): PartitionOffset[] {
    const out: PartitionOffset[] = [];
    for (const [partition, list] of this.pending) {
      let i = 0;
      while (i < list.length && ready((list[i] as { at: number }).at)) i++;
      if (i === 0) continue;
      out.push({ partition, offset: (list[i - 1] as { offset: string }).offset });
      list.splice(0, i);
      if (list.length === 0) this.pending.delete(partition);
    }
    return out;
  }
}
