// Migrations against the real server: applied in order once, idempotent, checksums
// enforced, every object and column documented; the tables deduplicate and the analyst
// views agree with a brute-force evaluation in TypeScript on random data.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { ClickHouseClient } from '@clickhouse/client';
import type { ClickEvent } from '../core/event.js';
import { toMicros } from '../core/features/definition.js';
import { describeLabelsTable, LabelsTableError } from './labels.js';
import { loadConfig } from '../config/config.js';
import { appliedMigrations, ensureSchema, migrate, migrationChecksum, MigrationError } from './migrate.js';
import type { Migration } from './migrations/ddl.js';
import { MIGRATIONS } from './migrations/index.js';
import { execute, selectRows } from './query.js';
import { ident, sql, str, table } from './sql.js';
import { createTestDatabase, insertEvents, type TestDatabase } from './test-support.js';

let t: TestDatabase;
let ch: ClickHouseClient;
before(async () => {
  t = await createTestDatabase('migrate');
  ch = t.client();
});
after(async () => t.drop());

const T = (name: string) => table(t.db, name);

test('migrate applies every migration once, in order; a second run skips them all', async () => {
  const first = await migrate(t.admin, t.db, { now: () => 1_700_000_000_000 });
  assert.deepEqual(first.applied.map((m) => m.version), MIGRATIONS.map((m) => m.version));
  const second = await migrate(t.admin, t.db);
  assert.deepEqual(second.applied, []);
  assert.deepEqual(second.skipped, MIGRATIONS.map((m) => m.version));
  const applied = await appliedMigrations(ch, t.db);
  assert.deepEqual(applied.map((a) => [a.version, a.name, a.checksum, a.appliedAt]), MIGRATIONS.map((m) => [m.version, m.name, migrationChecksum(m), 1_700_000_000_000]));
});

test('the schema: engines, keys, partitions', async () => {
  const rows = await selectRows<{ name: string; engine: string; sorting_key: string; partition_key: string }>(ch, sql`
    SELECT name, engine, sorting_key, partition_key FROM system.tables WHERE database = ${str(t.db)} ORDER BY name`);
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
  assert.deepEqual(rows.map((r) => r.name), ['events', 'events_by_item', 'events_by_item_mv', 'feature_values', 'funnel_daily', 'item_daily_activity',
    'labels', 'rejected_events', 'schema_migrations', 'sessions', 'table_docs', 'user_daily_activity']);
  assert.equal(byName.events?.engine, 'ReplacingMergeTree');
  assert.equal(byName.events?.sorting_key, 'user_id, event_time, event_id');
  assert.equal(byName.events?.partition_key, 'event_date');
  assert.equal(byName.events_by_item?.sorting_key, 'item_id, event_time, event_id, user_id'); // migration 6
  assert.equal(byName.rejected_events?.sorting_key, 'source_topic, source_partition, source_offset');
  assert.equal(byName.feature_values?.sorting_key, 'entity, entity_id, feature, as_of');
  assert.equal(byName.sessions?.engine, 'View');
  assert.equal(byName.events_by_item_mv?.engine, 'MaterializedView');
});

test('every table, view and column has a comment (DDL comments and table_docs agree)', async () => {
  const objects = await selectRows<{ name: string; engine: string }>(ch, sql`SELECT name, engine FROM system.tables WHERE database = ${str(t.db)}`);
  const columns = await selectRows<{ table: string; name: string; comment: string }>(ch, sql`
    SELECT table, name, comment FROM system.columns WHERE database = ${str(t.db)}`);
  const docs = await selectRows<{ object: string; column: string; doc: string }>(ch, sql`SELECT object, column, doc FROM ${T('table_docs')} FINAL`);
  const doc = new Map(docs.map((d) => [`${d.object}.${d.column}`, d.doc]));
  for (const o of objects) assert.ok((doc.get(`${o.name}.`) ?? '').length > 10, `object ${o.name} is documented`);
  const engines = new Map(objects.map((o) => [o.name, o.engine]));
  for (const c of columns) {
    if (engines.get(c.table) === 'MaterializedView') continue; // its columns are those of events_by_item
    assert.ok((doc.get(`${c.table}.${c.name}`) ?? '').length > 2, `column ${c.table}.${c.name} is documented in table_docs`);
    if (engines.get(c.table) !== 'View') assert.equal(c.comment, doc.get(`${c.table}.${c.name}`), `${c.table}.${c.name} DDL comment`);
  }
  const documentedColumns = docs.filter((d) => d.column !== '');
  for (const d of documentedColumns) assert.ok(columns.some((c) => c.table === d.object && c.name === d.column), `table_docs names a real column ${d.object}.${d.column}`);
});

