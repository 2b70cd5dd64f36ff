// The offline sink as its own OS process, for tests that kill it for real (SIGKILL) or
// measure it next to a producer in another process:
//
//   node --import tsx offline/sink/sink-runner.ts '{"database":"db","prefix":"p","groupId":"g","limits":{...}}'
//
// Topics, brokers, ClickHouse and Redis come from the TESSERA_* environment (config.ts).
// It reports on stdout, one line each: `ready`, then `step <inserted|stored|committed> <n>`
// after each flush step (n = that step's count so far); on SIGTERM it stops gracefully
// and prints `stopped <json>` with its counters (rows and INSERTs per table) before exiting 0.
import { loadConfig } from '../../config/config.js';
import { startOfflineSink, type SinkLimits } from './sink.js';

export interface SinkRunnerOptions {
  database: string;
  prefix: string;
  groupId: string;
  limits?: Partial<SinkLimits>;
  /** print `step ...` lines (default true) */
  reportSteps?: boolean;
}

/** What `stopped <json>` carries. */
export interface SinkRunnerReport {
  rowsInserted: Record<string, number>;
  inserts: Record<string, number>;
  recordsIn: number;
  replayed: number;
}

function parseOptions(text: string | undefined): SinkRunnerOptions {
  const o = JSON.parse(text ?? 'null') as Partial<SinkRunnerOptions> | null;
  if (o === null || typeof o.database !== 'string' || typeof o.prefix !== 'string' || typeof o.groupId !== 'string') {
    throw new Error('usage: sink-runner.ts \'{"database":"...","prefix":"...","groupId":"...","limits":{...}}\'');
  }
  return o as SinkRunnerOptions;
}

const opts = parseOptions(process.argv[2]);
const counts = new Map<string, number>();
const sink = await startOfflineSink({
  config: loadConfig(), database: opts.database, prefix: opts.prefix, groupId: opts.groupId, limits: opts.limits,
  onFlushStep: (step) => {
    const n = (counts.get(step) ?? 0) + 1;
    counts.set(step, n);
    if (opts.reportSteps !== false) process.stdout.write(`step ${step} ${n}\n`);
  },
});
process.stdout.write('ready\n');

async function byLabel(name: string, label: string): Promise<Record<string, number>> {
  const values = (await sink.metrics.getSingleMetric(name)?.get())?.values ?? [];
  const out: Record<string, number> = {};
  for (const v of values) out[String(v.labels[label] ?? '')] = (out[String(v.labels[label] ?? '')] ?? 0) + v.value;
  return out;
}
const total = async (name: string): Promise<number> => Object.values(await byLabel(name, 'x')).reduce((a, b) => a + b, 0);

process.once('SIGTERM', () => {
  void (async () => {
    await sink.stop();
    const report: SinkRunnerReport = {
      rowsInserted: await byLabel('tessera_offline_rows_inserted_total', 'table'),
      inserts: await byLabel('tessera_offline_inserts_total', 'table'),
      recordsIn: await total('tessera_offline_records_in_total'),
      replayed: await total('tessera_offline_records_replayed_total'),
    };
    process.stdout.write(`stopped ${JSON.stringify(report)}\n`, () => process.exit(0));
  })();
});
