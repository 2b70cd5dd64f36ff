// A light, steady API read load for a soak run: a few `features` queries per second with
// the namespace's key, alternating users and items, half of them as of a recent event time
// (which the API may send to ClickHouse), half latest. Counts answers, errors and sources;
// never more than one request in flight, so a slow API slows the load instead of piling up.
import { createRegistry } from '../core/features/registry.js';
import type { Entity } from '../core/features/definition.js';
import { Rng } from '../fixtures/random.js';

export interface ReadStats {
  requests: number;
  /** HTTP errors, GraphQL errors and timeouts */
  errors: number;
  /** errors by GraphQL extensions.code, HTTP status or client error name */
  errorsBy: Record<string, number>;
  bySource: Record<string, number>;
  lastError?: string;
}

export interface ReadLoad {
  stats(): ReadStats;
  stop(): Promise<ReadStats>;
}

export interface ReadLoadOptions {
  url: string;
  apiKey: string;
  perSecond: number;
  users: number;
  items: number;
  /** event time of the stream head now (asOf reads go a little behind it) */
  eventNow: () => number;
  seed?: string;
  timeoutMs?: number;
}

const QUERY = 'query($e: String!, $ids: [String!]!, $n: [String!]!, $t: DateTime) { features(entity: $e, ids: $ids, names: $n, asOf: $t) { id source values } }';

export function startReadLoad(o: ReadLoadOptions): ReadLoad {
  const registry = createRegistry();
  const names: Record<Entity, string[]> = { user: registry.forEntity('user').map((f) => f.name), item: registry.forEntity('item').map((f) => f.name) };
  const rng = new Rng(o.seed ?? 'soak-reads');
  const stats: ReadStats = { requests: 0, errors: 0, errorsBy: {}, bySource: {} };
  const fail = (kind: string, message: string) => {
    stats.errors += 1;
    stats.errorsBy[kind] = (stats.errorsBy[kind] ?? 0) + 1;
    stats.lastError = message;
  };
  const gapMs = 1000 / o.perSecond;
  let stopping = false;

  async function one(n: number): Promise<void> {
    const entity: Entity = n % 2 === 0 ? 'user' : 'item';
    const population = entity === 'user' ? o.users : o.items;
    const ids = Array.from({ length: 5 }, () => `${entity === 'user' ? 'u' : 'i'}${rng.int(1, population)}`);
    const asOf = n % 4 < 2 ? new Date(o.eventNow() - rng.int(0, 3_600_000)).toISOString() : null;
    stats.requests += 1;
    try {
      const res = await fetch(o.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${o.apiKey}` },
        body: JSON.stringify({ query: QUERY, variables: { e: entity, ids, n: names[entity], t: asOf } }),
        signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      });
      const body = (await res.json()) as { data?: { features?: { source: string }[] }; errors?: { message: string; extensions?: { code?: string } }[] };
      const first = body.errors?.[0];
      if (!res.ok || first !== undefined) {
        fail(first?.extensions?.code ?? `HTTP ${res.status}`, `${res.status} ${first?.message ?? ''}`.trim());
        return;
      }
      for (const row of body.data?.features ?? []) stats.bySource[row.source] = (stats.bySource[row.source] ?? 0) + 1;
    } catch (e) {
      fail((e as Error).name, (e as Error).message);
    }
  }

  const loop = (async () => {
    for (let n = 0; !stopping; n++) {
      const started = Date.now();
      await one(n);
      await new Promise((r) => setTimeout(r, Math.max(0, gapMs - (Date.now() - started))));
    }
  })();

  const snapshot = (): ReadStats => ({ ...stats, errorsBy: { ...stats.errorsBy }, bySource: { ...stats.bySource } });
  return {
    stats: snapshot,
    async stop() {
      stopping = true;
      await loop;
      return snapshot();
    },
  };
}