test('an edited applied migration, or an unknown applied version, stops the run', async () => {
  const edited: Migration[] = MIGRATIONS.map((m) => (m.version === 2 ? { ...m, statements: (db: string) => [...m.statements(db), sql`SELECT 1`] } : m));
  await assert.rejects(migrate(t.admin, t.db, { migrations: edited }), (e: unknown) => e instanceof MigrationError && /migration 2 \(events\) changed/.test(e.message));
  const extra: Migration = { version: 99, name: 'extra', statements: () => [sql`SELECT 1`] };
  const withExtra = [...MIGRATIONS, extra];
  const res = await migrate(t.admin, t.db, { migrations: withExtra });
  assert.deepEqual(res.applied, [{ version: 99, name: 'extra' }]);
  await assert.rejects(migrate(t.admin, t.db), (e: unknown) => e instanceof MigrationError && /migration 99 \(extra\) that this code does not know/.test(e.message));
  await execute(ch, sql`ALTER TABLE ${T('schema_migrations')} DELETE WHERE version = 99`);
  await waitFor(async () => (await appliedMigrations(ch, t.db)).length === MIGRATIONS.length);
});

test('a failed migration is not recorded and the next run completes it; the list must be ordered', async () => {
  const other = await createTestDatabase('migrate2');
  try {
    const next = (MIGRATIONS.at(-1)?.version ?? 0) + 1; // a migration after the real ones
    const broken: Migration = { version: next, name: 'broken', statements: (db) => [sql`CREATE TABLE IF NOT EXISTS ${table(db, 'half')} (a UInt8) ENGINE = Memory`, sql`SELECT no_such_function()`] };
    await assert.rejects(migrate(other.admin, other.db, { migrations: [...MIGRATIONS, broken] }), new RegExp(`migration ${next} \\(broken\\) failed`));
    assert.equal((await appliedMigrations(other.admin, other.db)).length, MIGRATIONS.length);
    const fixed: Migration = { ...broken, statements: (db) => [sql`CREATE TABLE IF NOT EXISTS ${table(db, 'half')} (a UInt8) ENGINE = Memory`] };
    assert.deepEqual((await migrate(other.admin, other.db, { migrations: [...MIGRATIONS, fixed] })).applied, [{ version: next, name: 'broken' }]);
    await assert.rejects(migrate(other.admin, other.db, { migrations: [MIGRATIONS[1] as Migration, MIGRATIONS[0] as Migration] }), MigrationError);
    await assert.rejects(migrate(other.admin, 'bad-name'), MigrationError);
  } finally {
    await other.drop();
  }
});

