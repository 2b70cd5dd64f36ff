// `tessera bench --scenario serve`: latency and throughput of the GraphQL API's `features`
// path, next to raw ioredis pipelined reads of the same keys measured in the same run:
// HGETALL of every tile hash the reader needs (the issue's baseline), and the reader's own
// read-tiles script calls (store/lua/read-tiles.lua) without decoding or evaluation.
//
// Data: a generated stream of ~1 hour of event time (1,000 users, 2,000 items) written
// through the real write path (core/preaggregate -> store/tile-store with markers) under a
// private prefix. The API runs as its own process (`tessera run --api`, production mode) on
// loopback; this process is the load generator (a lean HTTP client, http-post.ts, so it
// takes little of the two cores from the server it measures) and the raw-Redis client.
//
// Shapes: (a) 1 user x every user feature; (b) 1 user x every user feature + 100 items x
// every item feature, in ONE request (two aliased `features` fields: what a ranking service
// sends per page). Each shape and target runs at fixed rates (open loop, latency from the
// scheduled send time) and at saturation (closed loop); see load.ts. A fourth target, the echo
// server (echo-server.ts: a bare node:http process answering the API's own response bytes),
// is the floor: what the machine and this client add to any server at the same rate.
import os from 'node:os';
import type { Redis } from 'ioredis';
import { writeTiles } from '../api/test-support.js';
import type { Config } from '../config/config.js';
import { decodeEvent, type ClickEvent } from '../core/event.js';
import { isRatio, type Entity, type FeatureDefinition } from '../core/features/definition.js';
import { createRegistry, type Registry } from '../core/features/registry.js';
import { generateClickstream } from '../fixtures/generator.js';
import { KeySpace } from '../store/keys.js';
import { FeatureReader } from '../store/reader.js';
import { createRedis } from '../store/redis-client.js';
import { commandStats, startApiProcess, withCpu, type CpuPerRequest } from './api-process.js';
import { fixedRate, saturate, sequential, type Samples, type Send } from './load.js';
import { startEcho, type EchoServer } from './echo-server.js';
import { buildLoadgen, nativeFixedRate } from './native-load.js';
import { apiClient, hgetallClient, primingRequests, readSize, requestSequence, scriptClient, SHAPES, type ReadSize, type Request, type ShapeName } from './serve-clients.js';
import { verdictsOf } from './serve-report.js';
import { round, sleep, summarize, type LatencySummary } from './support.js';

export { formatServe } from './serve-report.js';
export { SHAPES, type ShapeName } from './serve-clients.js';

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
  /** API processes behind the port (TESSERA_API_WORKERS; default 1) */
  apiWorkers?: number;
  /** which shapes to run (default both) */
  shapes?: ShapeName[];
}

