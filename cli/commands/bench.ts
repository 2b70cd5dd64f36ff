// `tessera bench [--scenario NAME] [--json FILE]`: benchmarks on the local stack, each with
// a baseline measured in the same run (these machines are noisy; ratios matter most).
// Every scenario uses its own topics and Redis prefix and removes them afterwards.
import fs from 'node:fs';
import type { Command } from 'commander';
import { benchFreshness } from '../../bench/freshness.js';
import { benchIngest } from '../../bench/ingest.js';
import { benchOffline, formatOffline } from '../../bench/offline.js';
import { benchJobs } from '../../bench/jobs.js';
import { benchServe, formatServe, SHAPES, type ShapeName } from '../../bench/serve.js';
import { machine } from '../../bench/support.js';
import { loadConfig } from '../../config/config.js';
import { up } from '../../stack/stack.js';
import { privateConfig, removePrivate } from '../../streams/test-support.js';

const SCENARIOS = ['ingest', 'freshness', 'serve', 'jobs', 'offline'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface BenchOptions {
  scenario: string;
  json?: string;
  events: number;
  rate: number;
  seconds: number;
  serveSeconds: number;
  serveShapes: string;
  apiWorkers: number;
  jobEvents: number;
  labels: number;
  freshnessInProcess?: boolean;
}

class BenchUsageError extends Error {
  override name = 'BenchUsageError';
}

async function withPrivateStack<T>(tag: string, run: (c: Awaited<ReturnType<typeof privateConfig>>) => Promise<T>): Promise<T> {
  const priv = await privateConfig(`bench-${tag}`);
  try {
    return await run(priv);
  } finally {
    await removePrivate(priv.config, priv.prefix);
  }
}

export function registerBench(program: Command): void {
  program.command('bench')
    .description(`benchmarks with same-run baselines; scenarios: ${SCENARIOS.join(', ')}, all`)
    .option('--scenario <name>', 'which benchmark', 'all')
    .option('--json <file>', 'also write the results as JSON')
    .option('--events <n>', 'ingest, offline: events in the pre-filled topic', (v) => Number(v), 500_000)
    .option('--rate <n>', 'freshness: steady events/s', (v) => Number(v), 5_000)
    .option('--seconds <n>', 'freshness: duration', (v) => Number(v), 30)
    .option('--freshness-in-process', 'freshness: run the generator and the online worker in the bench process (the topology before 2026-12-07)')
    .option('--serve-seconds <n>', 'serve: duration of each fixed-rate and saturation run', (v) => Number(v), 5)
    .option('--serve-shapes <list>', 'serve: shapes to run, comma-separated: user (a), user+100items (b)', 'user,user+100items')
    .option('--api-workers <n>', 'serve: API processes (tessera run --api --api-workers)', (v) => Number(v), 1)
    .option('--job-events <n>', 'jobs: events to backfill', (v) => Number(v), 10_000_000)
    .option('--labels <n>', 'jobs: training labels per entity kind (0: backfill only)', (v) => Number(v), 1_000_000)
    .action(async (opts: BenchOptions) => {
      const wanted: Scenario[] = opts.scenario === 'all' ? [...SCENARIOS] : [opts.scenario as Scenario];
      if (!wanted.every((s) => SCENARIOS.includes(s))) throw new BenchUsageError(`unknown scenario ${JSON.stringify(opts.scenario)}; one of ${SCENARIOS.join(', ')}, all`);
      const base = loadConfig();
      await up(base, () => undefined);
      const log = (m: string) => console.error(`  ${m}`);
      const results: Record<string, unknown> = { machine: machine(), at: new Date().toISOString() };
      console.log(`machine: ${results.machine as string}`);
      for (const scenario of wanted) {
        console.error(`scenario ${scenario}`);
        if (scenario === 'ingest') {
          const r = await withPrivateStack('ingest', ({ config, prefix }) => benchIngest(config, prefix, opts.events, log));
          results.ingest = r;
          console.log(`ingest: ${r.events} events; online worker ${r.workerPerSec} events/s vs raw kafkajs consume ${r.rawConsumePerSec} records/s (ratio ${r.ratio}); worker CPU ${r.workerCpuMicrosPerEvent} µs per event (this process, join to stop), Redis CPU ${r.redisCpuMicrosPerEvent} µs per event`);
        } else if (scenario === 'offline') {
          const r = await withPrivateStack('offline', ({ config, prefix }) => benchOffline(config, prefix, opts.events, log));
          results.offline = r;
          console.log(formatOffline(r));
        } else if (scenario === 'serve') {
          const r = await withPrivateStack('serve', ({ config, prefix }) => benchServe(config, prefix, { seconds: opts.serveSeconds, apiWorkers: opts.apiWorkers, shapes: parseShapes(opts.serveShapes) }, log));
          results.serve = r;
          console.log(formatServe(r));
        } else if (scenario === 'jobs') {
          const r = await withPrivateStack('jobs', ({ config, prefix }) => benchJobs(config, prefix, { events: opts.jobEvents, labels: opts.labels }, log));
          results.jobs = r;
          console.log(`jobs: backfill of ${r.events} events ${r.backfill.seconds} s (${r.backfill.eventsPerSec} events/s, ${r.backfill.entityWrites} entity writes; job CPU ${r.backfill.cpuSeconds} s, ${r.backfill.cpuMicrosPerEvent} µs per event read; Redis CPU ${r.backfill.redisCpuSeconds} s) vs ClickHouse full scan of the same events ${r.fullScan.seconds} s (${r.fullScan.rowsPerSec} rows/s; ratio ${r.backfill.ratioToScan})`);
          for (const t of r.training) console.log(`jobs: training set ${t.labels} ${t.entity} labels x ${t.features} features ${t.seconds} s (${t.labelsPerSec} labels/s)`);
        } else {
          const r = await withPrivateStack('fresh', ({ config, prefix }) => benchFreshness(config, prefix, opts.rate, opts.seconds, log, { inProcess: opts.freshnessInProcess === true }));
          results.freshness = r;
          const f = r.featureVisibleMs;
          const k = r.rawKafkaMs;
          console.log(`freshness at ${r.rate} events/s: produce -> feature visible p50 ${f.p50} ms, p99 ${f.p99} ms, max ${f.max} ms (${f.count} probes); raw Kafka produce -> consume p50 ${k.p50} ms, p99 ${k.p99} ms, max ${k.max} ms`);
        }
      }
      if (opts.json) fs.writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
    });
}

function parseShapes(list: string): ShapeName[] {
  const shapes = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = shapes.filter((s) => !(SHAPES as readonly string[]).includes(s));
  if (bad.length > 0 || shapes.length === 0) throw new Error(`--serve-shapes: expected some of ${SHAPES.join(', ')}, got ${JSON.stringify(list)}`);
  return shapes as ShapeName[];
}
