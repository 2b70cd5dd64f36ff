// `tessera bench --scenario serve`: latency and throughput of the GraphQL API's `features`
// path, next to the raw ioredis pipelined read of the same hashes (HGETALL of every tile
// hash the reader reads, store/reader.ts + store/keys.ts) measured in the same run.
//
// Data: a generated stream of ~1 hour of event time (1,000 users, 2,000 items) written
// through the real write path (core/preaggregate -> store/tile-store with markers) under a
// private prefix. The API runs as its own process (`tessera run --api`, production mode) on
// loopback; this process is the load generator and the raw-Redis baseline client.
//
// Shapes: (a) 1 user x every user feature; (b) 1 user x every user feature + 100 items x
// every item feature, in ONE request (two aliased `features` fields: what a ranking service
// sends per page). Each shape runs at fixed rates (open loop: requests are issued on a
// schedule whatever the responses do, and latency is measured from the SCHEDULED time, so
// a stall is charged to every request it delays: no coordinated omission), then at
// saturation (closed loop, N requests in flight). Runs are bounded in time and in requests
// in flight.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { writeTiles } from '../api/test-support.js';
import { PROJECT_ROOT, type Config } from '../config/config.js';
import { decodeEvent, type ClickEvent } from '../core/event.js';
import { isRatio, type Entity, type FeatureDefinition } from '../core/features/definition.js';
import { createRegistry, type Registry } from '../core/features/registry.js';
import { generateClickstream } from '../fixtures/generator.js';
import { Rng } from '../fixtures/random.js';
import { KeySpace } from '../store/keys.js';
import { FeatureReader } from '../store/reader.js';
import { createRedis } from '../store/redis-client.js';
import { round, sleep, summarize, type LatencySummary } from './support.js';

export interface ServeOptions {
  /** seconds of each fixed-rate and saturation run (default 5) */
  seconds?: number;
  /** fixed rates, requests/s (default 500 and 2,000) */
  rates?: number[];
  /** requests in flight at saturation (default 32) */
  concurrency?: number;
  users?: number;
  items?: number;
  /** events/s of event time in the seeded hour (default 25) */
  eventsPerSec?: number;
}

export type ShapeName = 'user' | 'user+100items';
export type Target = 'api' | 'redis';

export interface RunResult {
  shape: ShapeName;
  target: Target;
  /** fixed rate (requests/s) or 'saturation' */
  load: number | 'saturation';
  /** latency from the scheduled time (fixed rate) or from the send (saturation), ms */
  latency: LatencySummary;
  /** from the actual send to the response, ms (the client's timer slack excluded) */
  serviceP50: number;
  /** how late the client issued requests, p99 ms */
  issueLagP99: number;
  issued: number;
  completed: number;
  errors: number;
  /** not sent: too many in flight (the target could not keep up) */
  dropped: number;
  /** completed requests per second */
  rps: number;
  /** error responses by code (API: extensions.code or HTTP status) */
  errorCodes: Record<string, number>;
  /** CPU time per completed request, ms: the API process (/proc), this process (the client; for raw Redis: ioredis), the Redis server (INFO cpu) */
  cpuMsPerRequest: { api: number; client: number; redis: number };
  /** the fixed rate was held: everything issued completed, throughput within 5% of the target */
  sustained: boolean;
}

export interface ServeResult {
  /** 1-minute load average before and after (other work on the machine skews absolute numbers) */
  loadAverage: [number, number];
  users: number;
  items: number;
  events: number;
  eventSpanMinutes: number;
  seedSeconds: number;
  /** per shape: hashes read per request and their mean size */
  reads: Record<ShapeName, { hashes: number; fields: number; bytes: number }>;
  /**
   * Unloaded, one request at a time: the raw pipeline and FeatureReader.read (same pipeline +
   * decode + evaluate) in this process, and the API over HTTP; p50 ms and CPU ms per request
   * (this process for raw and reader, the API process for the API)
   */
  breakdown: Record<ShapeName, { rawRedisP50: number; readerP50: number; apiP50: number; rawCpuMs: number; readerCpuMs: number; apiCpuMs: number }>;
  /** Redis server time per HGETALL during the API runs (INFO commandstats), µs */
  redisUsecPerHgetall: number;
  runs: RunResult[];
  /** ok null: cannot be judged (the raw baseline itself did not hold the rate) */
  verdicts: { name: string; ok: boolean | null; detail: string }[];
}

