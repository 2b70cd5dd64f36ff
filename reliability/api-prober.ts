// A model calling the API while faults happen: a steady trickle of feature queries (latest
// user vectors, latest item vectors, and past user vectors that ClickHouse may have to
// answer), each with a hard client timeout. Every answer is recorded, so a scenario can say
// what clients saw during an outage: answers or clear errors, never a hang.
import { Rng } from '../fixtures/random.js';

export type QueryKind = 'users-latest' | 'items-latest' | 'users-past';

export interface ProbeResult {
  /** wall-clock start (epoch ms) */
  at: number;
  kind: QueryKind;
  ms: number;
  /** HTTP status, or 0 when there was no answer (timeout, connection refused) */
  status: number;
  /** extensions.code of every error ('?' for one without a code) */
  codes: string[];
  /** feature values came back for every id */
  ok: boolean;
  /** no answer within the client timeout */
  hung: boolean;
  /** connection refused or reset (the API process itself was down) */
  refused: boolean;
  sources: string[];
}

export interface ApiProberOptions {
  url: string;
  apiKey: string;
  users: number;
  items: number;
  /** ms between two requests (default 200) */
  everyMs?: number;
  /** client timeout: an answer slower than this counts as a hang (default 5,000) */
  timeoutMs?: number;
  seed?: string;
}

export interface ApiProber {
  results(): readonly ProbeResult[];
  stop(): Promise<void>;
}

const USER_NAMES = ['user_views_1h', 'user_revenue_7d', 'user_distinct_items_1h', 'user_last_5_items', 'user_session_events', 'user_seconds_since_last_event'];
const ITEM_NAMES = ['item_views_1h', 'item_distinct_viewers_24h', 'item_conversion_24h'];

function queryFor(kind: QueryKind, rng: Rng, o: ApiProberOptions): { query: string; variables: Record<string, unknown> } {
  const pick = (prefix: string, n: number) => Array.from({ length: 5 }, () => `${prefix}${1 + Math.floor(rng.next() * n)}`);
  const q = 'query($e: String!, $ids: [String!]!, $n: [String!]!, $t: DateTime) { features(entity: $e, ids: $ids, names: $n, asOf: $t) { id source values } }';
  if (kind === 'items-latest') return { query: q, variables: { e: 'item', ids: pick('i', o.items), n: ITEM_NAMES } };
  if (kind === 'users-latest') return { query: q, variables: { e: 'user', ids: pick('u', o.users), n: USER_NAMES } };
  // 60 days ago, with ids Redis has never seen: Redis cannot vouch for that past, so
  // ClickHouse answers (the route a ClickHouse outage must fail clearly).
  const ids = [...pick('u', o.users).slice(0, 3), `u-absent-${Math.floor(rng.next() * 1e6)}`, `u-absent-${Math.floor(rng.next() * 1e6)}`];
  return { query: q, variables: { e: 'user', ids, n: USER_NAMES, t: new Date(Date.now() - 60 * 86_400_000).toISOString() } };
}

interface GqlBody {
  data?: { features?: { source?: string }[] } | null;
  errors?: { extensions?: { code?: string } }[];
}

async function probeOnce(kind: QueryKind, rng: Rng, o: ApiProberOptions): Promise<ProbeResult> {
  const at = Date.now();
  const t0 = performance.now();
  const timeoutMs = o.timeoutMs ?? 5_000;
  const base = { at, kind, codes: [] as string[], sources: [] as string[], ok: false, hung: false, refused: false };
  try {
    const res = await fetch(o.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${o.apiKey}` },
      body: JSON.stringify(queryFor(kind, rng, o)),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as GqlBody;
    const rows = body.data?.features ?? [];
    return {
      ...base, ms: performance.now() - t0, status: res.status,
      codes: (body.errors ?? []).map((e) => e.extensions?.code ?? '?'),
      ok: res.status === 200 && rows.length === 5 && (body.errors ?? []).length === 0,
      sources: [...new Set(rows.map((r) => r.source ?? '?'))],
    };
  } catch (err) {
    const name = (err as Error).name;
    const hung = name === 'TimeoutError' || name === 'AbortError';
    return { ...base, ms: performance.now() - t0, status: 0, hung, refused: !hung };
  }
}

export function startApiProber(o: ApiProberOptions): ApiProber {
  const rng = new Rng(o.seed ?? 'api-prober');
  const kinds: QueryKind[] = ['users-latest', 'items-latest', 'users-latest', 'users-past'];
  const out: ProbeResult[] = [];
  let stopping = false;
  const loop = (async () => {
    for (let i = 0; !stopping; i++) {
      const kind = kinds[i % kinds.length] as QueryKind;
      out.push(await probeOnce(kind, rng, o));
      await new Promise((r) => setTimeout(r, o.everyMs ?? 200));
    }
  })();
  return {
    results: () => out,
    async stop() {
      stopping = true;
      await loop;
    },
  };
}

/** What clients saw in a time window. */
export interface ProbeSummary {
  requests: number;
  ok: number;
  hung: number;
  /** connection refused: the API process itself was not running */
  refused: number;
  /** answers that were errors, by code */
  errors: Record<string, number>;
  /** errors that are not clear: no code, an unexpected error, or a 5xx without one of the outage codes */
  unclear: number;
  maxMs: number;
  /** answered rows by the store that answered them */
  bySource: Record<string, number>;
}

/** Error codes that are the clear, expected answer of a store being down. */
export const OUTAGE_CODES = new Set(['STORE_UNAVAILABLE', 'OFFLINE_UNAVAILABLE', 'TIMEOUT']);

export function summarize(results: readonly ProbeResult[], from = -Infinity, to = Infinity): ProbeSummary {
  const s: ProbeSummary = { requests: 0, ok: 0, hung: 0, refused: 0, errors: {}, unclear: 0, maxMs: 0, bySource: {} };
  for (const r of results) {
    if (r.at < from || r.at >= to) continue;
    s.requests += 1;
    s.maxMs = Math.max(s.maxMs, r.ms);
    if (r.ok) s.ok += 1;
    if (r.hung) s.hung += 1;
    if (r.refused) s.refused += 1;
    for (const c of r.codes) s.errors[c] = (s.errors[c] ?? 0) + 1;
    for (const src of r.sources) s.bySource[src] = (s.bySource[src] ?? 0) + 1;
    const unclear = r.codes.some((c) => c === '?' || c === 'INTERNAL_SERVER_ERROR') || (r.status >= 500 && !r.codes.some((c) => OUTAGE_CODES.has(c)));
    if (unclear) s.unclear += 1;
  }
  return s;
}
