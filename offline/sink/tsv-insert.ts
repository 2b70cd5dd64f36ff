// One INSERT ... FORMAT TabSeparated of buffered lines (row-encoder.ts), streamed to
// ClickHouse in ~1 MiB pieces so the body is never one giant string. The table and every
// column name go through offline/sql.ts (table(), ident()); the rows are data, not SQL.
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { ident, Sql, SqlValueError } from '../sql.js';

const PIECE_CHARS = 1 << 20;

/** The body: every line followed by `suffix` (the flush's `\t<inserted_at>\n`). */
export function* tsvPieces(groups: readonly (readonly string[])[], suffix: string): Generator<string> {
  let piece = '';
  for (const lines of groups) {
    for (const line of lines) {
      piece += line + suffix;
      if (piece.length >= PIECE_CHARS) {
        yield piece;
        piece = '';
      }
    }
  }
  if (piece.length > 0) yield piece;
}

/**
 * INSERT INTO `into` (columns) FORMAT TabSeparated with the lines of `groups`, each ended
 * by `suffix`. Call it again to retry (the body is rebuilt from the lines).
 */
export async function insertLines(client: ClickHouseClient, into: Sql, columns: readonly string[], groups: readonly (readonly string[])[], suffix: string): Promise<void> {
  if (!Sql.is(into)) throw new SqlValueError('insertLines: expected a table fragment (table(db, name))');
  const [first, ...rest] = columns.map((c) => ident(c).text);
  if (first === undefined) throw new SqlValueError('insertLines: no columns');
  await client.insert({
    table: into.text,
    columns: [first, ...rest],
    values: Readable.from(tsvPieces(groups, suffix), { objectMode: false }),
    format: 'TabSeparated',
  });
}
