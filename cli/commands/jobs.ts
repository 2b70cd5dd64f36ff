// `tessera backfill`, `tessera dataset`, `tessera skew`, `tessera job <id>` (DESIGN §8).
// backfill and dataset run as BullMQ jobs (followed with a progress bar); skew runs here
// and exits 1 when online and offline disagree.
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { createRegistry } from '../../core/features/registry.js';
import { createClickHouse } from '../../offline/clickhouse-client.js';
import { EVENTS_TABLE } from '../../offline/events-table.js';
import { viewOf } from '../../offline/jobs/job-source.js';
import { createJobQueue, jobsConnection } from '../../offline/jobs/queue.js';
import { runSkewCheck } from '../../offline/jobs/skew.js';
import { selectRows } from '../../offline/query.js';
import { sql, table } from '../../offline/sql.js';
import { createRedis } from '../../store/redis-client.js';
import { runJob } from '../jobs/follow.js';
import { buildDataset } from '../jobs/dataset.js';

export class CliInputError extends Error {
  override name = 'InvalidArgument';
}

/** ISO-8601 or epoch milliseconds. */
export function parseTime(flag: string, value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new CliInputError(`${flag}: expected an ISO-8601 time or epoch milliseconds, got ${JSON.stringify(value)}`);
  return ms;
}

const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean);

export function registerJobs(program: Command): void {
  program.command('backfill')
    .description('recompute Redis tiles for a time range from the events in ClickHouse (a BullMQ job)')
    .option('--from <time>', 'start (ISO-8601 or epoch ms; default: the first stored event)')
    .option('--to <time>', 'end, exclusive (default: just after the last stored event)')
    .option('--names <a,b,...>', 'only these features (default: all)', list)
    .option('--chunk-events <n>', 'events per chunk of whole entities (default 200000)', (v) => Number(v))
    .action(async (opts: { from?: string; to?: string; names?: string[]; chunkEvents?: number }) => {
      const config = loadConfig();
      const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
      for (const n of opts.names ?? []) registry.get(n);
      let from = opts.from === undefined ? undefined : parseTime('--from', opts.from);
      let to = opts.to === undefined ? undefined : parseTime('--to', opts.to);
      if (from === undefined || to === undefined) {
        const ch = createClickHouse(config);
        const [r] = await selectRows<{ lo: string; hi: string; n: string }>(ch, sql`
          SELECT toString(min(event_time)) AS lo, toString(max(event_time)) AS hi, toString(count()) AS n FROM ${table(config.clickhouse.database, EVENTS_TABLE)}`);
        await ch.close();
        if (r === undefined || Number(r.n) === 0) throw new CliInputError('no events in ClickHouse yet: nothing to backfill from (is `tessera run --offline` running?)');
        from ??= Number(r.lo);
        to ??= Number(r.hi) + 1;
      }
      const result = await runJob(config, 'backfill', { from, to, names: opts.names, chunkEvents: opts.chunkEvents }, 'backfill');
      console.log(JSON.stringify(result));
    });

  program.command('dataset')
    .description('build a point-in-time correct training set: labels CSV (entity_id, ts, ...) in, CSV with features out')
    .requiredOption('--labels <file.csv>', 'labels: a header row with entity_id and ts (epoch ms or ISO-8601), other columns are carried through')
    .requiredOption('--names <a,b,...>', 'features to add (all of one entity)', list)
    .requiredOption('--out <file.csv>', 'where to write the dataset')
    .option('--keep-tables', 'keep the ClickHouse labels and output tables (their names are printed)')
    .action(async (opts: { labels: string; names: string[]; out: string; keepTables?: boolean }) => {
      const config = loadConfig();
      const summary = await buildDataset(config, opts);
      console.log(JSON.stringify(summary));
    });

  program.command('skew')
    .description('compare online (Redis) answers with offline (ClickHouse) recomputation; exit 1 on any mismatch')
    .option('--sample <n>', 'entities to sample (half users, half items)', (v) => Number(v), 200)
    .option('--seed <text>', 'sampling seed (default: random)')
    .action(async (opts: { sample: number; seed?: string }) => {
      if (!Number.isSafeInteger(opts.sample) || opts.sample < 1) throw new CliInputError(`--sample: expected a positive integer, got ${opts.sample}`);
      const config = loadConfig();
      const clickhouse = createClickHouse(config, { requestTimeoutMs: 600_000 });
      const redis = createRedis(config);
      try {
        const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
        const report = await runSkewCheck({ clickhouse, database: config.clickhouse.database, redis, prefix: config.redis.prefix, registry, maxFutureMs: config.events.maxFutureMs },
          { sample: opts.sample, seed: opts.seed });
        console.log(`skew: ${report.entities} entities, ${report.compared} values compared, ${report.skipped} not answerable exactly by Redis at their T, ${report.mismatches} mismatches (${(report.ms / 1000).toFixed(1)} s)`);
        for (const m of report.examples) {
          console.log(`  ${m.entity} ${JSON.stringify(m.id)} ${m.feature} at ${new Date(m.T).toISOString()}: online ${JSON.stringify(m.online)} offline ${JSON.stringify(m.offline)}`);
        }
        if (report.mismatches > 0) process.exitCode = 1;
      } finally {
        redis.disconnect();
        await clickhouse.close();
      }
    });

  program.command('job <id>')
    .description('state and progress of a job')
    .action(async (id: string) => {
      const config = loadConfig();
      const connection = jobsConnection(config);
      const queue = createJobQueue(connection, config.redis.prefix);
      try {
        const job = await queue.getJob(id);
        if (job === undefined || job === null) throw new CliInputError(`no job ${JSON.stringify(id)} (finished jobs are kept 7 days, failed ones 30)`);
        console.log(JSON.stringify({ ...(await viewOf(job, () => queue.getJob(id))), progressDetail: job.progress, input: job.data.input }, null, 2));
      } finally {
        await queue.close();
        connection.disconnect();
      }
    });
}