/** The API's tile-cache lookups that found an entity uncached, summed over its processes. */
async function coldLookups(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(/^tessera_api_tile_cache_lookups_total\{[^}]*result="cold"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/**
 * the API, raw pipelined HGETALLs, raw pipelined read-tiles calls, the echo server (the
 * floor); and the API and the echo server again at the fixed rates from the native load
 * generator (native-load.ts), whose own delays are far smaller than the Node client's
 */
export type Target = 'api' | 'redis' | 'script' | 'echo' | 'api-native' | 'echo-native';

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
  cpuMsPerRequest: CpuPerRequest;
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
  /** per shape: tile hashes and read-tiles calls per request, and the fields and bytes they hold */
  reads: Record<ShapeName, ReadSize>;
  /**
   * Unloaded, one request at a time: the raw pipelines and FeatureReader.read (read-tiles +
   * decode + evaluate) in this process, and the API over HTTP; p50 ms and CPU ms per request
   * (this process for raw and reader, the API process for the API)
   */
  breakdown: Record<ShapeName, { rawRedisP50: number; rawScriptP50: number; readerP50: number; apiP50: number; rawCpuMs: number; rawScriptCpuMs: number; readerCpuMs: number; apiCpuMs: number }>;
  /** Redis server time per HGETALL during the raw HGETALL runs, µs */
  redisUsecPerHgetall: number;
  /** Redis server time per EVALSHA during the raw read-tiles runs, µs (server-wide: other clients' scripts count too) */
  redisUsecPerReadTiles: number;
  /** the same during the API runs: its read-tiles calls with a hot tile cache (version checks, few full reads) */
  redisUsecPerApiReadTiles: number;
  runs: RunResult[];
  /** ok null: cannot be judged (the raw baseline itself did not hold the rate) */
  verdicts: { name: string; ok: boolean | null; detail: string }[];
}

const BENCH_KEY = 'bench-serve-read-key';

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

function toRun(shape: ShapeName, target: Target, load: number | 'saturation', x: Samples, cpuMsPerRequest: CpuPerRequest): RunResult {
  const rps = x.completed / x.seconds;
  const sustained = load === 'saturation' || (x.dropped === 0 && x.completed === x.issued && x.errors === 0 && rps >= 0.95 * load);
  return {
    shape, target, load, latency: summarize(x.latency), serviceP50: summarize(x.service).p50, issueLagP99: summarize(x.lag).p99,
    issued: x.issued, completed: x.completed, errors: x.errors, dropped: x.dropped, rps: Math.round(rps), sustained,
    errorCodes: x.errorCodes, cpuMsPerRequest,
  };
}


/** One fixed-rate run as a progress line. */
const fixedRateLine = (r: RunResult): string =>
  `  ${r.target} @ ${r.load}/s: p50 ${r.latency.p50} p99 ${r.latency.p99} max ${r.latency.max} ms, ${r.rps} req/s, client issue lag p99 ${r.issueLagP99} ms${r.sustained ? '' : ` NOT SUSTAINED (dropped ${r.dropped}, unfinished ${r.issued - r.completed}, errors ${JSON.stringify(r.errorCodes)})`}`;

// ---------------------------------------------------------------- the scenario

export async function benchServe(config: Config, prefix: string, options: ServeOptions, log: (m: string) => void): Promise<ServeResult> {
  const redis = createRedis(config);
  const baseline = createRedis(config);
  try {
    return await run(config, prefix, options, log, redis, baseline);
  } finally {
    redis.disconnect();
    baseline.disconnect();
  }
}

async function run(config: Config, prefix: string, options: ServeOptions, log: (m: string) => void, redis: Redis, baseline: Redis): Promise<ServeResult> {
  const seconds = options.seconds ?? 5;
  const rates = options.rates ?? [500, 2_000];
  const concurrency = options.concurrency ?? 32;
  const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
  const userNames = registry.forEntity('user').map((d) => d.name);
  const itemNames = registry.forEntity('item').map((d) => d.name);
  const sizes: Record<Entity, number[]> = { user: tileSizesFor(registry, registry.forEntity('user')), item: tileSizesFor(registry, registry.forEntity('item')) };
  const keys = new KeySpace(prefix);

  log(`seeding ~1 h of event time: ${options.users ?? 1_000} users, ${options.items ?? 2_000} items, ${options.eventsPerSec ?? 25} events/s -> preaggregate -> TileStore.apply (markers)`);
  const load0 = os.loadavg()[0] ?? NaN;
  const t0 = performance.now();
  const events = seedEvents(options.users ?? 1_000, options.items ?? 2_000, options.eventsPerSec ?? 25, config.events.allowedLatenessMs);
  await writeTiles(redis, prefix, registry, events);
  const seedSeconds = round((performance.now() - t0) / 1000, 1);
  const users = [...new Set(events.map((e) => e.user_id))].sort();
  const items = [...new Set(events.flatMap((e) => (e.item_id === undefined ? [] : [e.item_id])))].sort();
  const span = (Math.max(...events.map((e) => e.event_time)) - Math.min(...events.map((e) => e.event_time))) / 60_000;
  log(`  ${events.length} events over ${round(span, 1)} min: ${users.length} users, ${items.length} items with tiles (${seedSeconds} s)`);

  const reqs = requestSequence(20_000, users, items, 'bench-serve-requests');
  const reads = {} as ServeResult['reads'];
  for (const shape of SHAPES) {
    reads[shape] = await readSize(baseline, keys, sizes, shape, reqs.slice(0, 50));
    log(`  ${shape}: ${reads[shape].hashes} tile hashes in ${reads[shape].calls} read-tiles calls, ${reads[shape].fields} fields, ${round(reads[shape].bytes / 1024, 1)} KiB`);
  }

  const loadgen = buildLoadgen();
  if (loadgen instanceof Error) log(`native load generator: ${loadgen.message}; its runs are skipped`);
  const workers = options.apiWorkers ?? 1;
  log(`starting the API (tessera run --api, production mode, ${workers} process${workers > 1 ? 'es behind one port' : ''})`);
  const api = await startApiProcess(config, prefix, BENCH_KEY, workers);
  const apiPid = api.child.pid ?? -1;
  const runs: RunResult[] = [];
  const breakdown = {} as ServeResult['breakdown'];
  // Redis's own time per command during the runs of one target: the raw HGETALLs, the raw
  // (uncached) read-tiles calls, and the API's read-tiles calls (hot cache: version checks).
  const stats = { hgetall: { calls: 0, usec: 0 }, evalsha: { calls: 0, usec: 0 }, apiEvalsha: { calls: 0, usec: 0 } };
  try {
    const reader = new FeatureReader(baseline, prefix, registry);
    for (const shape of options.shapes ?? SHAPES) {
      const client = apiClient(BENCH_KEY, api.port, shape, reqs, userNames, itemNames);
      const hgetall = hgetallClient(baseline, keys, sizes, shape);
      const script = scriptClient(baseline, keys, sizes, shape);
      const targets: [Target, Send<Request>][] = [['api', client.send], ['redis', hgetall], ['script', script]];
      let echo: EchoServer | undefined;
      try {
        // Correctness first: the API answers from Redis, the same values the reader computes.
        const probe = reqs[0] as Request;
        const answer = await client.raw(probe);
        // The floor: the same client against a bare server answering the same bytes.
        echo = await startEcho(answer, client.size(probe));
        targets.push(['echo', echo.send]);
        const body = JSON.parse(answer) as { data?: Record<string, { id: string; source: string; values: Record<string, unknown> }[]>; errors?: unknown };
        if (body.errors !== undefined || body.data === undefined) throw new Error(`the API answered ${JSON.stringify(body).slice(0, 300)}`);
        const rows = Object.values(body.data).flat();
        if (rows.length !== 1 + (shape === 'user' ? 0 : probe.items.length) || rows.some((r) => r.source !== 'redis')) throw new Error(`unexpected rows: ${JSON.stringify(rows).slice(0, 300)}`);
        const [direct] = await reader.read('user', [probe.user], userNames, Date.now());
        const userRow = rows[0];
        for (const n of ['user_views_1h', 'user_last_5_items']) {
          if (JSON.stringify(userRow?.values[n]) !== JSON.stringify(direct?.values[n])) throw new Error(`API ${n}=${JSON.stringify(userRow?.values[n])} but the reader says ${JSON.stringify(direct?.values[n])}`);
        }

        log(`${shape}: warm-up`);
        for (const [, send] of targets) await saturate(send, reqs.slice(1000), 4, 1.5);
        // Every entity read once through the API: the runs measure a hot tile cache (no
        // writes run meanwhile); the uncached cost is the FeatureReader.read column.
        // With several API processes each keeps its own cache and a request reaches one of
        // them: passes repeat until one finds no entity uncached (then each process has
        // been asked for every entity, but for a vanishing chance).
        const prime = primingRequests(users, items, shape);
        const p0 = performance.now();
        let passes = 0;
        for (let cold = await coldLookups(api.port); passes < 8;) {
          passes += 1;
          for (let k = 0; k < prime.length; k += 8) await Promise.all(prime.slice(k, k + 8).map((r) => client.send(r)));
          const after = await coldLookups(api.port);
          if (after === cold) break;
          cold = after;
        }
        log(`  primed: ${passes} x ${prime.length} requests in ${round((performance.now() - p0) / 1000, 1)} s`);
        const n = shape === 'user' ? 300 : 60;
        const rs = (i: number): Request => reqs[(i * 7) % reqs.length] as Request;
        const raw = await sequential(n, (i) => hgetall(rs(i)));
        const rawScript = await sequential(n, (i) => script(rs(i)));
        const read = await sequential(n, async (i) => {
          const r = rs(i);
          const reading = reader.read('user', [r.user], userNames, Date.now());
          if (shape === 'user') return reading;
          return Promise.all([reading, reader.read('item', r.items, itemNames, Date.now())]);
        });
        const viaHttp = await sequential(n, (i) => client.send(rs(i)), apiPid);
        breakdown[shape] = { rawRedisP50: raw.p50, rawScriptP50: rawScript.p50, readerP50: read.p50, apiP50: viaHttp.p50, rawCpuMs: raw.cpuMs, rawScriptCpuMs: rawScript.cpuMs, readerCpuMs: read.cpuMs, apiCpuMs: viaHttp.cpuMs };
        log(`  unloaded, one at a time: p50 raw HGETALL ${raw.p50} ms, raw read-tiles ${rawScript.p50} ms, FeatureReader ${read.p50} ms, API ${viaHttp.p50} ms; CPU per request: ${raw.cpuMs} / ${rawScript.cpuMs} / ${read.cpuMs} ms, API process ${viaHttp.cpuMs} ms`);

        for (const [target, send] of targets) {
          const command = target === 'redis' ? 'hgetall' : target === 'script' || target === 'api' ? 'evalsha' : undefined;
          const before = command ? await commandStats(redis, command) : undefined;
          for (const rate of rates) {
            const r = toRun(shape, target, rate, ...(await withCpu(apiPid, redis, () => fixedRate(send, reqs, rate, seconds))));
            runs.push(r);
            log(fixedRateLine(r));
            await sleep(300);
          }
          const r = toRun(shape, target, 'saturation', ...(await withCpu(apiPid, redis, () => saturate(send, reqs, concurrency, seconds))));
          runs.push(r);
          log(`  ${target} saturated (${concurrency} in flight): ${r.rps} req/s, p50 ${r.latency.p50} p99 ${r.latency.p99} ms; CPU ms/request: API ${r.cpuMsPerRequest.api}, client ${r.cpuMsPerRequest.client}, Redis ${r.cpuMsPerRequest.redis}${r.errors ? `; errors ${JSON.stringify(r.errorCodes)}` : ''}`);
          if (command && before) {
            const after = await commandStats(redis, command);
            const kind = target === 'api' ? 'apiEvalsha' : command;
            const acc = stats[kind];
            stats[kind] = { calls: acc.calls + after.calls - before.calls, usec: acc.usec + after.usec - before.usec };
          }
          // The same fixed rates from the native load generator, right after the Node client's.
          const native = target === 'api' ? { name: 'api-native' as const, port: api.port, requests: reqs.map(client.bytes) }
            : target === 'echo' && echo ? { name: 'echo-native' as const, port: echo.port, requests: [echo.request] } : undefined;
          if (typeof loadgen === 'string' && native) {
            for (const rate of rates) {
              const [x, cpu] = await withCpu(apiPid, redis, () => nativeFixedRate(loadgen, native.port, native.requests, rate, seconds));
              const r = toRun(shape, native.name, rate, x, { ...cpu, client: round((x.clientCpuSeconds * 1000) / Math.max(1, x.completed), 3) });
              runs.push(r);
              log(fixedRateLine(r));
              await sleep(300);
            }
          }
          await sleep(300);
        }
        const metrics = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
        log(`  API tile cache after ${shape}: ${metrics.split('\n').filter((l) => l.startsWith('tessera_api_tile_cache') || l.startsWith('tessera_api_fast_lane')).join('; ') || 'no tile cache metrics'}`);
        // Scavenges so far (since the API started): how many V8 ran on its own and how many
        // the API started between requests (api/idle-scavenge.ts).
        log(`  API GC so far: ${metrics.split('\n').filter((l) => /^tessera_api_(nodejs_gc_duration_seconds_(count|sum)\{kind="[a-z]+"\}|idle_scavenges_total)/.test(l)).join('; ')}`);
      } finally {
        client.close();
        await echo?.stop();
      }
    }
  } finally {
    await api.stop();
  }

  const perCall = (s: { calls: number; usec: number }): number => (s.calls > 0 ? round(s.usec / s.calls, 2) : NaN);
  return {
    loadAverage: [round(load0, 1), round(os.loadavg()[0] ?? NaN, 1)],
    users: users.length, items: items.length, events: events.length, eventSpanMinutes: round(span, 1), seedSeconds, reads, breakdown,
    redisUsecPerHgetall: perCall(stats.hgetall), redisUsecPerReadTiles: perCall(stats.evalsha), redisUsecPerApiReadTiles: perCall(stats.apiEvalsha), runs, verdicts: verdictsOf(runs, rates),
  };
}