const BENCH_KEY = 'bench-serve-read-key';
const SHAPES: ShapeName[] = ['user', 'user+100items'];
const ITEMS_PER_REQUEST = 100;
const MAX_IN_FLIGHT = 128;
const DRAIN_MS = 3_000;
const SETTLE_MS = 30_000;
/** USER_HZ of /proc/<pid>/stat (100 on Linux) */
const CLOCK_TICKS = 100;

// ---------------------------------------------------------------- data

function tileSizesFor(registry: Registry, defs: readonly FeatureDefinition[]): number[] {
  const sizes = new Set<number>();
  const add = (def: FeatureDefinition): void => {
    if (isRatio(def)) {
      add(registry.get(def.numerator));
      add(registry.get(def.denominator));
    } else sizes.add(registry.seriesOf(def).tileMs);
  };
  defs.forEach(add);
  return [...sizes].sort((a, b) => a - b);
}

/** ~1 hour of generated, all-valid events ending a minute ago, decoded. */
function seedEvents(users: number, items: number, eventsPerSec: number, latenessMs: number): ClickEvent[] {
  const span = 3600;
  const startMs = Date.now() - (span + 60) * 1000;
  const out: ClickEvent[] = [];
  for (const r of generateClickstream({
    seed: 'bench-serve', startMs, rate: eventsPerSec, durationS: span, users, items,
    late: 0, duplicates: 0, malformed: 0, allowedLatenessMs: latenessMs,
  })) {
    const d = decodeEvent(r.value, r.clockMs);
    if (d.ok && d.event.event_time < Date.now()) out.push(d.event);
  }
  return out;
}

// ---------------------------------------------------------------- requests

interface Request {
  user: string;
  items: string[];
}

function requestSequence(n: number, users: string[], items: string[], seed: string): Request[] {
  const rng = new Rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rng.next() * xs.length)] as T;
  return Array.from({ length: n }, () => {
    const chosen = new Set<string>();
    while (chosen.size < Math.min(ITEMS_PER_REQUEST, items.length)) chosen.add(pick(items));
    return { user: pick(users), items: [...chosen] };
  });
}

const ROW = '{ id asOf source values }';
const QUERIES: Record<ShapeName, string> = {
  user: `query User($u: [String!]!, $un: [String!]!) { features(entity: "user", ids: $u, names: $un) ${ROW} }`,
  'user+100items': `query Rank($u: [String!]!, $un: [String!]!, $i: [String!]!, $in: [String!]!) {
  user: features(entity: "user", ids: $u, names: $un) ${ROW}
  items: features(entity: "item", ids: $i, names: $in) ${ROW}
}`,
};

/** Sends one request; resolves null when it succeeded, else an error code. */
type Send = (req: Request) => Promise<string | null>;

