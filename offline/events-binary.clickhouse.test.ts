// RowBinary reading of stored events against the real server: the events equal what
// JSONEachRow + rowToEvent gives for the same rows, bit for bit (floats, hostile strings
// with tabs, newlines, backslashes, NULs, quotes and astral characters, long strings with
// multi-byte length prefixes), however the response is cut into chunks; only the asked-for
// optional fields are read; an error ClickHouse appends to a response under way is
// refused, not decoded as rows; a prefetched response is read whole without a reader.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { ClickHouseClient } from '@clickhouse/client';
import type { ClickEvent } from '../core/event.js';
import { FILTER_FIELDS, type FilterField } from '../core/features/definition.js';
import { clickEventArb, compact } from './event-arbitraries.js';
import { eventColumns, eventDecoder, readEvents, type EventColumns } from './events-binary.js';
import { EVENT_COLUMNS, eventToRow, rowToEvent, splitByDay, type StoredEventRow } from './events-table.js';
import { migrate } from './migrate.js';
import { insertRows, openBinary, selectRows } from './query.js';
import { rowBinaryRows, RowBinaryError, type RowBinaryReader } from './row-binary.js';
import { ident, join, sql, table, type Sql } from './sql.js';
import { createTestDatabase, type TestDatabase } from './test-support.js';

let t: TestDatabase;
let ch: ClickHouseClient;
before(async () => {
  t = await createTestDatabase('rowbin');
  await migrate(t.admin, t.db);
  ch = t.client();
});
after(async () => t.drop());

/** Runs `q` (a SELECT of `cols.columns`, no FORMAT) and returns its events. */
async function selectEvents(client: ClickHouseClient, q: Sql, cols: EventColumns): Promise<ClickEvent[]> {
  const out: ClickEvent[] = [];
  await readEvents(await openBinary(client, q, 'RowBinary'), cols, (events) => {
    for (const e of events) out.push(e);
  });
  return out;
}

/** openBinary, then every chunk of the body to `each`. */
async function forEachChunk(client: ClickHouseClient, q: Sql, each: (chunk: Buffer) => void): Promise<void> {
  for await (const chunk of await openBinary(client, q, 'RowBinary')) each(chunk as Buffer);
}

const DAY = 86_400_000;
const START = Date.UTC(2024, 5, 1);
const HOSTILE = [
  'tab\there', 'new\nline', 'cr\rlf\r\n', 'back\\slash\\', '\\t not a tab', '\\N', 'nul\u0000byte', 'quote\'"`', 'é中文', '😀🧪 astral',
  '\u2028\u2029', 'x'.repeat(128), '中'.repeat(128), '\u007f\u0085\u00a0', '🧪'.repeat(64), '\\', '\t', '\n', 'N', 'null',
];
const PRICES = [0, 0.1, 0.2, 0.3, 1.995407, 19.99, 1e-7, 123456.789012, 4.5e9, 1e9 - 0.01, 2 ** 52 + 0.5, 1 / 3, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308];

/** Every optional field, then without attributes (RowBinary never reads them). */
const ALL = eventColumns(FILTER_FIELDS);
function withoutAttributes(e: ClickEvent): ClickEvent {
  const copy = { ...e };
  delete copy.attributes;
  return copy;
}
/** Only the fields in `fields` among the optional ones. */
function only(e: ClickEvent, fields: readonly FilterField[]): ClickEvent {
  const copy = withoutAttributes(e);
  for (const f of FILTER_FIELDS) if (!fields.includes(f)) delete copy[f];
  return copy;
}

function byId(events: readonly ClickEvent[]): Map<string, ClickEvent> {
  return new Map(events.map((e) => [e.event_id, e]));
}

async function viaJson(name: string): Promise<Map<string, ClickEvent>> {
  const cols = join(EVENT_COLUMNS.map((c) => ident(c)));
  const rows = await selectRows<StoredEventRow>(ch, sql`SELECT ${cols} FROM ${table(t.db, name)} FINAL`);
  return byId(rows.map((r) => withoutAttributes(rowToEvent(r))));
}

function selectAll(name: string, columns: Sql): Sql {
  return sql`SELECT ${columns} FROM ${table(t.db, name)} FINAL`;
}

