// One INSERT ... FORMAT TabSeparated of buffered lines (row-encoder.ts), streamed to
// ClickHouse in ~1 MiB pieces so the body is never one giant string. The table and every
// column name go through offline/sql.ts (table(), ident()); the rows are data, not SQL.
//
// Lines wait for their flush as UTF-8 blocks (lineBlock: many lines in one Buffer), not as
// one string per line: a buffered string (a rope of the line's ~30 pieces) survived two
// young-generation collections and was copied each time, and 100,000-200,000 of them
// buffered made garbage collection the sink's largest cost (BENCHMARKS.md, "Offline
// sink"). A Buffer's bytes live outside the JS heap and are never copied by the collector.
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { ident, Sql, SqlValueError } from '../sql.js';

const PIECE_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/**
 * Lines (no raw newline inside: row-encoder.ts escapes it) as one UTF-8 block, each line
 * ended by '\n'. A lone surrogate becomes U+FFFD, as when the body was encoded from strings.
 */
export function lineBlock(lines: readonly string[]): Buffer {
  return lines.length === 0 ? Buffer.alloc(0) : Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

/** The body: every line of the blocks with `suffix` (the flush's `\t<inserted_at>\n`) in place of its '\n'. */
export function* tsvPieces(blocks: Iterable<Buffer>, suffix: string): Generator<Buffer> {
  if (!suffix.endsWith('\n')) throw new RangeError('tsvPieces: the suffix must end the line');
  const tail = Buffer.from(suffix, 'utf8');
  let out = Buffer.allocUnsafe(PIECE_BYTES);
  let n = 0;
  for (const block of blocks) {
    let pos = 0;
    while (pos < block.length) {
      let end = block.indexOf(NEWLINE, pos);
      if (end < 0) end = block.length; // a block always ends with '\n'; tolerate one that does not
      const need = end - pos + tail.length;
      if (n + need > out.length) {
        if (n > 0) yield out.subarray(0, n);
        out = Buffer.allocUnsafe(Math.max(PIECE_BYTES, need)); // a yielded piece is never written again
        n = 0;
      }
      n += block.copy(out, n, pos, end);
      n += tail.copy(out, n);
      pos = end + 1;
    }
  }
  if (n > 0) yield out.subarray(0, n);
}

/**
 * INSERT INTO `into` (columns) FORMAT TabSeparated with the lines of `blocks` (lineBlock),
 * each ended by `suffix`. Call it again to retry (the body is rebuilt from the blocks).
 */
export async function insertLines(client: ClickHouseClient, into: Sql, columns: readonly string[], blocks: Iterable<Buffer>, suffix: string): Promise<void> {
  if (!Sql.is(into)) throw new SqlValueError('insertLines: expected a table fragment (table(db, name))');
  const [first, ...rest] = columns.map((c) => ident(c).text);
  if (first === undefined) throw new SqlValueError('insertLines: no columns');
  await client.insert({
    table: into.text,
    columns: [first, ...rest],
    values: Readable.from(tsvPieces(blocks, suffix), { objectMode: false }),
    format: 'TabSeparated',
  });
}
