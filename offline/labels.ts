// The labels convention for training datasets (DESIGN §7): a labels table is any table
// with `entity_id String` and `ts UInt64` (epoch ms); every other column is carried into
// the dataset. The default one is `labels` (migration 005).
import type { ClickHouseClient } from '@clickhouse/client';
import { selectRows } from './query.js';
import { isIdentifier, sql, str } from './sql.js';

export const LABEL_KEY_COLUMNS = { entity_id: 'String', ts: 'UInt64' } as const;

export interface LabelsTableInfo {
  /** the table's columns in order, with their ClickHouse types */
  columns: { name: string; type: string }[];
  /** the columns beyond entity_id and ts, carried into a training dataset */
  extraColumns: string[];
}

export class LabelsTableError extends Error {
  override name = 'LabelsTableError';
}

/** Pure: problems with a labels table's columns (empty when it follows the convention). */
export function labelsProblems(columns: readonly { name: string; type: string }[]): string[] {
  const problems: string[] = [];
  for (const [name, type] of Object.entries(LABEL_KEY_COLUMNS)) {
    const found = columns.find((c) => c.name === name);
    if (found === undefined) problems.push(`missing column ${name} ${type}`);
    else if (found.type !== type) problems.push(`column ${name} is ${found.type}, expected ${type}`);
  }
  for (const c of columns) if (!isIdentifier(c.name)) problems.push(`column name ${JSON.stringify(c.name)} is not a plain identifier`);
  return problems;
}

/** Reads db.tableName's columns and checks the convention; throws LabelsTableError with every problem. */
export async function describeLabelsTable(client: ClickHouseClient, db: string, tableName: string): Promise<LabelsTableInfo> {
  if (!isIdentifier(db) || !isIdentifier(tableName)) throw new LabelsTableError(`not a table name: ${db}.${tableName}`);
  const columns = await selectRows<{ name: string; type: string }>(client, sql`
    SELECT name, type FROM system.columns WHERE database = ${str(db)} AND table = ${str(tableName)}`);
  if (columns.length === 0) throw new LabelsTableError(`labels table ${db}.${tableName} does not exist`);
  const problems = labelsProblems(columns);
  if (problems.length > 0) throw new LabelsTableError(`labels table ${db}.${tableName}: ${problems.join('; ')}`);
  return { columns, extraColumns: columns.map((c) => c.name).filter((n) => !(n in LABEL_KEY_COLUMNS)) };
}