test('random and hostile events read through RowBinary equal JSONEachRow + rowToEvent, bit for bit', async () => {
  const random = fc.sample(clickEventArb, { numRuns: 1_500, seed: 7 }).map((e, i) => compact({ ...e, event_id: `r${i}:${e.event_id}`, event_time: START + (e.event_time % (5 * DAY)) }));
  const hostile: ClickEvent[] = HOSTILE.flatMap((s, i) => [
    { event_id: `h${i}:${s}`, user_id: s, event_type: 'view', event_time: START + i, ingest_time: START + i + 1, quantity: 1, session_id: s, item_id: s, category: s, brand: s, price: PRICES[i % PRICES.length] as number },
    { event_id: `g${i}:${s}`, user_id: `u${s}`, event_type: 'purchase', event_time: START + DAY + i, ingest_time: 4_102_444_799_999, quantity: 4_294_967_295, item_id: `i${s}` },
  ]);
  const prices: ClickEvent[] = PRICES.map((price, i) => ({ event_id: `p${i}`, user_id: 'money', event_type: 'purchase', event_time: START + 2 * DAY, ingest_time: 0, quantity: 3, price, item_id: 'm' }));
  const events = [...random, ...hostile, ...prices];
  for (const batch of splitByDay(events.map((e, i) => eventToRow(e, { partition: 0, offset: i })), 5)) await insertRows(ch, table(t.db, 'events'), batch);

  for (const name of ['events', 'events_by_item']) {
    const expected = await viaJson(name);
    const got = await selectEvents(ch, selectAll(name, ALL.columns), ALL);
    assert.equal(got.length, expected.size);
    assert.ok(got.length >= (name === 'events' ? events.length : hostile.length));
    for (const e of got) assert.deepStrictEqual(e, expected.get(e.event_id), `event ${JSON.stringify(e.event_id)} from ${name}`);
  }
  // The hand-written ones against the originals too (prices: 18.16 may parse an inserted float 1 ulp off; both readers see the stored double).
  const stored = byId(await selectEvents(ch, selectAll('events', ALL.columns), ALL));
  for (const e of hostile) {
    const back = stored.get(e.event_id);
    assert.ok(back);
    assert.deepStrictEqual({ ...back, price: undefined }, { ...e, price: undefined });
  }
});

test('only the asked-for optional fields are read; the others are absent', async () => {
  for (const fields of [[], ['item_id'], ['price', 'category'], ['session_id', 'brand']] as FilterField[][]) {
    const cols = eventColumns(fields);
    const got = await selectEvents(ch, selectAll('events', cols.columns), cols);
    const expected = await viaJson('events');
    assert.ok(got.length > 1_000);
    for (const e of got) assert.deepStrictEqual(e, only(expected.get(e.event_id) as ClickEvent, fields));
  }
});

test('rows cut anywhere by the chunk boundaries decode the same', async () => {
  const chunks: Buffer[] = [];
  await forEachChunk(ch, selectAll('events', ALL.columns), (c) => {
    chunks.push(Buffer.from(c));
  });
  const whole = Buffer.concat(chunks);
  const decodeIn = (pieces: Buffer[]): string[] => {
    // The decoder of selectEvents, fed by hand: decode each row to its JSON (exact for these values).
    const out: string[] = [];
    const decode = eventDecoder(ALL);
    const rows = rowBinaryRows((r: RowBinaryReader) => out.push(JSON.stringify(decode(r))));
    for (const p of pieces) rows.push(p);
    rows.end();
    return out;
  };
  const reference = decodeIn([whole]);
  assert.ok(reference.length > 1_000);
  // Every cut position within the first 3 rows' bytes, then random cuts through the rest.
  const head = decodeIn([whole.subarray(0, 1), whole.subarray(1)]);
  assert.deepEqual(head, reference);
  for (let cut = 2; cut < 400; cut++) assert.deepEqual(decodeIn([whole.subarray(0, cut), whole.subarray(cut)]), reference);
  const rng = fc.sample(fc.array(fc.integer({ min: 1, max: whole.length - 1 }), { minLength: 50, maxLength: 400 }), { numRuns: 5, seed: 3 });
  for (const cuts of rng) {
    const at = [0, ...[...new Set(cuts)].sort((a, b) => a - b), whole.length];
    assert.deepEqual(decodeIn(at.slice(1).map((end, i) => whole.subarray(at[i], end))), reference);
  }
  // A response that stops inside a row is refused.
  assert.throws(() => decodeIn([whole.subarray(0, whole.length - 3)]), RowBinaryError);
});

test('an error ClickHouse appends to a response under way is refused, not decoded as rows', async () => {
  // The same column types as ALL, ~30 MB of rows, then throwIf fails mid-stream (HTTP 200 already sent).
  const cols = eventColumns([]);
  const q = sql`SELECT concat('e', toString(number)), 'u', 'view', toUInt64(1), toUInt64(2), toUInt32(1 + throwIf(number = 1500000)), toUInt32(2654435769) FROM system.numbers LIMIT 3000000`;
  await assert.rejects(selectEvents(ch, q, cols), (e: unknown) => e instanceof Error && /throwIf|Exception|Code/.test(e.message));
});

test('a prefetched response is read to its end before anyone consumes it, and decodes the same', async () => {
  // ~20 MB of rows, far more than socket buffers: unprefetched, ClickHouse would wait on the socket.
  const cols = eventColumns([]);
  const q = sql`SELECT concat('e', toString(number)), concat('u', toString(number % 1000)), 'view', number, number + 1, toUInt32(1), toUInt32(2654435769) FROM system.numbers LIMIT 500000`;
  const body = await openBinary(ch, q, 'RowBinary', { prefetch: true });
  await once(body, 'finish'); // every byte received, none read yet
  assert.ok(body.readableLength > 10_000_000);
  let n = 0;
  await readEvents(body, cols, (events) => {
    for (const e of events) {
      assert.equal(e.event_time, n);
      assert.equal(e.user_id, `u${n % 1000}`);
      n += 1;
    }
  });
  assert.equal(n, 500_000);
});