function apiClient(port: number, shape: ShapeName, userNames: string[], itemNames: string[]): { send: Send; raw: (req: Request) => Promise<string>; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const post = (req: Request): Promise<{ status: number; text: string }> => new Promise((resolve, reject) => {
    const variables = shape === 'user' ? { u: [req.user], un: userNames } : { u: [req.user], un: userNames, i: req.items, in: itemNames };
    const body = JSON.stringify({ query: QUERIES[shape], variables });
    const r = http.request({
      host: '127.0.0.1', port, path: '/graphql', method: 'POST', agent,
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${BENCH_KEY}`, 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
  return {
    send: async (req) => {
      const { status, text } = await post(req);
      if (status === 200 && !text.includes('"errors"')) return null;
      return /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? `HTTP ${status}`;
    },
    raw: async (req) => (await post(req)).text,
    close: () => agent.destroy(),
  };
}

function redisClient(redis: Redis, keys: KeySpace, userSizes: number[], itemSizes: number[], shape: ShapeName): Send {
  return async (req) => {
    const pipe = redis.pipeline();
    for (const s of userSizes) pipe.hgetall(keys.tiles('user', req.user, s));
    if (shape !== 'user') for (const i of req.items) for (const s of itemSizes) pipe.hgetall(keys.tiles('item', i, s));
    const replies = (await pipe.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    return failed ? (failed[0]?.name ?? 'ERROR') : null;
  };
}

// ---------------------------------------------------------------- load generation

interface Samples {
  latency: number[];
  service: number[];
  lag: number[];
  issued: number;
  completed: number;
  errors: number;
  errorCodes: Record<string, number>;
  dropped: number;
  seconds: number;
}

function failed(s: Samples, code: string | null): void {
  if (code === null) return;
  s.errors += 1;
  s.errorCodes[code] = (s.errorCodes[code] ?? 0) + 1;
}

const newSamples = (seconds: number): Samples => ({ latency: [], service: [], lag: [], issued: 0, completed: 0, errors: 0, errorCodes: {}, dropped: 0, seconds });

/**
 * Open loop at `rate`: request k is due at t0 + k/rate and its latency is measured from
 * that time. A request due while MAX_IN_FLIGHT are outstanding is dropped (counted: the
 * target did not keep up); requests still unanswered DRAIN_MS after the schedule ends
 * count with their latency so far. Returns only when nothing is in flight any more (at
 * most SETTLE_MS later), so one run never spills into the next.
 */
async function fixedRate(send: Send, reqs: Request[], rate: number, seconds: number): Promise<Samples> {
  const total = Math.round(rate * seconds);
  const s = newSamples(seconds);
  const pending = new Map<number, number>(); // k -> scheduled time
  let counting = true;
  const t0 = performance.now() + 5;
  const due = (k: number): number => t0 + (k * 1000) / rate;
  let k = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (k < total && due(k) <= now) {
        const id = k;
        const scheduled = due(id);
        const req = reqs[id % reqs.length] as Request;
        k += 1;
        if (pending.size >= MAX_IN_FLIGHT) {
          s.dropped += 1;
          continue;
        }
        const sent = performance.now();
        s.lag.push(sent - scheduled);
        s.issued += 1;
        pending.set(id, scheduled);
        send(req).catch((e: Error) => e.name || 'ERROR').then((code) => {
          const end = performance.now();
          pending.delete(id);
          if (!counting) return;
          failed(s, code);
          s.completed += 1;
          s.latency.push(end - scheduled);
          s.service.push(end - sent);
        }, () => undefined);
      }
      if (k >= total) return resolve();
      setTimeout(tick, Math.max(0, Math.floor(due(k) - performance.now())));
    };
    setTimeout(tick, 5);
  });
  const drainEnd = due(total) + DRAIN_MS;
  while (pending.size > 0 && performance.now() < drainEnd) await sleep(5);
  const now = performance.now();
  counting = false;
  for (const scheduled of pending.values()) s.latency.push(now - scheduled); // unanswered: at least this late
  s.seconds = (Math.min(now, drainEnd) - t0) / 1000;
  const settleEnd = now + SETTLE_MS;
  while (pending.size > 0 && performance.now() < settleEnd) await sleep(10);
  if (pending.size > 0) throw new Error(`${pending.size} requests still unanswered ${SETTLE_MS / 1000} s after the run`);
  return s;
}

/** Closed loop: `concurrency` requests in flight for `seconds`; latency from each send. */
async function saturate(send: Send, reqs: Request[], concurrency: number, seconds: number): Promise<Samples> {
  const s = newSamples(seconds);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let k = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const req = reqs[k++ % reqs.length] as Request;
      const sent = performance.now();
      s.issued += 1;
      const code = await send(req).catch((e: Error) => e.name || 'ERROR');
      const ms = performance.now() - sent;
      failed(s, code);
      s.completed += 1;
      s.latency.push(ms);
      s.service.push(ms);
      s.lag.push(0);
    }
  }));
  s.seconds = (performance.now() - t0) / 1000;
  return s;
}

function toRun(shape: ShapeName, target: Target, load: number | 'saturation', x: Samples, cpuMsPerRequest: RunResult['cpuMsPerRequest']): RunResult {
  const rps = x.completed / x.seconds;
  const sustained = load === 'saturation' || (x.dropped === 0 && x.completed === x.issued && x.errors === 0 && rps >= 0.95 * load);
  return {
    shape, target, load, latency: summarize(x.latency), serviceP50: summarize(x.service).p50, issueLagP99: summarize(x.lag).p99,
    issued: x.issued, completed: x.completed, errors: x.errors, dropped: x.dropped, rps: Math.round(rps), sustained,
    errorCodes: x.errorCodes, cpuMsPerRequest,
  };
}

/** n requests one at a time: p50 ms, and CPU ms per request of this process or of `pid`. */
async function sequential(n: number, f: (i: number) => Promise<unknown>, pid?: number): Promise<{ p50: number; cpuMs: number }> {
  const ms: number[] = [];
  const c0 = process.cpuUsage();
  const p0 = pid === undefined ? 0 : processCpuSeconds(pid);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f(i);
    ms.push(performance.now() - t);
  }
  const c = process.cpuUsage(c0);
  const cpuSeconds = pid === undefined ? (c.user + c.system) / 1e6 : processCpuSeconds(pid) - p0;
  return { p50: summarize(ms).p50, cpuMs: round((cpuSeconds * 1000) / n, 3) };
}

// ---------------------------------------------------------------- the API process

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** `tessera run --api` in its own process, production mode, on the private prefix. */
async function startApiProcess(config: Config, prefix: string): Promise<{ port: number; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'tessera.js'), 'run', '--api'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env, TESSERA_MODE: 'production', TESSERA_API_KEYS: `bench:${BENCH_KEY}:read`, TESSERA_API_PORT: String(port),
      TESSERA_REDIS_URL: config.redis.url, TESSERA_REDIS_PREFIX: prefix, TESSERA_CLICKHOUSE_URL: config.clickhouse.url,
      TESSERA_ALLOWED_LATENESS_MS: String(config.events.allowedLatenessMs), TESSERA_LOG_LEVEL: 'warn',
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API process exited with ${child.exitCode} before it was ready`);
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the API process was not ready after 60 s');
    }
    await sleep(200);
  }
  return {
    port, child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => { if (child.exitCode === null) child.kill('SIGKILL'); })]);
    },
  };
}

