// Building blocks of migrations: tables and views declared as data, each with its comment
// and every column's comment, rendered into DDL that ClickHouse 18.16 and current versions
// both accept. 18.16 has no table COMMENT clause, so object comments (and view column
// comments, which views cannot carry) go into `table_docs`; table column comments go both
// into the DDL (`COMMENT '...'`, visible in system.columns) and into `table_docs`.
//
// Changing what these functions render changes the checksum of every applied migration;
// the runner then refuses to run. Add a migration instead.
import { ident, join, sql, str, table, tuple, uint64, type Sql } from '../sql.js';

export interface Migration {
  /** 1, 2, 3, ... applied in this order, each once */
  version: number;
  /** snake_case, for humans */
  name: string;
  /** the statements, database-qualified; each idempotent (IF NOT EXISTS, replacing inserts) */
  statements(db: string): Sql[];
}

export interface ColumnSpec {
  name: string;
  type: Sql;
  /** DEFAULT expression */
  default?: Sql;
  doc: string;
}

export interface TableSpec {
  name: string;
  doc: string;
  columns: readonly ColumnSpec[];
  /** everything after `ENGINE = ` */
  engine: Sql;
}

export interface ViewColumnSpec {
  name: string;
  doc: string;
}

export interface ViewSpec {
  name: string;
  doc: string;
  columns: readonly ViewColumnSpec[];
  select(db: string): Sql;
}

export type ObjectKind = 'table' | 'view' | 'materialized_view';

export function col(name: string, type: Sql, doc: string, defaultExpr?: Sql): ColumnSpec {
  return defaultExpr === undefined ? { name, type, doc } : { name, type, doc, default: defaultExpr };
}

export function createTable(db: string, spec: TableSpec): Sql {
  const columns = spec.columns.map((c) => {
    const dflt = c.default === undefined ? sql`` : sql` DEFAULT ${c.default}`;
    return sql`${ident(c.name)} ${c.type}${dflt} COMMENT ${str(c.doc)}`;
  });
  return sql`CREATE TABLE IF NOT EXISTS ${table(db, spec.name)} (\n  ${join(columns, sql`,\n  `)}\n) ENGINE = ${spec.engine}`;
}

export function createView(db: string, spec: ViewSpec): Sql {
  return sql`CREATE VIEW IF NOT EXISTS ${table(db, spec.name)} AS\n${spec.select(db)}`;
}

export interface DocEntry {
  object: string;
  kind: ObjectKind;
  doc: string;
  columns: readonly { name: string; doc: string }[];
}

export const DOCS_TABLE = 'table_docs';

/** One INSERT into table_docs: a row per object (column '') and per column. */
export function insertDocs(db: string, version: number, entries: readonly DocEntry[]): Sql {
  const rows: Sql[] = [];
  for (const e of entries) {
    rows.push(tuple([str(e.object), str(''), str(e.kind), str(e.doc), uint64(version)]));
    for (const c of e.columns) rows.push(tuple([str(e.object), str(c.name), str('column'), str(c.doc), uint64(version)]));
  }
  return sql`INSERT INTO ${table(db, DOCS_TABLE)} (object, column, kind, doc, version) VALUES ${join(rows)}`;
}

export function tableDocs(spec: TableSpec): DocEntry {
  return { object: spec.name, kind: 'table', doc: spec.doc, columns: spec.columns };
}

export function viewDocs(spec: ViewSpec, kind: ObjectKind = 'view'): DocEntry {
  return { object: spec.name, kind, doc: spec.doc, columns: spec.columns };
}
