// The online processor without services: a generated stream in random batches, against an
// in-memory store that behaves like apply-entity.lua (compare-and-set on the marker, replays
// skipped) and fails at random points (the DLQ send, or part-way through a pipeline of
// entity writes). Retried as the worker retries, it must leave exactly the tiles and
// acceptance states of a run without failures, and reject exactly the reference's late and
// duplicate events: a failed batch's verdicts never leak into the retry (the processor
// judges on cached states in place and drops the cache on failure).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyAcceptanceState, parseAcceptanceState, serializeAcceptanceState } from '../../core/acceptance.js';
import { decodeEvent, type DlqRecord } from '../../core/event.js';
import { createRegistry } from '../../core/features/registry.js';
import { applyOps } from '../../core/ops.js';
import { referenceAccept } from '../../core/reference.js';
import { generateClickstream } from '../../fixtures/generator.js';
import { Rng } from '../../fixtures/random.js';
import type { EntityMeta, EntityWrite, TileStore, UserMeta } from '../../store/tile-store.js';
import { createOnlineProcessor, type DlqSink, type RawRecord } from './processor.js';

const registry = createRegistry({ latenessMs: 10 * 60_000 });

class InjectedFailure extends Error {}

/** Redis as apply-entity.lua sees it: meta (marker, acc) and tile hashes per entity. */
function memoryStore(rng: Rng | undefined, failRate: number, io?: Io) {
  const meta = new Map<string, { raw: string; acc: string }>();
  const hashes = new Map<string, Record<string, string>>();
  const store = {
    async loadMeta(_partition: number, users: readonly string[], items: readonly string[]) {
      const u = new Map<string, UserMeta>();
      const i = new Map<string, EntityMeta>();
      const markerOf = (raw: string): EntityMeta => ({ marker: raw === '' ? -1 : Number(raw), rawMarker: raw });
      for (const id of users) {
        const m = meta.get(`user:${id}`);
        u.set(id, { ...markerOf(m?.raw ?? ''), acceptance: m?.acc ? parseAcceptanceState(m.acc) : emptyAcceptanceState() });
      }
      for (const id of items) i.set(id, markerOf(meta.get(`item:${id}`)?.raw ?? ''));
      return { users: u, items: i };
    },
    async apply(_partition: number, writes: readonly EntityWrite[]) {
      if (io !== undefined) {
        // slow I/O: the processor's other work runs meanwhile. A user write may only be
        // sent once every item write and DLQ send of its batch is confirmed (exactly-once).
        const users = writes.some((w) => w.entity === 'user');
        if (users) assert.deepStrictEqual({ items: io.items, dlq: io.dlq }, { items: 0, dlq: 0 }, 'user writes sent before the batch\'s item writes and DLQ send were confirmed');
        if (!users) {
          if (io.dlq > 0) io.overlapped += 1;
          io.items += 1;
        }
        try {
          await io.pause();
        } finally {
          if (!users) io.items -= 1;
        }
      }
      // a pipeline that dies part-way: the writes before the failure are applied
      const failAt = rng !== undefined && rng.next() < failRate ? Math.floor(rng.next() * (writes.length + 1)) : -1;
      let applied = 0;
      let replayed = 0;
      writes.forEach((w, n) => {
        if (n === failAt) throw new InjectedFailure(`apply failed after ${n} of ${writes.length} writes`);
        const key = `${w.entity}:${w.id}`;
        const cur = meta.get(key) ?? { raw: '', acc: '' };
        if (cur.raw !== w.expected.rawMarker) {
          assert.ok(cur.raw !== '' && Number(cur.raw) >= w.newMarker, `conflict on ${key}: stored ${cur.raw}, expected ${w.expected.rawMarker}`);
          replayed += 1;
          return;
        }
        for (const t of w.tiles) {
          const hk = `${w.entity}:${w.id}:${t.tileMs}`;
          hashes.set(hk, applyOps(hashes.get(hk) ?? {}, t.ops));
        }
        meta.set(key, { raw: String(w.newMarker), acc: w.acceptance ? serializeAcceptanceState(w.acceptance) : cur.acc });
        applied += 1;
      });
      if (failAt === writes.length) throw new InjectedFailure('apply failed after all writes (the reply was lost)');
      return { applied, replayed };
    },
  };
  return { store: store as unknown as TileStore, meta, hashes };
}

/** In-flight item writes and DLQ sends, and a random number of event-loop turns per I/O. */
interface Io { items: number; dlq: number; overlapped: number; pause(): Promise<void> }

function slowIo(seed: string): Io {
  const rng = new Rng(`io-${seed}`);
  const io: Io = {
    items: 0, dlq: 0, overlapped: 0,
    async pause() {
      for (let n = Math.floor(rng.next() * 4); n >= 0; n--) await new Promise((r) => setImmediate(r));
    },
  };
  return io;
}

