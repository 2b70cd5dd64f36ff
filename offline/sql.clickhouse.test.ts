// The quoting functions against the real server: thousands of hostile string literals,
// selected in batches, come back byte for byte; `<lit> = <lit>` is 1 and every query
// answers exactly one row (nothing broke out of a literal); numbers round-trip exactly.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { ClickHouseClient } from '@clickhouse/client';
import { execute, selectRows } from './query.js';
import { hostileString, INJECTION_PAYLOADS } from './sql-arbitraries.js';
import { array, bytes, float64, ident, int64, join, sql, str, table, uint64, type Sql } from './sql.js';
import { createTestDatabase, type TestDatabase } from './test-support.js';

let t: TestDatabase;
let ch: ClickHouseClient;
before(async () => {
  t = await createTestDatabase('sql');
  ch = t.client();
});
after(async () => t.drop());

const BIG_QUERIES = { max_query_size: '16777216' };

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const hexOf = (s: string | Uint8Array): string => Buffer.from(s as string).toString('hex').toUpperCase();

test('4,000 hostile string literals come back exactly (JSON value and UTF-8 bytes) and equal themselves', async () => {
  const strings = [...INJECTION_PAYLOADS, ...fc.sample(hostileString(48), { numRuns: 4_000, seed: 20240611 })];
  let checked = 0;
  for (const batch of chunks(strings, 400)) {
    const lits = batch.map((s) => str(s));
    const q = sql`SELECT ${array(lits)} AS v, ${array(lits.map((l) => sql`hex(${l})`))} AS h,
      ${array(lits.map((l) => sql`${l} = ${l}`))} AS eq, ${uint64(batch.length)} AS n`;
    const rows = await selectRows<{ v: string[]; h: string[]; eq: number[]; n: number }>(ch, q, BIG_QUERIES);
    assert.equal(rows.length, 1, 'exactly one row: no literal escaped into another statement or clause');
    const [row] = rows;
    assert.deepEqual(Object.keys(row ?? {}).sort(), ['eq', 'h', 'n', 'v']);
    assert.equal(row?.n, batch.length);
    batch.forEach((s, i) => {
      assert.equal(row?.v[i], s, `value ${JSON.stringify(s)}`);
      assert.equal(row?.h[i], hexOf(s), `bytes of ${JSON.stringify(s)}`);
      assert.equal(row?.eq[i], 1);
    });
    checked += batch.length;
  }
  assert.ok(checked >= 4_000);
});

test('a literal compares equal to the same string stored through JSONEachRow', async () => {
  const name = table(t.db, 'strings');
  await execute(ch, sql`CREATE TABLE ${name} (id UInt32, s String) ENGINE = MergeTree ORDER BY id`);
  const strings = fc.sample(hostileString(32), { numRuns: 1_500, seed: 7 });
  await ch.insert({ table: name.text, values: strings.map((s, id) => ({ id, s })), format: 'JSONEachRow' });
  for (const batch of chunks(strings.map((s, id) => ({ s, id })), 500)) {
    const ids = array(batch.map((b) => uint64(b.id)));
    const lits = array(batch.map((b) => str(b.s)));
    const [row] = await selectRows<{ matched: string; bad: string }>(ch, sql`
      SELECT countIf(s = transform(id, ${ids}, ${lits}, '')) AS matched, countIf(s != transform(id, ${ids}, ${lits}, '')) AS bad
      FROM ${name} WHERE has(${ids}, id)`, BIG_QUERIES);
    assert.equal(Number(row?.matched), batch.length);
    assert.equal(Number(row?.bad), 0);
  }
  const [count] = await selectRows<{ n: string }>(ch, sql`SELECT count() AS n FROM ${name}`);
  assert.equal(Number(count?.n), strings.length, 'the table is intact');
});

test('bytes() literals hold exactly their bytes', async () => {
  const samples = fc.sample(fc.uint8Array({ maxLength: 64 }), { numRuns: 500, seed: 3 });
  const rows = await selectRows<{ h: string[] }>(ch, sql`SELECT ${array(samples.map((b) => sql`hex(${bytes(b)})`))} AS h`, BIG_QUERIES);
  samples.forEach((b, i) => assert.equal(rows[0]?.h[i], hexOf(b)));
});

test('integer literals round-trip exactly, including the 64-bit extremes', async () => {
  const ints = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, ...fc.sample(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { numRuns: 500, seed: 5 })];
  const uints = [0n, 2n ** 64n - 1n, 2n ** 63n, ...fc.sample(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { numRuns: 500, seed: 6 })];
  const asText = (l: Sql): Sql => sql`toString(${l})`;
  const [row] = await selectRows<{ i: string[]; u: string[]; d: string }>(ch, sql`
    SELECT ${array(ints.map((n) => asText(int64(n))))} AS i, ${array(uints.map((n) => asText(uint64(n))))} AS u,
           toString(1-${int64(-1)}) AS d`, BIG_QUERIES);
  assert.deepEqual(row?.i, ints.map(String));
  assert.deepEqual(row?.u, uints.map(String));
  assert.equal(row?.d, '2', '1-(-1) is arithmetic, not a comment');
});

test('float literals round-trip exactly', async () => {
  const special = [0, -0, 0.1, 0.30000000000000004, 1e21, 1e-7, 1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308, 1 / 3, 123456.789];
  const normal = fc.sample(fc.double({ noNaN: true, noDefaultInfinity: true }), { numRuns: 1_000, seed: 11 })
    .filter((x) => x === 0 || Math.abs(x) >= 2.2250738585072014e-308);
  const values = [...special, ...normal];
  const [row] = await selectRows<{ f: number[]; t: string }>(ch, sql`SELECT ${array(values.map(float64))} AS f, toTypeName(f) AS t`, BIG_QUERIES);
  assert.equal(row?.t, 'Array(Float64)');
  values.forEach((x, i) => assert.ok(Object.is(row?.f[i], x), `${x} came back as ${row?.f[i]}`));
});

test('identifiers: any valid name works as a column alias and a table name', async () => {
  const names = ['a', '_', 'select', 'FROM', 'events_by_item', 'x'.repeat(200), 'Z9'];
  const [row] = await selectRows<Record<string, number>>(ch, sql`SELECT ${join(names.map((n, i) => sql`${uint64(i)} AS ${ident(n)}`))}`);
  assert.deepEqual(Object.keys(row ?? {}).sort(), [...names].sort());
  const weird = table(t.db, 'select');
  await execute(ch, sql`CREATE TABLE ${weird} (${ident('from')} String) ENGINE = Memory`);
  await execute(ch, sql`INSERT INTO ${weird} VALUES (${str("'; DROP TABLE x; --")})`);
  const [back] = await selectRows<{ from: string }>(ch, sql`SELECT ${ident('from')} FROM ${weird}`);
  assert.equal(back?.from, "'; DROP TABLE x; --");
});
