// `tessera soak [--minutes N] [--rate N] [--out-dir DIR] [--keep]`: the four processes on a
// private namespace under a steady stream and a light API read load for N minutes, sampling
// process and Redis memory; writes soak.csv, soak.png and soak.json and prints a flatness
// verdict (reliability/soak*.ts). Exit code 1 when memory is not flat.
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, PROJECT_ROOT } from '../../config/config.js';
import { up } from '../../stack/stack.js';
import { CURVES, formatValue, MiB } from '../../reliability/soak-curves.js';
import { runSoak, type SoakOptions } from '../../reliability/soak.js';

interface SoakFlags {
  minutes: number;
  rate: number;
  users: number;
  items: number;
  every: number;
  reads: number;
  outDir: string;
  keep?: boolean;
  timeScale?: number;
  seed: string;
}

class SoakUsageError extends Error {
  override name = 'SoakUsageError';
}

const num = (v: string) => Number(v);
const mib = (b: number) => (Number.isFinite(b) ? (b / MiB).toFixed(0) : '-');

export function registerSoak(program: Command): void {
  program.command('soak')
    .description('soak run: steady stream and API reads against all four processes, memory curves as CSV and PNG, flatness verdict')
    .option('--minutes <n>', 'duration', num, 30)
    .option('--rate <n>', 'events per second (wall clock)', num, 500)
    .option('--users <n>', 'user population (constant)', num, 2_000)
    .option('--items <n>', 'item population (constant)', num, 1_000)
    .option('--every <s>', 'seconds between samples', num, 15)
    .option('--reads <n>', 'API feature requests per second', num, 4)
    .option('--out-dir <dir>', 'where soak.csv, soak.png and soak.json go', 'docs/soak')
    .option('--keep', 'keep the namespace (topics, Redis keys, database) afterwards')
    .option('--time-scale <x>', 'event-time ms per wall ms (default: enough to cover the 7-day tile horizon in the first third)', num)
    .option('--seed <s>', 'stream seed', 'soak')
    .action(async (f: SoakFlags) => {
      for (const [name, v] of [['minutes', f.minutes], ['rate', f.rate], ['users', f.users], ['items', f.items], ['every', f.every], ['reads', f.reads]] as const) {
        if (!(v > 0) || !Number.isFinite(v)) throw new SoakUsageError(`--${name} must be a positive number, got ${v}`);
      }
      if (f.timeScale !== undefined && !(f.timeScale >= 1)) throw new SoakUsageError(`--time-scale must be >= 1, got ${f.timeScale}`);
      if (f.minutes * 60 < 9 * f.every) console.error(`note: fewer than 9 samples (--minutes ${f.minutes}, --every ${f.every}): no verdict`);
      await up(loadConfig(), () => undefined);
      const options: SoakOptions = {
        minutes: f.minutes, rate: f.rate, users: f.users, items: f.items, everyS: f.every, readsPerS: f.reads,
        outDir: path.resolve(PROJECT_ROOT, f.outDir), keep: f.keep === true, timeScale: f.timeScale, seed: f.seed,
      };
      const r = await runSoak(options, {
        log: (m) => console.error(m),
        onSample: (s) => {
          const min = Math.floor(s.elapsedS / 60);
          console.log(`  ${String(min).padStart(3)}m${String(s.elapsedS % 60).padStart(2, '0')}s  ${s.rate} ev/s  sent ${s.sent.toLocaleString('en-US')}`
            + `  event time ${new Date(s.eventTime).toISOString().slice(0, 16)}  lag ${s.lag.online}/${s.lag.offline}`
            + `  rss MiB online ${mib(s.rss.online)} offline ${mib(s.rss.offline)} api ${mib(s.rss.api)} jobs ${mib(s.rss.jobs)}`
            + `  redis run ${(s.redisNamespaceBytes / MiB).toFixed(1)} MiB ${(s.redisKeys.tiles + s.redisKeys.bull + s.redisKeys.other).toLocaleString('en-US')} keys, instance ${mib(s.redisUsedMemory)} MiB`
            + `  api ${s.apiRequests} req ${s.apiErrors} err`);
        },
      });
      const elapsedS = (r.endedAt - r.startedAt) / 1000;
      console.log(`\nsent ${r.stream.sent.toLocaleString('en-US')} records (${Math.round(r.stream.sent / elapsedS)}/s; ${Object.entries(r.stream.kinds).map(([k, v]) => `${k} ${v}`).join(', ')}), `
        + `${r.reads.requests} API requests, ${r.reads.errors} errors ${JSON.stringify(r.reads.errorsBy)}${r.reads.lastError ? ` (last: ${r.reads.lastError})` : ''}, rows by source ${JSON.stringify(r.reads.bySource)}`);
      console.log('series                     start       end         max         max mid 1/3  max last 1/3  growth   allowed     flat');
      for (const v of r.verdict.series) {
        const c = CURVES.find((x) => x.name === v.series) ?? { unit: 'count' as const };
        const cell = (x: number) => formatValue(c, x).padEnd(12);
        console.log(`${v.series.padEnd(27)}${cell(v.start)}${cell(v.end)}${cell(v.max)}${cell(v.middleMax)} ${cell(v.lastMax)} ${`${(v.growth * 100).toFixed(1)}%`.padEnd(8)} ${cell(v.allowed)}${v.flat ? 'yes' : 'NO'}`);
      }
      for (const e of r.unexpectedExits) console.log(`${e.role} exited unexpectedly at ${e.atS} s`);
      const verdict = r.verdict.undecided ? 'UNDECIDED (fewer than 9 samples)' : r.verdict.flat ? 'FLAT' : 'NOT FLAT';
      console.log(`verdict: ${verdict}\nwrote ${r.files.csv}, ${r.files.png}, ${r.files.json}`);
      if (!r.verdict.flat && !r.verdict.undecided) process.exitCode = 1;
    });
}
