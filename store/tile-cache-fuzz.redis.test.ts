// Property: whatever the interleaving of writes (online TileStore.apply, backfill
// TileStore.replace, deletes, expiries) and reads, a read through the cached reader equals
// an uncached read of the same moment at the same T. Reads near the previous read's T
// (as "latest" reads are) exercise the reuse of evaluation snapshots. Steps run one after the other or,
// in bursts, are issued without waiting for each other: both readers and the writers share
// one connection, so each cached read reaches Redis right before its uncached twin, and a
// cached entry may be revalidated while a newer read of the same entity is in flight.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { acceptedEvents, dropPrefix, testConfig, testPrefix } from '../api/test-support.js';
import type { ClickEvent } from '../core/event.js';
import type { Entity } from '../core/features/definition.js';
import { createRegistry } from '../core/features/registry.js';
import { hashUnit } from '../fixtures/random.js';
import { cacheHarness, type CacheHarness } from './cache-support.js';
import type { EntityReading } from './reader.js';
import { createRedis } from './redis-client.js';
import { SCRIPTS } from './scripts.js';

const registry = createRegistry({ latenessMs: 10 * 60_000 });
const NOW = Date.now();
const SPAN_MS = 2 * 86_400_000;
let redis: Redis;
let stream: ClickEvent[];
let entities: { entity: Entity; id: string }[];

before(async () => {
  redis = createRedis(testConfig());
  // Scripts loaded before any burst: a first EVALSHA's NOSCRIPT retry could reorder calls.
  for (const def of Object.values(SCRIPTS)) await redis.script('LOAD', def.source);
  // Two days of a few sparse entities: long enough for evictions of the short tiles.
  stream = acceptedEvents('tile-cache-fuzz', NOW - SPAN_MS, SPAN_MS / 1000 - 120, { users: 4, items: 6, rate: 0.015 }).sort((a, b) => a.event_time - b.event_time);
  const users = [...new Set(stream.map((e) => e.user_id))].sort().map((id) => ({ entity: 'user' as const, id }));
  const items = [...new Set(stream.flatMap((e) => (e.item_id === undefined ? [] : [e.item_id])))].sort().map((id) => ({ entity: 'item' as const, id }));
  entities = [...users, ...items];
});
after(() => redis.quit());

type Step =
  | { kind: 'write'; n: number }
  | { kind: 'backfill'; from: number; length: number; drop: number }
  | { kind: 'delete'; who: number; size: number }
  | { kind: 'expire'; who: number }
  | { kind: 'read'; entity: Entity; who: number[]; at: number | 'now' | { near: number } };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('write' as const), n: fc.integer({ min: 1, max: 250 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('backfill' as const), from: fc.double({ min: 0, max: 1, noNaN: true }), length: fc.double({ min: 0.01, max: 0.5, noNaN: true }), drop: fc.double({ min: 0, max: 0.5, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), who: fc.nat(), size: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), who: fc.nat() }) },
  { weight: 6, arbitrary: fc.record({
    kind: fc.constant('read' as const),
    entity: fc.constantFrom('user' as const, 'item' as const),
    who: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
    at: fc.oneof(
      fc.constant('now' as const),
      fc.double({ min: 0, max: 1.2, noNaN: true }),
      // up to 90 s after the previous read's T: mostly within its snapshot's range, sometimes past it
      fc.record({ near: fc.integer({ min: 0, max: 90_000 }) }),
    ),
  }) },
);

/** One run: steps grouped into bursts (issued without waiting) or awaited one by one. */
async function run(h: CacheHarness, groups: { burst: boolean; steps: Step[] }[]): Promise<void> {
  let written = 0;
  let lastT = Date.now();
  const pairs: { step: Step; cached: Promise<EntityReading[]>; uncached: Promise<EntityReading[]> }[] = [];
  const issue = (step: Step): Promise<unknown> => {
    switch (step.kind) {
      case 'write': {
        const next = stream.slice(written, written + step.n);
        written += next.length;
        return h.write(next);
      }
      case 'backfill': {
        const from = NOW - SPAN_MS + Math.floor(step.from * SPAN_MS);
        const to = Math.min(NOW, from + Math.ceil(step.length * SPAN_MS));
        if (to <= from) return Promise.resolve();
        // What was written, less a seeded share: a recompute that changes tiles.
        const kept = stream.slice(0, written).filter((e) => hashUnit(e.event_id, step.drop) >= step.drop);
        return h.backfill(kept, from, to);
      }
      case 'delete': {
        const e = entities[step.who % entities.length] as (typeof entities)[number];
        const keys = h.tileKeys(e.entity, e.id);
        return redis.unlink(keys[step.size % keys.length] as string);
      }
      case 'expire':
        throw new Error('expiries run awaited, outside bursts');
      case 'read': {
        const pool = entities.filter((e) => e.entity === step.entity);
        const ids = [...new Set(step.who.map((w) => (pool[w % pool.length] as (typeof pool)[number]).id))];
        const at = step.at;
        const T = at === 'now' ? Date.now() : typeof at === 'number' ? NOW - SPAN_MS + Math.floor(at * SPAN_MS) : lastT + at.near;
        lastT = T;
        const pair = h.readBoth(step.entity, ids, T, Date.now());
        pairs.push({ step, ...pair });
        return Promise.all([pair.cached, pair.uncached]);
      }
    }
  };
  for (const group of groups) {
    const pending: Promise<unknown>[] = [];
    for (const step of group.steps) {
      if (step.kind === 'expire') {
        // An expiry lands at a moment of its own: never between a read and its twin.
        await Promise.all(pending.splice(0));
        const e = entities[step.who % entities.length] as (typeof entities)[number];
        for (const key of h.tileKeys(e.entity, e.id)) await redis.pexpire(key, 1);
        await new Promise((resolve) => setTimeout(resolve, 3));
        continue;
      }
      const p = issue(step);
      if (group.burst) pending.push(p);
      else await p;
    }
    await Promise.all(pending);
  }
  for (const { step, cached, uncached } of pairs) assert.deepEqual(await cached, await uncached, `read ${JSON.stringify(step)}`);
}

test('cached reads equal uncached reads of the same moment, under any interleaving of writes, backfills, deletes and expiries', async () => {
  const total = { hit: 0, stale: 0, cold: 0, reused: 0, computed: 0 };
  const groups = fc.array(fc.record({ burst: fc.boolean(), steps: fc.array(stepArb, { minLength: 1, maxLength: 8 }) }), { minLength: 3, maxLength: 8 });
  await fc.assert(fc.asyncProperty(groups, async (g) => {
    const prefix = testPrefix('cfuzz');
    // Small bounds now and then, so evictions from the cache itself are exercised too.
    const h = cacheHarness(redis, prefix, registry, hashUnit(JSON.stringify(g).length) < 0.3 ? { maxEntries: 2 } : {});
    try {
      await run(h, g);
      for (const r of ['hit', 'stale', 'cold'] as const) total[r] += h.lookups[r];
      for (const r of ['reused', 'computed'] as const) total[r] += h.evaluations[r];
    } finally {
      await dropPrefix(redis, prefix);
    }
  }), { numRuns: 30, seed: 20261206 });
  // The property is only worth something if every path ran.
  assert.ok(total.hit > 0 && total.stale > 0 && total.cold > 0 && total.reused > 0 && total.computed > 0, `lookups ${JSON.stringify(total)}`);
});