test('ensureSchema migrates the configured database (created when missing)', async () => {
  const db = `${t.db}_cfg`;
  try {
    const res = await ensureSchema(loadConfig({ ...process.env, TESSERA_CLICKHOUSE_DB: db }));
    assert.equal(res.database, db);
    assert.equal(res.applied.length, MIGRATIONS.length);
  } finally {
    await execute(t.admin, sql`DROP DATABASE IF EXISTS ${ident(db)}`);
  }
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('labels: the default table follows the convention; others are checked', async () => {
  const info = await describeLabelsTable(ch, t.db, 'labels');
  assert.deepEqual(info.extraColumns, ['dataset', 'label']);
  await assert.rejects(describeLabelsTable(ch, t.db, 'events'), LabelsTableError);
  await assert.rejects(describeLabelsTable(ch, t.db, 'nope'), /does not exist/);
});

// --- the data: dedup and views against a brute-force reference -------------------------

const GAP = 30 * 60_000;
const DAY = 86_400_000;

/** Random events of a few users, clustered in time so sessions split and merge. */
const eventsArb = fc.array(fc.record({
  user: fc.integer({ min: 0, max: 4 }),
  item: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  category: fc.option(fc.constantFrom('a', 'b', 'c.d'), { nil: undefined }),
  type: fc.constantFrom('view', 'view', 'click', 'add_to_cart', 'purchase', 'search'),
  minute: fc.integer({ min: 0, max: 3 * 24 * 60 }),
  jitter: fc.integer({ min: 0, max: 59_999 }),
  price: fc.option(fc.integer({ min: 0, max: 100_000 }).map((c) => c / 100), { nil: undefined }),
  quantity: fc.integer({ min: 1, max: 3 }),
}), { minLength: 1, maxLength: 120 }).map((specs) => specs.map((s, i): ClickEvent => {
  const e: ClickEvent = {
    event_id: `e${i}`, user_id: `u${s.user}`, event_type: s.type, event_time: Date.UTC(2024, 2, 1) + s.minute * 60_000 + s.jitter,
    ingest_time: Date.UTC(2024, 2, 5), quantity: s.quantity,
  };
  if (s.item !== undefined) e.item_id = `i${s.item}`;
  if (s.category !== undefined) e.category = s.category;
  if (s.price !== undefined) e.price = s.price;
  return e;
}));

interface RefSession { user_id: string; session_index: number; session_start: number; session_end: number; event_count: number; purchases: number; distinct_items: number; revenue_micros: number }

function referenceSessions(events: readonly ClickEvent[]): RefSession[] {
  const out: RefSession[] = [];
  const users = [...new Set(events.map((e) => e.user_id))].sort();
  for (const user of users) {
    const mine = events.filter((e) => e.user_id === user).sort((a, b) => a.event_time - b.event_time || (a.event_id < b.event_id ? -1 : 1));
    let current: ClickEvent[] = [];
    const flush = (): void => {
      if (current.length === 0) return;
      const purchases = current.filter((e) => e.event_type === 'purchase');
      out.push({
        user_id: user, session_index: out.filter((s) => s.user_id === user).length + 1,
        session_start: current[0]?.event_time ?? 0, session_end: current.at(-1)?.event_time ?? 0, event_count: current.length,
        purchases: purchases.length, distinct_items: new Set(current.flatMap((e) => (e.item_id ? [e.item_id] : []))).size,
        revenue_micros: purchases.reduce((s, e) => s + (e.price === undefined ? 0 : toMicros(e.price) * e.quantity), 0),
      });
      current = [];
    };
    for (const e of mine) {
      const last = current.at(-1);
      if (last !== undefined && e.event_time - last.event_time >= GAP) flush();
      current.push(e);
    }
    flush();
  }
  return out;
}

test('views agree with a brute-force reference on random data (duplicates inserted twice)', async () => {
  const datasets = fc.sample(eventsArb, { numRuns: 12, seed: 42 });
  for (const events of datasets) {
    await execute(ch, sql`TRUNCATE TABLE ${T('events')}`);
    await execute(ch, sql`TRUNCATE TABLE ${T('events_by_item')}`);
    await insertEvents(ch, t.db, events);
    await insertEvents(ch, t.db, events.slice(0, Math.ceil(events.length / 2))); // a re-delivered batch

    const [counts] = await selectRows<{ raw: string; final: string; by_item: string }>(ch, sql`
      SELECT (SELECT count() FROM ${T('events')}) AS raw, (SELECT count() FROM ${T('events')} FINAL) AS final,
             (SELECT count() FROM ${T('events_by_item')} FINAL) AS by_item`);
    assert.equal(Number(counts?.final), events.length, 'FINAL removes the duplicates');
    assert.ok(Number(counts?.raw) >= events.length);
    assert.equal(Number(counts?.by_item), events.filter((e) => e.item_id !== undefined).length, 'events_by_item holds the events with an item');

    const sessions = await selectRows<Record<string, string | number>>(ch, sql`
      SELECT user_id, session_index, session_start, session_end, event_count, purchases, distinct_items, revenue_micros, duration_s
      FROM ${T('sessions')} ORDER BY user_id, session_index`);
    const ref = referenceSessions(events);
    assert.deepEqual(sessions.map((s) => ({
      user_id: s.user_id, session_index: Number(s.session_index), session_start: Number(s.session_start), session_end: Number(s.session_end),
      event_count: Number(s.event_count), purchases: Number(s.purchases), distinct_items: Number(s.distinct_items), revenue_micros: Number(s.revenue_micros),
    })), ref);
    sessions.forEach((s, i) => assert.equal(s.duration_s, ((ref[i]?.session_end ?? 0) - (ref[i]?.session_start ?? 0)) / 1000));

    const daily = await selectRows<{ event_date: string; user_id: string; event_count: string; views: string; revenue_micros: string; distinct_items: string }>(ch, sql`
      SELECT toString(event_date) AS event_date, user_id, event_count, views, revenue_micros, distinct_items FROM ${T('user_daily_activity')} ORDER BY event_date, user_id`);
    const refDaily = new Map<string, ClickEvent[]>();
    for (const e of events) {
      const key = `${new Date(Math.floor(e.event_time / DAY) * DAY).toISOString().slice(0, 10)}|${e.user_id}`;
      refDaily.set(key, [...(refDaily.get(key) ?? []), e]);
    }
    assert.equal(daily.length, refDaily.size);
    for (const d of daily) {
      const evs = refDaily.get(`${d.event_date}|${d.user_id}`) ?? [];
      assert.equal(Number(d.event_count), evs.length);
      assert.equal(Number(d.views), evs.filter((e) => e.event_type === 'view').length);
      assert.equal(Number(d.revenue_micros), evs.filter((e) => e.event_type === 'purchase').reduce((s, e) => s + (e.price === undefined ? 0 : toMicros(e.price) * e.quantity), 0));
      assert.equal(Number(d.distinct_items), new Set(evs.flatMap((e) => (e.item_id ? [e.item_id] : []))).size);
    }

    const funnel = await selectRows<{ category: string; views: string; buyers: string }>(ch, sql`
      SELECT category, sum(views) AS views, sum(buyers) AS buyers FROM ${T('funnel_daily')} GROUP BY category ORDER BY category`);
    for (const f of funnel) {
      const inCat = events.filter((e) => (e.category ?? '') === f.category);
      assert.equal(Number(f.views), inCat.filter((e) => e.event_type === 'view').length);
    }

    const items = await selectRows<{ item_id: string; purchases: string; distinct_users: string }>(ch, sql`
      SELECT item_id, sum(purchases) AS purchases, max(distinct_users) AS distinct_users FROM ${T('item_daily_activity')} GROUP BY item_id`);
    for (const it of items) {
      assert.equal(Number(it.purchases), events.filter((e) => e.item_id === it.item_id && e.event_type === 'purchase').length);
    }
  }
});

test('merging deduplicates for good: OPTIMIZE FINAL leaves one row per event', async () => {
  await execute(ch, sql`OPTIMIZE TABLE ${T('events')} FINAL`);
  await execute(ch, sql`OPTIMIZE TABLE ${T('events_by_item')} FINAL`);
  const [r] = await selectRows<{ n: string; u: string; ni: string; ui: string }>(ch, sql`
    SELECT (SELECT count() FROM ${T('events')}) AS n, (SELECT uniqExact(event_id) FROM ${T('events')}) AS u,
           (SELECT count() FROM ${T('events_by_item')}) AS ni, (SELECT uniqExact(event_id) FROM ${T('events_by_item')}) AS ui`);
  assert.equal(r?.n, r?.u);
  assert.equal(r?.ni, r?.ui);
});