function run(records: readonly RawRecord[], seed: string, failRate: number, io?: Io) {
  const rng = new Rng(`processor-${seed}`);
  const injected = failRate > 0 ? new Rng(`failures-${seed}`) : undefined;
  const { store, meta, hashes } = memoryStore(injected, failRate, io);
  const dlqSeen = new Map<string, string>(); // offset -> reason (deduplicated downstream by offset)
  const dlq: DlqSink = {
    async send(rs: readonly DlqRecord[]) {
      if (io !== undefined) {
        if (io.items > 0) io.overlapped += 1;
        io.dlq += 1;
        try {
          await io.pause();
        } finally {
          io.dlq -= 1;
        }
      }
      if (injected !== undefined && injected.next() < failRate / 2) throw new InjectedFailure('dlq send failed');
      for (const r of rs) dlqSeen.set(r.source_offset, r.reason);
    },
  };
  const processor = createOnlineProcessor({ store, dlq, registry, limits: { maxBytes: 64 * 1024, maxFutureMs: 5 * 60_000 } });
  let failures = 0;
  const phaseMs: Record<string, number> = {};
  return (async () => {
    for (let at = 0; at < records.length;) {
      const batch = records.slice(at, at + 1 + Math.floor(rng.next() * 120));
      for (;;) {
        try {
          const t0 = performance.now();
          const { phases } = await processor.process({ topic: 't', partition: 0, records: batch });
          const wall = performance.now() - t0;
          // the phases are parts of the batch's time: none negative, together not more than all of it
          assert.ok(Object.values(phases).every((ms) => ms >= 0), JSON.stringify(phases));
          assert.ok(Object.values(phases).reduce((a, b) => a + b, 0) <= wall + 0.5, `${JSON.stringify(phases)} > ${wall} ms`);
          for (const [k, ms] of Object.entries(phases)) phaseMs[k] = (phaseMs[k] ?? 0) + ms;
          break;
        } catch (err) {
          if (!(err instanceof InjectedFailure)) throw err;
          failures += 1;
        }
      }
      at += batch.length;
      if (rng.next() < 0.05) processor.reset(); // a rebalance back to ourselves
    }
    return { meta, hashes, dlqSeen, failures, phaseMs };
  })();
}

for (const seed of ['d', 'e']) {
  test(`with slow I/O, DLQ sends and item writes overlap, user writes wait for both, and failures still leave the reference result (seed ${seed})`, async () => {
    const generated = [...generateClickstream({ seed, startMs: Date.UTC(2024, 4, 1), rate: 2, count: 1_500, users: 12, items: 40, late: 0.05, duplicates: 0.08, malformed: 0.05, outOfOrder: 0.2 })];
    const records: RawRecord[] = generated.map((r, i) => ({ offset: String(i), timestamp: String(r.clockMs), key: null, value: Buffer.from(r.value) }));
    const clean = await run(records, seed, 0);
    const io = slowIo(seed);
    const failing = await run(records, seed, 0.3, io);
    assert.ok(failing.failures > 10, `failures: ${failing.failures}`);
    assert.ok(io.overlapped > 5, `DLQ sends overlapping item writes: ${io.overlapped}`);
    // the slow I/O shows where it is waited for: the DLQ and item writes, then the user writes
    assert.ok((failing.phaseMs.items ?? 0) > 0 && (failing.phaseMs.users ?? 0) > 0, JSON.stringify(failing.phaseMs));
    assert.deepStrictEqual(failing.hashes, clean.hashes);
    assert.deepStrictEqual(failing.meta, clean.meta);
    assert.deepStrictEqual(failing.dlqSeen, clean.dlqSeen);
  });
}

for (const seed of ['a', 'b', 'c']) {
  test(`failed batches retried leave exactly the tiles and states of a run without failures (seed ${seed})`, async () => {
    const generated = [...generateClickstream({ seed, startMs: Date.UTC(2024, 4, 1), rate: 2, count: 1_500, users: 12, items: 40, late: 0.05, duplicates: 0.08, malformed: 0.03, outOfOrder: 0.2 })];
    const records: RawRecord[] = generated.map((r, i) => ({ offset: String(i), timestamp: String(r.clockMs), key: null, value: Buffer.from(r.value) }));
    const clean = await run(records, seed, 0);
    const failing = await run(records, seed, 0.3);
    assert.ok(failing.failures > 10, `failures: ${failing.failures}`);
    assert.deepStrictEqual(failing.hashes, clean.hashes);
    assert.deepStrictEqual(failing.meta, clean.meta);
    assert.deepStrictEqual(failing.dlqSeen, clean.dlqSeen);
    // and the late / duplicate verdicts are the reference's
    const decoded = records.flatMap((r) => {
      const res = decodeEvent(r.value, Number(r.timestamp));
      return res.ok ? [{ ...res.event, offset: r.offset }] : [];
    });
    const accepted = new Set(referenceAccept(decoded, registry.latenessMs).map((e) => e.offset));
    const rejected = decoded.filter((e) => !accepted.has(e.offset)).map((e) => e.offset).sort();
    const dlqAcceptance = [...failing.dlqSeen].filter(([, reason]) => reason === 'late' || reason === 'duplicate').map(([o]) => o).sort();
    assert.deepStrictEqual(dlqAcceptance, rejected);
    assert.ok(rejected.length > 20, `${rejected.length} late or duplicate events`);
  });
}
