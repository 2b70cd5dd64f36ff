// The sink's TabSeparated INSERT stores exactly what eventToRow + JSONEachRow stores: the
// same random events (hostile strings, NULLs, prices, attributes) inserted both ways into
// two tables of the same schema read back identical, column by column.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { clickEventArb, compact } from '../event-arbitraries.js';
import { EVENT_COLUMNS, eventToRow } from '../events-table.js';
import { migrate } from '../migrate.js';
import { execute, insertRows, selectRows } from '../query.js';
import { ident, join, sql, table } from '../sql.js';
import { createTestDatabase } from '../test-support.js';
import { encodeEventLine, insertedAtSuffix, LINE_COLUMNS } from './row-encoder.js';
import { insertLines, lineBlock } from './tsv-insert.js';

test('TabSeparated lines and eventToRow JSON rows store the same values', { timeout: 120_000 }, async () => {
  const t = await createTestDatabase('offtsv');
  try {
    await migrate(t.admin, t.db);
    await execute(t.admin, sql`CREATE TABLE ${table(t.db, 'events_tsv')} AS ${table(t.db, 'events')}`);
    // Times squeezed into 4 days: every day an INSERT touches is a part with buffers per
    // column, and 18.16 runs out of memory on thousands of them (events-table.ts, splitByDay).
    const start = Date.UTC(2024, 5, 1);
    const events = fc.sample(clickEventArb, { numRuns: 2_000, seed: 7 }).map((e) => compact({ ...e, event_time: start + (e.event_time % (4 * 86_400_000)) }));
    const insertedAt = Date.UTC(2024, 0, 1);
    await insertRows(t.client(), table(t.db, 'events'), events.map((e, i) => eventToRow(e, { partition: i % 7, offset: i }, insertedAt)));
    const lines = events.map((e, i) => encodeEventLine(e, i % 7, i));
    // two groups, as a flush spanning two day-groups would stream them
    await insertLines(t.client(), table(t.db, 'events_tsv'), LINE_COLUMNS, [lineBlock(lines.slice(0, 700)), lineBlock(lines.slice(700))], insertedAtSuffix(insertedAt));

    const columns = join(EVENT_COLUMNS.map((c) => sql`toString(${ident(c)})`));
    const read = (name: string) => selectRows<Record<string, string | null>>(t.client(), sql`
      SELECT ${columns} FROM ${table(t.db, name)} ORDER BY source_offset`);
    const [json, tsv] = [await read('events'), await read('events_tsv')];
    assert.equal(json.length, events.length);
    assert.equal(tsv.length, events.length);
    for (let i = 0; i < json.length; i++) assert.deepStrictEqual(tsv[i], json[i], `row ${i}`);
  } finally {
    await t.drop();
  }
});
