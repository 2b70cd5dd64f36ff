// A soak run: a private namespace, the four Tessera processes as separate children, a steady
// generated stream (event time accelerated, see soak-clock.ts), a light API read load, and a
// sample of every memory curve every few seconds; at the end the samples as CSV, the plot as
// PNG and a flatness verdict (soak-verdict.ts). The namespace is removed unless kept.
import fs from 'node:fs';
import path from 'node:path';
import { machine } from '../bench/support.js';
import { PROJECT_ROOT } from '../config/config.js';
import { createRegistry } from '../core/features/registry.js';
import { createRedis } from '../store/redis-client.js';
import { createKafka } from '../streams/kafka-client.js';
import { createNamespace, removeNamespace, type Namespace } from './namespace.js';
import { ProcessGroup, ROLES, type Role } from './processes.js';
import { eventTimeAt, planSoakClock, tileHorizonMs, type SoakClock } from './soak-clock.js';
import { writeCsv } from './soak-csv.js';
import { CURVES } from './soak-curves.js';
import { writePlot } from './soak-plot.js';
import { startReadLoad, type ReadStats } from './soak-reads.js';
import { createSampler, type SoakSample } from './soak-sampler.js';
import { judge, type Verdict } from './soak-verdict.js';
import { startSteadyStream, type StreamStats } from './stream.js';

export interface SoakOptions {
  minutes: number;
  /** records per wall second */
  rate: number;
  users: number;
  items: number;
  /** seconds between samples */
  everyS: number;
  /** API requests per second */
  readsPerS: number;
  outDir: string;
  /** keep the namespace (topics, Redis keys, database) afterwards */
  keep: boolean;
  /** event-time ms per wall ms; default: fast enough to cover the tile horizon in the first third */
  timeScale?: number;
  seed: string;
}

export interface SoakResult {
  namespace: string;
  clock: SoakClock;
  samples: SoakSample[];
  verdict: Verdict;
  stream: StreamStats;
  reads: ReadStats;
  /** processes that exited during the run (each was started again) */
  unexpectedExits: Array<{ role: Role; atS: number }>;
  exitCodes: Record<string, number | null>;
  files: { csv: string; png: string; json: string };
  startedAt: number;
  endedAt: number;
}

