// Running `Sql` fragments (offline/sql.ts) on ClickHouse. These helpers take only fragments,
// never strings, so every value in a query went through the quoting functions.
import { PassThrough, pipeline, type Readable } from 'node:stream';
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { Sql, SqlValueError } from './sql.js';

function text(q: Sql): string {
  if (!Sql.is(q)) throw new SqlValueError('expected an Sql fragment (build it with sql`...`)');
  return q.text;
}

/** Runs a statement that returns no rows (DDL, ALTER, INSERT ... SELECT/VALUES). */
export async function execute(client: ClickHouseClient, q: Sql, settings?: ClickHouseSettings): Promise<void> {
  await client.command({ query: text(q), clickhouse_settings: settings });
}

/**
 * Runs a SELECT and returns its rows (JSONEachRow). 64-bit integers come back as decimal
 * strings, Nullable values as null.
 */
export async function selectRows<T>(client: ClickHouseClient, q: Sql, settings?: ClickHouseSettings): Promise<T[]> {
  const rs = await client.query({ query: text(q), format: 'JSONEachRow', clickhouse_settings: settings });
  return rs.json<T>();
}

/**
 * One INSERT of many rows in JSONEachRow (the sink's batch). `into` is a table fragment,
 * e.g. table(db, 'events'); rows are objects keyed by column name.
 */
export async function insertRows(client: ClickHouseClient, into: Sql, rows: readonly object[], settings?: ClickHouseSettings): Promise<void> {
  if (rows.length === 0) return;
  await client.insert({ table: text(into), values: rows as object[], format: 'JSONEachRow', clickhouse_settings: settings });
}

/**
 * Runs a SELECT and hands its rows (JSONEachRow, as selectRows) to `each` as they arrive,
 * so a result as long as the entity count is never held whole.
 */
export async function forEachRow<T>(client: ClickHouseClient, q: Sql, each: (row: T) => void, settings?: ClickHouseSettings): Promise<void> {
  const rs = await client.query({ query: text(q), format: 'JSONEachRow', clickhouse_settings: settings });
  for await (const rows of rs.stream()) for (const row of rows) each(row.json<T>());
}

/**
 * Starts a SELECT in a binary output format (the query must not name one: it is appended);
 * resolves once the response starts, with its body to read, chunk by chunk, or destroy.
 * Chunks cut rows anywhere (offline/row-binary.ts carries a cut row over).
 * `prefetch`: the body is read to its end as it arrives, whether or not it is consumed yet
 * (held in memory as bytes), so the query never waits on an unread socket: ClickHouse
 * fails a response it cannot send for http_send_timeout (30 s in current versions).
 */
export async function openBinary(client: ClickHouseClient, q: Sql, format: 'RowBinary', opts: { settings?: ClickHouseSettings; prefetch?: boolean } = {}): Promise<Readable> {
  const { stream } = await client.exec({ query: `${text(q)}\nFORMAT ${format}`, clickhouse_settings: opts.settings });
  if (opts.prefetch !== true) return stream;
  // Never full, so the response is never paused; an error of the response ends it with that error.
  const held = new PassThrough({ highWaterMark: Number.MAX_SAFE_INTEGER });
  pipeline(stream, held, () => undefined);
  return held;
}
