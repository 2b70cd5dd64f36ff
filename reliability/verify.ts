// After a fault: did anything get lost or counted twice? Everything is compared with what
// the events topic holds (read back in partition order) run through the brute-force
// reference (core/reference.ts):
// - online: every user's and item's view counts over 24 h (which cover the whole run) in
//   Redis against the reference, summed into events missing and events counted twice,
//   plus random (entity, feature, T) probes over the whole catalog;
// - offline: the set of accepted events in ClickHouse against the reference's, and rows
//   that are there twice;
// - DLQ: every rejected record there (deduplicated by source partition and offset).
import { decodeDlqRecord, type ClickEvent } from '../core/event.js';
import type { FeatureValue } from '../core/features/definition.js';
import { createRegistry, type Registry } from '../core/features/registry.js';
import { referenceAccept, referenceValue } from '../core/reference.js';
import { createClickHouse } from '../offline/clickhouse-client.js';
import { selectRows } from '../offline/query.js';
import { sql, table } from '../offline/sql.js';
import { randomProbes } from '../store/probe-support.js';
import { FeatureReader } from '../store/reader.js';
import { createRedis } from '../store/redis-client.js';
import { createKafka } from '../streams/kafka-client.js';
import { decodeAll, readTopic } from '../streams/topic-reader.js';
import type { Namespace } from './namespace.js';

export interface Verdict {
  records: number;
  accepted: number;
  rejected: number;
  online: { entities: number; views: number; missing: number; doubled: number; probes: number; mismatches: number; examples: string[] };
  offline: { accepted: number; stored: number; missing: number; extra: number; duplicateRows: number };
  /** found > expected would mean accepted records in the DLQ */
  dlq: { expected: number; found: number; missing: number };
}

export const verdictOk = (v: Verdict): boolean =>
  v.online.missing === 0 && v.online.doubled === 0 && v.online.mismatches === 0
  && v.offline.missing === 0 && v.offline.extra === 0 && v.offline.duplicateRows === 0 && v.dlq.found === v.dlq.expected;

const eventKey = (e: Pick<ClickEvent, 'user_id' | 'event_time' | 'event_id'>): string => `${e.user_id}\u0000${e.event_time}\u0000${e.event_id}`;

function group(accepted: readonly ClickEvent[], by: (e: ClickEvent) => string | undefined): Map<string, ClickEvent[]> {
  const out = new Map<string, ClickEvent[]>();
  for (const e of accepted) {
    const id = by(e);
    if (id === undefined) continue;
    const list = out.get(id);
    if (list === undefined) out.set(id, [e]);
    else list.push(e);
  }
  return out;
}

/** Online view counts of every entity, and random probes of every feature. */
async function verifyOnline(ns: Namespace, registry: Registry, accepted: readonly ClickEvent[], seed: string): Promise<Verdict['online']> {
  const redis = createRedis(ns.config);
  const out: Verdict['online'] = { entities: 0, views: 0, missing: 0, doubled: 0, probes: 0, mismatches: 0, examples: [] };
  const wallNow = Date.now();
  // (a loop: spreading 100,000s of arguments into Math.max overflows the stack)
  let T = 0;
  for (const e of accepted) if (e.event_time >= T) T = e.event_time + 1;
  try {
    const reader = new FeatureReader(redis, ns.config.redis.prefix, registry);
    const mismatch = (what: string, got: unknown, want: unknown): void => {
      out.mismatches += 1;
      if (out.examples.length < 5) out.examples.push(`${what}: Redis ${JSON.stringify(got)}, reference ${JSON.stringify(want)}`);
    };
    for (const [entity, name, by] of [['user', 'user_views_24h', (e: ClickEvent) => e.user_id], ['item', 'item_views_24h', (e: ClickEvent) => e.item_id]] as const) {
      const owned = group(accepted, by);
      const ids = [...owned.keys()];
      for (let i = 0; i < ids.length; i += 500) {
        const readings = await reader.read(entity, ids.slice(i, i + 500), [name], T, wallNow);
        for (const r of readings) {
          const want = referenceValue(registry.features, owned.get(r.id) ?? [], entity, r.id, name, T) as number;
          const got = r.inexact.includes(name) ? NaN : (r.values[name] as number);
          out.entities += 1;
          out.views += want;
          if (Number.isNaN(got)) mismatch(`${entity} ${r.id} ${name} (not exact in Redis)`, null, want);
          else if (got < want) out.missing += want - got;
          else if (got > want) out.doubled += got - want;
        }
      }
    }
    const byUser = group(accepted, (e) => e.user_id);
    const byItem = group(accepted, (e) => e.item_id);
    for (const p of randomProbes(registry, accepted, 1_000, seed)) {
      const [reading] = await reader.read(p.entity, [p.id], [p.name], p.T, wallNow);
      if (reading === undefined || reading.inexact.includes(p.name)) continue;
      out.probes += 1;
      const want = referenceValue(registry.features, (p.entity === 'user' ? byUser : byItem).get(p.id) ?? [], p.entity, p.id, p.name, p.T);
      const got = reading.values[p.name] as FeatureValue;
      if (JSON.stringify(got) !== JSON.stringify(want)) mismatch(`${p.entity} ${p.id} ${p.name} at ${new Date(p.T).toISOString()}`, got, want);
    }
  } finally {
    redis.disconnect();
  }
  return out;
}

async function verifyOffline(ns: Namespace, accepted: readonly ClickEvent[]): Promise<Verdict['offline']> {
  const db = ns.config.clickhouse.database;
  const client = createClickHouse(ns.config, { database: db });
  try {
    const rows = await selectRows<{ user_id: string; event_time: string; event_id: string; n: string }>(client, sql`
      SELECT user_id, toString(event_time) AS event_time, event_id, toString(count()) AS n
      FROM ${table(db, 'events')} GROUP BY user_id, event_time, event_id`);
    const want = new Set(accepted.map(eventKey));
    const stored = new Set<string>();
    let extra = 0;
    let duplicateRows = 0;
    for (const r of rows) {
      const key = eventKey({ user_id: r.user_id, event_time: Number(r.event_time), event_id: r.event_id });
      stored.add(key);
      if (!want.has(key)) extra += 1;
      duplicateRows += Number(r.n) - 1;
    }
    let missing = 0;
    for (const k of want) if (!stored.has(k)) missing += 1;
    return { accepted: want.size, stored: stored.size, missing, extra, duplicateRows };
  } finally {
    await client.close();
  }
}

/** Checks the namespace's whole history (call once both consumer groups have caught up). */
export async function verifyNamespace(ns: Namespace, seed: string): Promise<Verdict> {
  const { config } = ns;
  const kafka = createKafka(config, 'verify');
  const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
  const input = await readTopic(kafka, config.topics.events);
  const accepted = referenceAccept(decodeAll(input, config), config.events.allowedLatenessMs);
  const dlq = (await readTopic(kafka, config.topics.dlq)).map((r) => decodeDlqRecord(r.value));
  const inDlq = new Set(dlq.map((r) => `${r?.source_partition}:${r?.source_offset}`));
  // Every record the reference did not accept must be in the DLQ once (a replay may send one
  // twice; the DLQ's readers deduplicate by source partition and offset, so count those).
  const expected = input.length - accepted.length;
  const missing = Math.max(0, expected - inDlq.size);
  return {
    records: input.length,
    accepted: accepted.length,
    rejected: expected,
    online: await verifyOnline(ns, registry, accepted, seed),
    offline: await verifyOffline(ns, accepted),
    dlq: { expected, found: inDlq.size, missing },
  };
}
