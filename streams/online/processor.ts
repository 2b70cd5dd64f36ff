// The online path for one batch of one partition: decode -> per-user lateness and dedup
// -> per-batch pre-aggregation -> DLQ -> atomic per-entity tile writes. A factory that takes
// its I/O (store, DLQ) as arguments, so the same code runs in the worker and in tests.
//
// Exactly-once without distributed transactions:
// - every entity write carries the partition's offset marker and is applied by one Lua
//   script only if the marker is where we read it (store/lua/apply-entity.lua);
// - items are written before users; a user's marker therefore says "everything of this
//   user up to offset X is fully applied, items included". A replay skips those records
//   and re-judges the rest from the stored acceptance state: same verdicts, same writes;
// - rejected records go to the DLQ before any tile write, so a record skipped on replay
//   has its DLQ entry already; the DLQ is deduplicated downstream by (partition, offset).
// - the cache never serves state of a batch that failed: users are judged on their cached
//   acceptance states in place (a copy per touched user per batch cost a busy user's whole
//   Map, ~18,000 ids, every batch), and any failure from the first verdict on drops the
//   partition's cache, so the retry reloads markers and states from Redis, which holds
//   exactly the last batch that succeeded (this worker is their only writer).
import { admit } from '../../core/acceptance.js';
import { decodeEvent, makeDlqRecord, type ClickEvent, type DlqRecord, type EventLimits, type RejectReason } from '../../core/event.js';
import { createRegistry, type Registry } from '../../core/features/registry.js';
import { preaggregateWire, type TileWrite } from '../../core/preaggregate.js';
import type { EntityMeta, EntityWrite, TileStore, UserMeta } from '../../store/tile-store.js';
import { MetaCache } from './meta-cache.js';

/** A Kafka record as the processor needs it (a plain value object). */
export interface RawRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface PartitionBatch {
  topic: string;
  partition: number;
  records: readonly RawRecord[];
}

export interface DlqSink {
  send(records: readonly DlqRecord[]): Promise<void>;
}

export interface BatchOutcome {
  records: number;
  accepted: number;
  rejected: Partial<Record<RejectReason, number>>;
  /** records already applied before (a replay after a crash or rebalance) */
  skipped: number;
  entityWrites: number;
  maxEventTime: number | null;
  /** meta load, plus the time from the first write sent to the last confirmed (the users' pre-aggregation overlaps it) */
  redisMs: number;
  /** where the batch's time went, in ms (they add up to the batch's time in process()) */
  phases: BatchPhases;
}

export interface BatchPhases {
  /** decoding the records (CPU) */
  decode: number;
  /** loading markers and acceptance states of entities not cached (Redis) */
  meta: number;
  /** judging and the items' pre-aggregation (CPU) */
  judge: number;
  /** the DLQ send and the item writes, until both are confirmed */
  items: number;
  /** the user writes (pre-aggregated chunk by chunk while earlier chunks run), until confirmed */
  users: number;
}

export interface OnlineProcessorDeps {
  store: TileStore;
  dlq: DlqSink;
  registry: Registry;
  limits: EventLimits;
  /** per-partition cache bound (entities) */
  cacheSize?: number;
}

export interface OnlineProcessor {
  process(batch: PartitionBatch): Promise<BatchOutcome>;
  /** forget cached state of partitions (after a rebalance or an error) */
  reset(partitions?: number[]): void;
}

/** Users per apply() call of a batch's user writes, and such calls in flight (writeUsers). */
const USER_CHUNK = 256;
const USER_CHUNKS_IN_FLIGHT = 3;

/** A user judged in this batch: the state it started from, its new marker and accepted events. */
type Working = UserMeta & { newMarker: number; events: ClickEvent[] };

interface Decoded {
  record: RawRecord;
  offset: number;
  event?: ClickEvent;
  reject?: { reason: RejectReason; detail: string };
}