export interface SoakHooks {
  log(message: string): void;
  onSample?(sample: SoakSample, clock: SoakClock): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForApi(ns: Namespace, processes: ProcessGroup, timeoutMs = 120_000): Promise<void> {
  const ready = ns.apiUrl.replace(/\/graphql$/, '/ready');
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(500)) {
    const api = processes.get('api');
    if (!api.running) throw new Error(`the API process exited at start:\n${api.tail()}`);
    const ok = await fetch(ready, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
    if (ok) return;
  }
  throw new Error(`the API did not get ready within ${timeoutMs / 1000} s:\n${processes.get('api').tail()}`);
}

export async function runSoak(o: SoakOptions, hooks: SoakHooks): Promise<SoakResult> {
  const ns = await createNamespace('soak');
  hooks.log(`namespace ${ns.id}: topic ${ns.config.topics.events}, Redis prefix ${ns.config.redis.prefix}, database ${ns.config.clickhouse.database}, logs ${ns.logDir}`);
  const processes = new ProcessGroup(ns.env, ns.logDir);
  const redis = createRedis(ns.config);
  const admin = createKafka(ns.config, 'soak-admin').admin();
  let stream: Awaited<ReturnType<typeof startSteadyStream>> | undefined;
  let reads: ReturnType<typeof startReadLoad> | undefined;
  try {
    await admin.connect();
    processes.startAll();
    await waitForApi(ns, processes);
    hooks.log(`processes up: ${ROLES.map((r) => `${r} pid ${processes.get(r).pid}`).join(', ')}`);

    const durationMs = o.minutes * 60_000;
    const registry = createRegistry({ latenessMs: ns.config.events.allowedLatenessMs });
    const startedAt = Date.now();
    const clock = planSoakClock({ nowMs: startedAt, durationMs, horizonMs: tileHorizonMs(registry), timeScale: o.timeScale });
    const eventNow = () => eventTimeAt(clock, startedAt, Date.now());
    hooks.log(`event time x${clock.timeScale} from ${new Date(clock.eventStartMs).toISOString()}; tile horizon ${(clock.horizonMs / 3_600_000).toFixed(1)} h of event time, covered after ${(clock.horizonReachedAfterMs / 60_000).toFixed(1)} min`);
    stream = await startSteadyStream(ns.config, { seed: o.seed, rate: o.rate, users: o.users, items: o.items, timeScale: clock.timeScale, eventStartMs: clock.eventStartMs });
    reads = startReadLoad({ url: ns.apiUrl, apiKey: ns.apiKey, perSecond: o.readsPerS, users: o.users, items: o.items, eventNow, seed: o.seed });
    const readStats = reads.stats;
    const streamStats = stream.stats;
    const sample = createSampler({
      processes, redis, admin, prefix: ns.config.redis.prefix, topic: ns.config.topics.events, groups: ns.groups,
      sent: () => streamStats().sent, eventNow, api: () => readStats(), startedAt,
    });

    const samples: SoakSample[] = [];
    const unexpectedExits: SoakResult['unexpectedExits'] = [];
    const everyMs = o.everyS * 1000;
    // Samples on a fixed grid; a slot missed while the machine stalled is skipped, not made up
    // for with a burst, so the verdict's thirds by sample count stay thirds of the time.
    for (let due = startedAt + everyMs; due <= startedAt + durationMs; due += everyMs * Math.max(1, Math.ceil((Date.now() - due) / everyMs))) {
      await sleep(Math.max(0, due - Date.now()));
      for (const p of processes.byRole.values()) {
        if (p.running) continue;
        unexpectedExits.push({ role: p.role, atS: Math.round((Date.now() - startedAt) / 1000) });
        hooks.log(`${p.role} exited unexpectedly; starting it again. Its log ends:\n${p.tail(10)}`);
        p.start();
      }
      const s = await sample();
      samples.push(s);
      hooks.onSample?.(s, clock);
    }

    const readTotals = await reads.stop();
    reads = undefined;
    const streamTotals = await stream.stop();
    stream = undefined;
    const exitCodes = await processes.stopAll();
    const endedAt = Date.now();

    const verdict = judge(CURVES.filter((c) => c.rule !== undefined).map((c) => ({ series: c.name, values: samples.map(c.value), rule: c.rule! })));
    if (unexpectedExits.length > 0) verdict.flat = false;
    fs.mkdirSync(o.outDir, { recursive: true });
    const files = { csv: path.join(o.outDir, 'soak.csv'), png: path.join(o.outDir, 'soak.png'), json: path.join(o.outDir, 'soak.json') };
    writeCsv(files.csv, samples);
    writePlot(files.png, samples, {
      title: `tessera soak: ${o.minutes} min, ${o.rate.toLocaleString('en-US')} events/s, ${o.users.toLocaleString('en-US')} users, ${o.items.toLocaleString('en-US')} items`,
      subtitle: `${new Date(startedAt).toISOString().slice(0, 16)}Z, event time x${clock.timeScale}; verdict: ${verdict.undecided ? 'undecided (too few samples)' : verdict.flat ? 'flat' : 'NOT flat'}`,
      horizonAtMin: clock.horizonReachedAfterMs <= durationMs ? clock.horizonReachedAfterMs / 60_000 : undefined,
    });
    const result: SoakResult = {
      namespace: ns.id, clock, samples, verdict, stream: streamTotals, reads: readTotals, unexpectedExits, exitCodes, files, startedAt, endedAt,
    };
    const { samples: _omit, ...summary } = result;
    fs.writeFileSync(files.json, `${JSON.stringify({ options: { ...o, outDir: path.relative(PROJECT_ROOT, o.outDir) || '.' }, machine: machine(), ...summary, files: { csv: 'soak.csv', png: 'soak.png' }, sampleCount: samples.length }, null, 2)}\n`);
    return result;
  } finally {
    await reads?.stop().catch(() => undefined);
    await stream?.stop().catch(() => undefined);
    await processes.killAll().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    redis.disconnect();
    if (o.keep) hooks.log(`namespace ${ns.id} kept (topics, Redis keys ${ns.config.redis.prefix}:*, database ${ns.config.clickhouse.database})`);
    else await removeNamespace(ns).catch((e: Error) => hooks.log(`could not remove namespace ${ns.id}: ${e.message}`));
  }
}
