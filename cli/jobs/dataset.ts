// `tessera dataset`: labels CSV -> ClickHouse labels table -> training-dataset job ->
// CSV. Label columns other than entity_id and ts keep their values; a column whose every
// value is a number becomes Float64, any other String. The output keeps the input's row
// order; lists (last-N, top-K) are written as JSON text, null as an empty cell.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { Config } from '../../config/config.js';
import { createClickHouse } from '../../offline/clickhouse-client.js';
import { execute, insertRows, selectRows } from '../../offline/query.js';
import { ident, isIdentifier, join, sql, table, uint64 } from '../../offline/sql.js';
import { runJob } from './follow.js';

export class DatasetInputError extends Error {
  override name = 'InvalidLabels';
}

const ROW = '_row';
const PAGE = 100_000;

function parseTs(value: string, line: number): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new DatasetInputError(`line ${line}: ts ${JSON.stringify(value)} is neither epoch ms nor an ISO-8601 time`);
  return ms;
}

/** Parses the labels CSV into rows for the labels table, checking every line. */
export function readLabelsCsv(text: string): { columns: Array<{ name: string; numeric: boolean }>; rows: Array<Record<string, string | number>> } {
  const records = parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Array<Record<string, string>>;
  if (records.length === 0) throw new DatasetInputError('the labels file has no rows');
  const names = Object.keys(records[0] ?? {});
  for (const need of ['entity_id', 'ts']) if (!names.includes(need)) throw new DatasetInputError(`the labels file needs a ${need} column (found: ${names.join(', ')})`);
  for (const n of names) if (!isIdentifier(n) || n === ROW) throw new DatasetInputError(`column name ${JSON.stringify(n)} must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*, not ${ROW})`);
  const extra = names.filter((n) => n !== 'entity_id' && n !== 'ts');
  const numeric = new Map(extra.map((n) => [n, records.every((r) => r[n] !== '' && Number.isFinite(Number(r[n])))]));
  const rows = records.map((r, i) => {
    if (!r.entity_id) throw new DatasetInputError(`line ${i + 2}: empty entity_id`);
    const row: Record<string, string | number> = { [ROW]: i, entity_id: r.entity_id, ts: parseTs(r.ts ?? '', i + 2) };
    for (const n of extra) row[n] = numeric.get(n) ? Number(r[n]) : (r[n] ?? '');
    return row;
  });
  return { columns: extra.map((name) => ({ name, numeric: numeric.get(name) ?? false })), rows };
}

function cell(v: unknown): string | number {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return JSON.stringify(v);
  return typeof v === 'number' ? v : String(v);
}

export async function buildDataset(config: Config, o: { labels: string; names: string[]; out: string; keepTables?: boolean }): Promise<Record<string, unknown>> {
  const parsed = readLabelsCsv(fs.readFileSync(o.labels, 'utf8'));
  const db = config.clickhouse.database;
  const tag = randomBytes(4).toString('hex');
  const labelsTable = `dataset_${tag}_labels`;
  const outputTable = `dataset_${tag}`;
  const ch = createClickHouse(config, { requestTimeoutMs: 600_000 });
  try {
    const cols = [sql`${ident(ROW)} UInt64`, sql`entity_id String`, sql`ts UInt64`, ...parsed.columns.map((c) => sql`${ident(c.name)} ${c.numeric ? sql`Float64` : sql`String`}`)];
    await execute(ch, sql`CREATE TABLE ${table(db, labelsTable)} (${join(cols)}) ENGINE = MergeTree ORDER BY (entity_id, ts)`);
    for (let i = 0; i < parsed.rows.length; i += PAGE) await insertRows(ch, table(db, labelsTable), parsed.rows.slice(i, i + PAGE));
    const result = await runJob(config, 'training-dataset', { labelsTable, names: o.names, outputTable }, 'dataset');

    const header = ['entity_id', 'ts', ...parsed.columns.map((c) => c.name), ...o.names];
    const fd = fs.openSync(o.out, 'w');
    try {
      fs.writeSync(fd, stringify([header]));
      for (let from = 0; from < parsed.rows.length; from += PAGE) {
        const rows = await selectRows<Record<string, unknown>>(ch, sql`
          SELECT * FROM ${table(db, outputTable)} WHERE ${ident(ROW)} >= ${uint64(from)} AND ${ident(ROW)} < ${uint64(from + PAGE)} ORDER BY ${ident(ROW)}`);
        fs.writeSync(fd, stringify(rows.map((r) => header.map((h) => cell(r[h])))));
      }
    } finally {
      fs.closeSync(fd);
    }
    return { out: o.out, rows: parsed.rows.length, features: o.names.length, job: result, tables: o.keepTables ? { labels: `${db}.${labelsTable}`, output: `${db}.${outputTable}` } : undefined };
  } finally {
    if (!o.keepTables) {
      for (const t of [labelsTable, outputTable]) await execute(ch, sql`DROP TABLE IF EXISTS ${table(db, t)}`).catch(() => undefined);
    }
    await ch.close();
  }
}
