// The serve benchmark's requests and the clients that send them: the API over HTTP (a lean
// client, http-post.ts, with every request's bytes built before the runs), and the raw
// ioredis pipelines of the same keys: HGETALL of every tile hash (the baseline) and
// the reader's read-tiles calls without decoding.
import type { Redis } from 'ioredis';
import type { Entity } from '../core/features/definition.js';
import { Rng } from '../fixtures/random.js';
import type { KeySpace } from '../store/keys.js';
import { callScript, registerScripts, SCRIPTS } from '../store/scripts.js';
import { buildPost, HttpPool } from './http-post.js';
import type { Send } from './load.js';

export type ShapeName = 'user' | 'user+100items';
export const SHAPES: readonly ShapeName[] = ['user', 'user+100items'];
export const ITEMS_PER_REQUEST = 100;

/** One request: a user and, for the ranking shape, the candidate items. */
export interface Request {
  user: string;
  items: string[];
}

export function requestSequence(n: number, users: string[], items: string[], seed: string): Request[] {
  const rng = new Rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rng.next() * xs.length)] as T;
  return Array.from({ length: n }, () => {
    const chosen = new Set<string>();
    while (chosen.size < Math.min(ITEMS_PER_REQUEST, items.length)) chosen.add(pick(items));
    return { user: pick(users), items: [...chosen] };
  });
}

/**
 * One request per user, the items spread over them (all covered): read once before the
 * runs so an API that keeps decoded tiles (store/tile-cache.ts) is measured hot.
 */
export function primingRequests(users: readonly string[], items: readonly string[], shape: ShapeName): Request[] {
  const per = shape === 'user' ? 0 : Math.min(ITEMS_PER_REQUEST, items.length);
  const n = Math.max(users.length, per === 0 ? 0 : Math.ceil(items.length / per));
  return Array.from({ length: n }, (_, k) => ({
    user: users[k % users.length] as string,
    items: Array.from({ length: per }, (_, j) => items[(k * per + j) % items.length] as string),
  }));
}

const ROW = '{ id asOf source values }';
const QUERIES: Record<ShapeName, string> = {
  user: `query User($u: [String!]!, $un: [String!]!) { features(entity: "user", ids: $u, names: $un) ${ROW} }`,
  'user+100items': `query Rank($u: [String!]!, $un: [String!]!, $i: [String!]!, $in: [String!]!) {
  user: features(entity: "user", ids: $u, names: $un) ${ROW}
  items: features(entity: "item", ids: $i, names: $in) ${ROW}
}`,
};

/** The API over HTTP; every request's bytes are built before the runs (not on the clock). */
export function apiClient(apiKey: string, port: number, shape: ShapeName, reqs: readonly Request[], userNames: string[], itemNames: string[]): { send: Send<Request>; raw: (req: Request) => Promise<string>; size: (req: Request) => number; bytes: (req: Request) => Buffer; close(): void } {
  const pool = new HttpPool('127.0.0.1', port);
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${apiKey}` };
  const build = (req: Request): Buffer => {
    const variables = shape === 'user' ? { u: [req.user], un: userNames } : { u: [req.user], un: userNames, i: req.items, in: itemNames };
    return buildPost('127.0.0.1', port, '/graphql', headers, JSON.stringify({ query: QUERIES[shape], variables }));
  };
  const built = new Map<Request, Buffer>(reqs.map((r) => [r, build(r)]));
  const bytes = (req: Request): Buffer => built.get(req) ?? build(req);
  return {
    send: async (req) => {
      const { status, body } = await pool.post(bytes(req));
      if (status === 200 && !body.includes('"errors"')) return null;
      return /"code":"([A-Z_]+)"/.exec(body)?.[1] ?? `HTTP ${status}`;
    },
    raw: async (req) => (await pool.post(bytes(req))).body,
    size: (req) => bytes(req).length,
    bytes,
    close: () => pool.close(),
  };
}

/** The baseline: pipelined HGETALL of every tile hash the request's features live in. */
export function hgetallClient(redis: Redis, keys: KeySpace, sizes: Record<Entity, number[]>, shape: ShapeName): Send<Request> {
  return async (req) => {
    const pipe = redis.pipeline();
    for (const s of sizes.user) pipe.hgetall(keys.tiles('user', req.user, s));
    if (shape !== 'user') for (const i of req.items) for (const s of sizes.item) pipe.hgetall(keys.tiles('item', i, s));
    const replies = (await pipe.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    return failed ? (failed[0]?.name ?? 'ERROR') : null;
  };
}

/**
 * What the API's reader sends (store/reader.ts): one read-tiles call for the user and one
 * for the items, pipelined, no cached versions, replies not decoded.
 */
export function scriptClient(redis: Redis, keys: KeySpace, sizes: Record<Entity, number[]>, shape: ShapeName): Send<Request> {
  registerScripts(redis);
  const call = (pipe: ReturnType<Redis['pipeline']>, entity: Entity, ids: readonly string[]): void => {
    callScript(pipe, SCRIPTS.readTiles, ids.flatMap((id) => sizes[entity].map((s) => keys.tiles(entity, id, s))), [String(sizes[entity].length), ...ids.map(() => '-')]);
  };
  return async (req) => {
    const pipe = redis.pipeline();
    call(pipe, 'user', [req.user]);
    if (shape !== 'user') call(pipe, 'item', req.items);
    const replies = (await pipe.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    return failed ? (failed[0]?.name ?? 'ERROR') : null;
  };
}

/** Fields and bytes a request reads (mean of a sample), from the HGETALL replies. */
export interface ReadSize {
  /** tile hashes and read-tiles calls per request */
  hashes: number;
  calls: number;
  /** fields and bytes they hold (mean of the sample) */
  fields: number;
  bytes: number;
}

export async function readSize(redis: Redis, keys: KeySpace, sizes: Record<Entity, number[]>, shape: ShapeName, sample: readonly Request[]): Promise<ReadSize> {
  let fields = 0;
  let bytes = 0;
  for (const req of sample) {
    const pipe = redis.pipeline();
    for (const s of sizes.user) pipe.hgetall(keys.tiles('user', req.user, s));
    if (shape !== 'user') for (const i of req.items) for (const s of sizes.item) pipe.hgetall(keys.tiles('item', i, s));
    for (const [, h] of (await pipe.exec()) ?? []) {
      for (const [f, v] of Object.entries(h as Record<string, string>)) {
        fields += 1;
        bytes += f.length + v.length;
      }
    }
  }
  const others = shape === 'user' ? 0 : ITEMS_PER_REQUEST;
  return { hashes: sizes.user.length + others * sizes.item.length, calls: others > 0 ? 2 : 1, fields: Math.round(fields / sample.length), bytes: Math.round(bytes / sample.length) };
}