export function createOnlineProcessor(deps: OnlineProcessorDeps): OnlineProcessor {
  const { store, dlq, registry, limits } = deps;
  const latenessMs = registry.latenessMs;
  const userRegistry = createRegistry({ features: registry.forEntity('user'), latenessMs });
  const itemRegistry = createRegistry({ features: registry.forEntity('item'), latenessMs });
  const hasItemFeatures = itemRegistry.features.length > 0;
  const caches = new Map<number, MetaCache>();
  const cacheFor = (p: number): MetaCache => {
    let c = caches.get(p);
    if (c === undefined) caches.set(p, (c = new MetaCache(deps.cacheSize ?? 200_000)));
    return c;
  };

  async function process(batch: PartitionBatch): Promise<BatchOutcome> {
    const { partition } = batch;
    const cache = cacheFor(partition);
    const start = performance.now();
    const decoded: Decoded[] = batch.records.map((record) => {
      const res = decodeEvent(record.value, Number(record.timestamp), limits);
      return res.ok ? { record, offset: Number(record.offset), event: res.event } : { record, offset: Number(record.offset), reject: { reason: res.reason, detail: res.detail } };
    });

    const missingUsers = new Set<string>();
    const missingItems = new Set<string>();
    for (const d of decoded) {
      if (!d.event) continue;
      if (!cache.users.has(d.event.user_id)) missingUsers.add(d.event.user_id);
      const item = d.event.item_id;
      if (hasItemFeatures && item !== undefined && !cache.items.has(item)) missingItems.add(item);
    }
    let redisMs = 0;
    const decodedAt = performance.now();
    if (missingUsers.size + missingItems.size > 0) {
      const t0 = performance.now();
      const loaded = await store.loadMeta(partition, [...missingUsers], [...missingItems]);
      for (const [u, m] of loaded.users) cache.users.set(u, m);
      for (const [i, m] of loaded.items) cache.items.set(i, m);
      redisMs += performance.now() - t0;
    }

    try {
      const metaAt = performance.now();
      return await judgeAndWrite(batch, cache, decoded, redisMs, { decode: decodedAt - start, meta: metaAt - decodedAt, judge: 0, items: 0, users: 0 });
    } catch (err) {
      // States may hold this batch's verdicts, and Redis whatever was applied before the
      // failure (its markers say what): reload everything from there on the retry.
      cache.clear();
      throw err;
    }
  }

  /** `phases`: decode and meta filled in; this adds judge, items and users. */
  async function judgeAndWrite(batch: PartitionBatch, cache: MetaCache, decoded: readonly Decoded[], redisMs: number, phases: BatchPhases): Promise<BatchOutcome> {
    const judgeStart = performance.now();
    const { topic, partition } = batch;
    // Judge in offset order; markers in the cache change only after the writes succeed.
    const working = new Map<string, Working>();
    const dlqRecords: DlqRecord[] = [];
    const rejected: Partial<Record<RejectReason, number>> = {};
    let accepted = 0;
    const itemEvents = new Map<string, { events: ClickEvent[]; newMarker: number }>();
    let skipped = 0;
    let maxEventTime: number | null = null;
    const reject = (d: Decoded, reason: RejectReason, detail: string): void => {
      rejected[reason] = (rejected[reason] ?? 0) + 1;
      dlqRecords.push(makeDlqRecord(reason, detail, { topic, partition, offset: d.record.offset, timestamp: Number(d.record.timestamp), key: d.record.key, value: d.record.value }));
    };

    for (const d of decoded) {
      if (d.reject) {
        reject(d, d.reject.reason, d.reject.detail);
        continue;
      }
      const event = d.event as ClickEvent;
      // peek: every user judged here is set again (most recent) once the batch is written
      const stored = cache.users.peek(event.user_id) as UserMeta;
      if (d.offset <= stored.marker) {
        skipped += 1;
        continue;
      }
      let w = working.get(event.user_id);
      if (w === undefined) working.set(event.user_id, (w = { ...stored, newMarker: d.offset, events: [] }));
      w.newMarker = d.offset;
      const verdict = admit(w.acceptance, event, latenessMs);
      if (!verdict.accepted) {
        const max = w.acceptance.maxEventTime;
        reject(d, verdict.reason, verdict.reason === 'late'
          ? `event_time ${event.event_time} is more than ${latenessMs} ms before the user's latest accepted ${max}`
          : `event_id ${JSON.stringify(event.event_id)} already accepted for this user`);
        continue;
      }
      w.events.push(event);
      accepted += 1;
      if (maxEventTime === null || event.event_time > maxEventTime) maxEventTime = event.event_time;
      const item = event.item_id;
      if (hasItemFeatures && item !== undefined && d.offset > (cache.items.peek(item) as EntityMeta).marker) {
        let e = itemEvents.get(item);
        if (e === undefined) itemEvents.set(item, (e = { events: [], newMarker: d.offset }));
        e.events.push(event);
        e.newMarker = d.offset;
      }
    }

    // The DLQ send and the item writes go out together. The order that exactly-once needs
    // stays: user writes (whose markers make a replay skip records) are sent only once the
    // DLQ has the batch's rejects and every item write is confirmed (see the header).
    const itemWrites = entityWrites(preaggregateWire([...itemEvents.values()].flatMap((e) => e.events), itemRegistry), (id) => {
      const e = itemEvents.get(id) as { newMarker: number };
      return { expected: cache.items.peek(id) as EntityMeta, newMarker: e.newMarker };
    }, 'item');
    const t0 = performance.now();
    phases.judge = t0 - judgeStart;
    const before = [dlqRecords.length > 0 ? dlq.send(dlqRecords) : Promise.resolve(), store.apply(partition, itemWrites)];
    // Both settle before any error is thrown: a retry never runs beside this attempt's writes
    // (and no rejection is left unhandled).
    for (const r of await Promise.allSettled(before)) if (r.status === 'rejected') throw r.reason;
    const itemsDone = performance.now();
    phases.items = itemsDone - t0;
    await writeUsers(partition, working);
    phases.users = performance.now() - itemsDone;
    redisMs += performance.now() - t0;
    for (const w of itemWrites) cache.items.set(w.id, { marker: w.newMarker, rawMarker: String(w.newMarker) });
    for (const [id, w] of working) cache.users.set(id, { marker: w.newMarker, rawMarker: String(w.newMarker), acceptance: w.acceptance });

    return {
      records: batch.records.length,
      accepted,
      rejected,
      skipped,
      entityWrites: itemWrites.length + working.size,
      maxEventTime,
      redisMs,
      phases,
    };
  }

  /**
   * The users' writes, pre-aggregated and sent USER_CHUNK users at a time, a few chunks in
   * flight: Redis runs one while the next is built. Built all at once, a batch's tiles and
   * wire strings (tens of MB for a coalesced batch) all outlived many scavenges and were
   * copied and promoted; a chunk's mostly die young. Every chunk settles before an error
   * is thrown (a retry never runs beside this attempt's writes).
   */
  async function writeUsers(partition: number, working: ReadonlyMap<string, Working>): Promise<void> {
    const inFlight: Promise<unknown>[] = [];
    let failure: { error: unknown } | undefined;
    const ids = [...working.keys()];
    for (let i = 0; i < ids.length && failure === undefined; i += USER_CHUNK) {
      try {
        const chunk = ids.slice(i, i + USER_CHUNK);
        const events: ClickEvent[] = [];
        for (const id of chunk) for (const e of (working.get(id) as Working).events) events.push(e);
        const tiles = groupById(preaggregateWire(events, userRegistry));
        const writes: EntityWrite[] = chunk.map((id) => {
          const w = working.get(id) as Working;
          return { entity: 'user', id, expected: w, newMarker: w.newMarker, acceptance: w.acceptance, tiles: tiles.get(id) ?? [] };
        });
        inFlight.push(store.apply(partition, writes).catch((error: unknown) => { failure ??= { error }; }));
        if (inFlight.length >= USER_CHUNKS_IN_FLIGHT) await inFlight.shift();
      } catch (error) {
        failure ??= { error };
      }
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure.error;
  }

  return {
    process,
    reset(partitions) {
      if (partitions === undefined) caches.clear();
      else for (const p of partitions) caches.delete(p);
    },
  };
}

function groupById(writes: readonly TileWrite[]): Map<string, TileWrite[]> {
  const out = new Map<string, TileWrite[]>();
  for (const w of writes) {
    const list = out.get(w.entityId);
    if (list === undefined) out.set(w.entityId, [w]);
    else list.push(w);
  }
  return out;
}

function entityWrites(writes: readonly TileWrite[], meta: (id: string) => { expected: EntityMeta; newMarker: number }, entity: 'item'): EntityWrite[] {
  return [...groupById(writes)].map(([id, tiles]) => ({ entity, id, ...meta(id), tiles }));
}
