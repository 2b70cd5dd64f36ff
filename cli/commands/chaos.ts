// `tessera chaos`: the fault-injection suite (reliability/chaos.ts) on the local stack.
// Exits 1 when any scenario fails; `--json FILE` keeps the full report.
import fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { up } from '../../stack/stack.js';
import { runChaos, type ChaosReport } from '../../reliability/chaos.js';
import { SCENARIOS, scenarioByName } from '../../reliability/scenarios.js';

interface ChaosCliOptions {
  scenario?: string[];
  rate: number;
  users: number;
  items: number;
  outage: number;
  warmup: number;
  after: number;
  recoveryTimeout: number;
  seed: string;
  keep?: boolean;
  json?: string;
}

const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a non-negative number, got ${JSON.stringify(v)}`);
  return n;
};

export function registerChaos(program: Command): void {
  program.command('chaos')
    .description('fault injection on the local stack: kill -9 of every process, Redis restart and outage, ClickHouse outage, Kafka restart; checks nothing is lost or counted twice')
    .option('--scenario <names...>', `scenarios to run (default all): ${SCENARIOS.map((s) => s.name).join(', ')}`)
    .option('--rate <n>', 'generated events per second', num, 500)
    .option('--users <n>', 'users in the generated stream', num, 2_000)
    .option('--items <n>', 'items in the generated stream', num, 1_000)
    .option('--outage <s>', 'seconds a service stays down in the outage scenarios', num, 30)
    .option('--warmup <s>', 'seconds of streaming before each fault', num, 10)
    .option('--after <s>', 'seconds of streaming after each fault has ended', num, 10)
    .option('--recovery-timeout <s>', 'seconds recovery may take before a scenario fails', num, 240)
    .option('--seed <s>', 'seed of the generated streams and checks', 'chaos')
    .option('--keep', 'keep the private topics, keys and database afterwards')
    .option('--json <file>', 'write the full report as JSON')
    .action(async (opts: ChaosCliOptions) => {
      const config = loadConfig();
      // Ctrl-C: exit through process.exit so the children are killed (reliability/processes.ts).
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
      await up(config, (m) => console.log(`  ${m}`));
      const scenarios = (opts.scenario ?? SCENARIOS.map((s) => s.name)).map(scenarioByName);
      const t0 = Date.now();
      // Stray client sockets (a broker that went away mid-request) must not keep the command alive.
      const exitSoon = () => setTimeout(() => process.exit(process.exitCode ?? 0), 5_000).unref();
      const report = await runChaos({
        scenarios, rate: opts.rate, users: opts.users, items: opts.items, outageMs: opts.outage * 1000,
        warmupMs: opts.warmup * 1000, afterMs: opts.after * 1000, recoveryTimeoutMs: opts.recoveryTimeout * 1000,
        seed: opts.seed, keep: opts.keep === true, log: (m) => console.log(`${new Date().toISOString().slice(11, 19)} ${m}`),
      }).catch((err: unknown) => {
        exitSoon();
        throw err;
      });
      exitSoon();
      console.log(`\n${table(report)}\n`);
      console.log(`${report.ok ? 'PASS' : 'FAIL'}: ${report.results.filter((r) => r.ok).length}/${report.results.length} scenarios in ${((Date.now() - t0) / 1000).toFixed(0)} s${report.problems.length > 0 ? `; ${report.problems.join('; ')}` : ''}`);
      if (opts.json) fs.writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
      if (!report.ok) process.exitCode = 1;
    });
}

const sec = (ms: number | undefined): string => (ms === undefined ? 'never' : (ms / 1000).toFixed(1));

/** The report as the markdown table RELIABILITY.md records. */
export function table(report: ChaosReport): string {
  const rows = report.results.map((r) => {
    const v = r.verdict;
    const api = r.api.duringFault;
    const apiSeen = `${api.requests} req: ${api.ok} ok (${Object.entries(api.bySource).map(([s, n]) => `${s} ${n}`).join(", ") || "none"}), ${Object.entries(api.errors).map(([c, n]) => `${c} ${n}`).join(', ') || 'no errors'}${api.refused > 0 ? `, refused ${api.refused}` : ''}, hung ${api.hung}, max ${(api.maxMs / 1000).toFixed(2)} s`;
    return `| ${r.name} | ${r.ok ? 'pass' : 'FAIL'} | ${r.faultSeconds.toFixed(0)} | ${r.inFlight} | ${v.online.missing} / ${v.offline.missing} | ${v.online.doubled} / ${v.offline.extra + v.offline.duplicateRows} | ${v.online.probes} (${v.online.mismatches}) | ${sec(r.recoveryMs.online)} / ${sec(r.recoveryMs.offline)} / ${sec(r.recoveryMs.api)} | ${apiSeen} |`;
  });
  return [
    '| scenario | result | fault s | events in flight | lost online / offline | double-counted online / offline | probes (mismatches) | recovery s online / offline / API | API during the fault |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
