// For api/*.test.ts: a server on a free port, a small GraphQL client, realistic accepted
// events (generator -> decode -> reference acceptance), and tiles written through the real
// store path (core/preaggregate -> store/tile-store) under a private key prefix.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { loadConfig, type Config } from '../config/config.js';
import { decodeEvent, type ClickEvent } from '../core/event.js';
import type { Entity, FeatureValue } from '../core/features/definition.js';
import type { Registry } from '../core/features/registry.js';
import { referenceAccept, referenceValue } from '../core/reference.js';
import { generateClickstream } from '../fixtures/generator.js';
import { freshEntityWrites } from '../store/cache-support.js';
import { deletePrefix } from '../store/redis-client.js';
import { TileStore } from '../store/tile-store.js';
import { createApi, type Api, type CreateApiOptions } from './server.js';

export const READ_KEY = 'test-read-key-0001';
export const ADMIN_KEY = 'test-admin-key-0001';
export const ONLY_ADMIN_KEY = 'test-only-admin-key';

/** The local stack's config with test keys; `env` overrides any variable. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    TESSERA_API_KEYS: `reader:${READ_KEY}:read,ops:${ADMIN_KEY}:read+admin,robot:${ONLY_ADMIN_KEY}:admin`,
    ...env,
  });
}

export const testPrefix = (tag: string): string => `tapi${tag}${randomBytes(4).toString('hex')}`;

export interface TestApi {
  api: Api;
  url: string;
  stop(): Promise<void>;
}

export async function startTestApi(options: Partial<CreateApiOptions> & { config?: Config } = {}): Promise<TestApi> {
  const api = createApi({ ...options, config: options.config ?? testConfig() });
  const port = await api.start(0, '127.0.0.1');
  return { api, url: `http://127.0.0.1:${port}`, stop: () => api.stop() };
}

export interface GqlResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test helper: bodies are asserted field by field
  body: any;
  ms: number;
}

export async function gql(url: string, query: string, opts: { key?: string | null; variables?: Record<string, unknown>; accept?: string } = {}): Promise<GqlResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: opts.accept ?? 'application/graphql-response+json' };
  const key = opts.key === undefined ? READ_KEY : opts.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const t0 = performance.now();
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables: opts.variables }) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null, ms: performance.now() - t0 };
}

/** The codes of a response's errors. */
export const codes = (r: GqlResponse): string[] => ((r.body?.errors ?? []) as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code ?? '?');

/** Accepted events of a generated stream in [startMs, startMs + durationS) (late, duplicate and malformed records dropped by the reference rules). */
export function acceptedEvents(seed: string, startMs: number, durationS: number, o: { users?: number; items?: number; rate?: number; latenessMs?: number } = {}): ClickEvent[] {
  const latenessMs = o.latenessMs ?? 10 * 60_000;
  const decoded: ClickEvent[] = [];
  for (const r of generateClickstream({
    seed, startMs, rate: o.rate ?? 0.2, durationS, users: o.users ?? 30, items: o.items ?? 80,
    late: 0.02, duplicates: 0.02, malformed: 0.01, outOfOrder: 0.1, allowedLatenessMs: latenessMs,
  })) {
    const res = decodeEvent(r.value, r.clockMs);
    if (res.ok) decoded.push(res.event);
  }
  // The generator's clock can run past durationS; cut there so "latest" reads see no future event.
  const end = startMs + durationS * 1000;
  return referenceAccept(decoded, latenessMs).filter((e) => e.event_time < end);
}

/** Writes the tiles of these accepted events into Redis under `prefix`, through TileStore (one batch). */
export async function writeTiles(redis: Redis, prefix: string, registry: Registry, events: readonly ClickEvent[]): Promise<void> {
  const store = new TileStore(redis, prefix, registry);
  const writes = freshEntityWrites(events, registry);
  for (let i = 0; i < writes.length; i += 500) await store.apply(0, writes.slice(i, i + 500));
}

/** Deletes every key under a test prefix. */
export function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  return deletePrefix(redis, prefix);
}

/** Reference values per entity id, indexed once. */
export function referenceOf(registry: Registry, accepted: readonly ClickEvent[]) {
  const byEntity: Record<Entity, Map<string, ClickEvent[]>> = { user: new Map(), item: new Map() };
  for (const e of accepted) {
    (byEntity.user.get(e.user_id) ?? byEntity.user.set(e.user_id, []).get(e.user_id))?.push(e);
    if (e.item_id !== undefined) (byEntity.item.get(e.item_id) ?? byEntity.item.set(e.item_id, []).get(e.item_id))?.push(e);
  }
  return (entity: Entity, id: string, name: string, T: number): FeatureValue =>
    referenceValue(registry.features, byEntity[entity].get(id) ?? [], entity, id, name, T);
}