/** CPU seconds a process has used (Linux /proc; NaN elsewhere). */
function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const num = (k: string): number => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? NaN);
  return num('used_cpu_sys') + num('used_cpu_user');
}

/** Runs a measurement and charges the CPU used meanwhile by the API process, this process and Redis to its completed requests. */
async function withCpu(apiPid: number, redis: Redis, run: () => Promise<Samples>): Promise<[Samples, RunResult['cpuMsPerRequest']]> {
  const a0 = processCpuSeconds(apiPid);
  const c0 = process.cpuUsage();
  const r0 = await redisCpuSeconds(redis);
  const x = await run();
  const c = process.cpuUsage(c0);
  const per = (sec: number): number => (x.completed > 0 ? round((sec * 1000) / x.completed, 3) : NaN);
  return [x, { api: per(processCpuSeconds(apiPid) - a0), client: per((c.user + c.system) / 1e6), redis: per((await redisCpuSeconds(redis)) - r0) }];
}

async function hgetallStats(redis: Redis): Promise<{ calls: number; usec: number }> {
  const info = await redis.info('commandstats');
  const m = /cmdstat_hgetall:calls=(\d+),usec=(\d+)/.exec(info);
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

// ---------------------------------------------------------------- the scenario

export async function benchServe(config: Config, prefix: string, options: ServeOptions, log: (m: string) => void): Promise<ServeResult> {
  const seconds = options.seconds ?? 5;
  const rates = options.rates ?? [500, 2_000];
  const concurrency = options.concurrency ?? 32;
  const nUsers = options.users ?? 1_000;
  const nItems = options.items ?? 2_000;
  const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
  const userNames = registry.forEntity('user').map((d) => d.name);
  const itemNames = registry.forEntity('item').map((d) => d.name);
  const sizes: Record<Entity, number[]> = { user: tileSizesFor(registry, registry.forEntity('user')), item: tileSizesFor(registry, registry.forEntity('item')) };
  const keys = new KeySpace(prefix);
  const redis = createRedis(config);
  const baseline = createRedis(config);

  log(`seeding ~1 h of event time: ${nUsers} users, ${nItems} items, ${options.eventsPerSec ?? 25} events/s -> preaggregate -> TileStore.apply (markers)`);
  const load0 = os.loadavg()[0] ?? NaN;
  const t0 = performance.now();
  const events = seedEvents(nUsers, nItems, options.eventsPerSec ?? 25, config.events.allowedLatenessMs);
  await writeTiles(redis, prefix, registry, events);
  const seedSeconds = round((performance.now() - t0) / 1000, 1);
  const users = [...new Set(events.map((e) => e.user_id))].sort();
  const items = [...new Set(events.flatMap((e) => (e.item_id === undefined ? [] : [e.item_id])))].sort();
  const span = (Math.max(...events.map((e) => e.event_time)) - Math.min(...events.map((e) => e.event_time))) / 60_000;
  log(`  ${events.length} events over ${round(span, 1)} min: ${users.length} users, ${items.length} items with tiles (${seedSeconds} s)`);

  const reqs = requestSequence(20_000, users, items, 'bench-serve-requests');

  // How much a request reads: hashes, fields, bytes (the sample's mean).
  const reads = {} as ServeResult['reads'];
  for (const shape of SHAPES) {
    let fields = 0;
    let bytes = 0;
    const sample = reqs.slice(0, 50);
    for (const req of sample) {
      const pipe = baseline.pipeline();
      for (const s of sizes.user) pipe.hgetall(keys.tiles('user', req.user, s));
      if (shape !== 'user') for (const i of req.items) for (const s of sizes.item) pipe.hgetall(keys.tiles('item', i, s));
      for (const [, h] of (await pipe.exec()) ?? []) {
        for (const [f, v] of Object.entries(h as Record<string, string>)) {
          fields += 1;
          bytes += f.length + v.length;
        }
      }
    }
    const hashes = sizes.user.length + (shape === 'user' ? 0 : ITEMS_PER_REQUEST * sizes.item.length);
    reads[shape] = { hashes, fields: Math.round(fields / sample.length), bytes: Math.round(bytes / sample.length) };
    log(`  ${shape}: ${hashes} HGETALLs per request, ${reads[shape].fields} fields, ${round(reads[shape].bytes / 1024, 1)} KiB`);
  }

  log('starting the API process (tessera run --api, production mode)');
  const api = await startApiProcess(config, prefix);
  const apiPid = api.child.pid ?? -1;
  const runs: RunResult[] = [];
  const breakdown = {} as ServeResult['breakdown'];
  let hg = { calls: 0, usec: 0 };
  try {
    const reader = new FeatureReader(baseline, prefix, registry);
    for (const shape of SHAPES) {
      const client = apiClient(api.port, shape, userNames, itemNames);
      const viaApi = client.send;
      const viaRedis = redisClient(baseline, keys, sizes.user, sizes.item, shape);
      try {
        // Correctness first: the API answers from Redis, the same values the reader computes.
        const probe = reqs[0] as Request;
        const body = JSON.parse(await client.raw(probe)) as { data?: Record<string, { id: string; source: string; values: Record<string, unknown> }[]>; errors?: unknown };
        if (body.errors !== undefined || body.data === undefined) throw new Error(`the API answered ${JSON.stringify(body).slice(0, 300)}`);
        const rows = Object.values(body.data).flat();
        if (rows.length !== 1 + (shape === 'user' ? 0 : probe.items.length) || rows.some((r) => r.source !== 'redis')) throw new Error(`unexpected rows: ${JSON.stringify(rows).slice(0, 300)}`);
        const [direct] = await reader.read('user', [probe.user], userNames, Date.now());
        const userRow = rows[0];
        for (const n of ['user_views_1h', 'user_last_5_items']) {
          if (JSON.stringify(userRow?.values[n]) !== JSON.stringify(direct?.values[n])) throw new Error(`API ${n}=${JSON.stringify(userRow?.values[n])} but the reader says ${JSON.stringify(direct?.values[n])}`);
        }

        log(`${shape}: warm-up`);
        await saturate(viaApi, reqs.slice(1000), 4, 2);
        await saturate(viaRedis, reqs.slice(1000), 4, 1);
        const n = shape === 'user' ? 300 : 60;
        const rs = (i: number): Request => reqs[(i * 7) % reqs.length] as Request;
        const raw = await sequential(n, (i) => viaRedis(rs(i)));
        const read = await sequential(n, async (i) => {
          const r = rs(i);
          const reading = reader.read('user', [r.user], userNames, Date.now());
          if (shape === 'user') return reading;
          return Promise.all([reading, reader.read('item', r.items, itemNames, Date.now())]);
        });
        const viaHttp = await sequential(n, (i) => viaApi(rs(i)), apiPid);
        breakdown[shape] = { rawRedisP50: raw.p50, readerP50: read.p50, apiP50: viaHttp.p50, rawCpuMs: raw.cpuMs, readerCpuMs: read.cpuMs, apiCpuMs: viaHttp.cpuMs };
        log(`  unloaded, one at a time: p50 raw ${raw.p50} ms, FeatureReader ${read.p50} ms, API ${viaHttp.p50} ms; CPU per request: raw ${raw.cpuMs} ms, FeatureReader ${read.cpuMs} ms, API process ${viaHttp.cpuMs} ms`);

        for (const [target, send] of [['api', viaApi], ['redis', viaRedis]] as const) {
          const before = target === 'api' ? await hgetallStats(redis) : undefined;
          for (const rate of rates) {
            const r = toRun(shape, target, rate, ...(await withCpu(apiPid, redis, () => fixedRate(send, reqs, rate, seconds))));
            runs.push(r);
            log(`  ${target} @ ${rate}/s: p50 ${r.latency.p50} p99 ${r.latency.p99} max ${r.latency.max} ms, ${r.rps} req/s, client issue lag p99 ${r.issueLagP99} ms${r.sustained ? '' : ` NOT SUSTAINED (dropped ${r.dropped}, unfinished ${r.issued - r.completed}, errors ${JSON.stringify(r.errorCodes)})`}`);
            await sleep(300);
          }
          const r = toRun(shape, target, 'saturation', ...(await withCpu(apiPid, redis, () => saturate(send, reqs, concurrency, seconds))));
          runs.push(r);
          log(`  ${target} saturated (${concurrency} in flight): ${r.rps} req/s, p50 ${r.latency.p50} p99 ${r.latency.p99} ms; CPU ms/request: API ${r.cpuMsPerRequest.api}, client ${r.cpuMsPerRequest.client}, Redis ${r.cpuMsPerRequest.redis}${r.errors ? `; errors ${JSON.stringify(r.errorCodes)}` : ''}`);
          if (before) {
            const after = await hgetallStats(redis);
            hg = { calls: hg.calls + after.calls - before.calls, usec: hg.usec + after.usec - before.usec };
          }
          await sleep(300);
        }
      } finally {
        client.close();
      }
    }
  } finally {
    await api.stop();
    redis.disconnect();
    baseline.disconnect();
  }

  const find = (shape: ShapeName, target: Target, load: number | 'saturation'): RunResult | undefined => runs.find((r) => r.shape === shape && r.target === target && r.load === load);
  const verdicts: ServeResult['verdicts'] = [];
  const at500 = (shape: ShapeName) => find(shape, 'api', 500);
  const p99Check = (shape: ShapeName, limit: number, label: string) => {
    const r = at500(shape);
    if (r) verdicts.push({ name: `${label}: API p99 <= ${limit} ms at 500 req/s (${shape})`, ok: r.sustained && r.latency.p99 <= limit, detail: `p99 ${r.latency.p99} ms${r.sustained ? '' : ', rate not sustained'}` });
  };
  p99Check('user', 3, '(a)');
  p99Check('user+100items', 20, '(b)');
  for (const shape of SHAPES) {
    for (const rate of rates) {
      const a = find(shape, 'api', rate);
      const b = find(shape, 'redis', rate);
      if (!a || !b) continue;
      const ratio = round(a.latency.p50 / b.latency.p50, 2);
      const serviceRatio = round(a.serviceP50 / b.serviceP50, 2);
      const detail = `${a.latency.p50} / ${b.latency.p50} ms = ${ratio}x (send -> response: ${a.serviceP50} / ${b.serviceP50} ms = ${serviceRatio}x)`;
      verdicts.push(b.sustained
        ? { name: `API p50 <= 2.5 x raw Redis p50 (${shape}, ${rate} req/s)`, ok: a.sustained && ratio <= 2.5 && serviceRatio <= 2.5, detail: `${detail}${a.sustained ? '' : '; the API did not hold the rate'}` }
        : { name: `API p50 <= 2.5 x raw Redis p50 (${shape}, ${rate} req/s)`, ok: null, detail: `${detail}; the raw Redis read itself did not hold ${rate} req/s on this machine` });
    }
  }
  return {
    loadAverage: [round(load0, 1), round(os.loadavg()[0] ?? NaN, 1)],
    users: users.length, items: items.length, events: events.length, eventSpanMinutes: round(span, 1), seedSeconds, reads, breakdown,
    redisUsecPerHgetall: hg.calls > 0 ? round(hg.usec / hg.calls, 2) : NaN, runs, verdicts,
  };
}

/** The result as a plain-text table plus the verdicts. */
export function formatServe(r: ServeResult): string {
  const lines: string[] = [];
  lines.push(`serve: load average ${r.loadAverage[0]} before, ${r.loadAverage[1]} after (${os.cpus().length} CPUs)`);
  lines.push(`serve: ${r.events} events over ${r.eventSpanMinutes} min of event time, ${r.users} users, ${r.items} items; API = separate process (tessera run --api, production mode), loopback`);
  for (const shape of SHAPES) {
    const x = r.reads[shape];
    lines.push(`  ${shape}: ${x.hashes} HGETALLs per request, ~${x.fields} fields, ~${round(x.bytes / 1024, 1)} KiB read from Redis`);
  }
  lines.push('');
  const head = ['shape', 'target', 'load', 'p50 ms', 'p99 ms', 'max ms', 'req/s', 'p50 send->resp', 'API/raw p50', 'CPU ms/req API / client / Redis', 'notes'];
  const rows: string[][] = [];
  const fmtCpu = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');
  for (const run of r.runs) {
    const raw = r.runs.find((x) => x.shape === run.shape && x.target === 'redis' && x.load === run.load);
    const ratio = run.target === 'api' && raw ? `${round(run.latency.p50 / raw.latency.p50, 2)}x` : '';
    const errs = run.errors > 0 ? `errors ${Object.entries(run.errorCodes).map(([c, n]) => `${c} ${n}`).join(', ')}` : '';
    const notes = run.load === 'saturation' ? [`closed loop`, errs] : run.sustained ? [] : ['NOT SUSTAINED:', `${run.dropped} dropped,`, `${run.issued - run.completed} unfinished`, errs];
    const c = run.cpuMsPerRequest;
    rows.push([run.shape, run.target === 'api' ? 'API' : 'raw Redis', run.load === 'saturation' ? 'saturation' : `${run.load}/s`,
      String(run.latency.p50), String(run.latency.p99), String(run.latency.max), String(run.rps), String(run.serviceP50), ratio,
      `${run.target === 'api' ? fmtCpu(c.api) : '-'} / ${fmtCpu(c.client)} / ${fmtCpu(c.redis)}`, notes.filter(Boolean).join(' ')]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const fmt = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  lines.push(fmt(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(fmt));
  lines.push('');
  lines.push('unloaded, one request at a time: raw pipeline / FeatureReader.read (same pipeline + decode + evaluate) / API over HTTP');
  for (const shape of SHAPES) {
    const b = r.breakdown[shape];
    if (b) lines.push(`  ${shape}: p50 ${b.rawRedisP50} / ${b.readerP50} / ${b.apiP50} ms; CPU per request ${b.rawCpuMs} / ${b.readerCpuMs} / ${b.apiCpuMs} ms (bench process, bench process, API process)`);
  }
  lines.push(`Redis server time per HGETALL during the API runs: ${r.redisUsecPerHgetall} µs`);
  lines.push('');
  for (const v of r.verdicts) lines.push(`${v.ok === null ? 'N/A    ' : v.ok ? 'MET    ' : 'NOT MET'} ${v.name}: ${v.detail}`);
  return lines.join('\n');
}
