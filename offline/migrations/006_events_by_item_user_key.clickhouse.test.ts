// Migration 6 on a database migrated to 5 and holding data: two users' events sharing an
// event_id on the same item at the same time collapsed into one under the 002 key; after 6
// both are in events_by_item (copied back from events), item_daily_activity counts both
// users, the view keeps feeding the table, no helper table is left, and running the
// statements again changes nothing. Reports how long the copy took for 200,000 events.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClickEvent } from '../../core/event.js';
import { migrate } from '../migrate.js';
import { execute, selectRows } from '../query.js';
import { sql, str, table } from '../sql.js';
import { createTestDatabase, insertEvents } from '../test-support.js';
import { MIGRATIONS } from './index.js';
import { migration as m006 } from './006_events_by_item_user_key.js';

const T0 = Date.UTC(2024, 2, 3, 12);

function events(): ClickEvent[] {
  const base = { event_type: 'view', event_time: T0, ingest_time: T0, quantity: 1, item_id: 'i1' };
  return [
    { ...base, event_id: 'shared', user_id: 'alice' },
    { ...base, event_id: 'shared', user_id: 'bob' }, // same event_id, item and time, another user
    { ...base, event_id: 'e3', user_id: 'carol', event_type: 'purchase', price: 5 },
    { ...base, event_id: 'e4', user_id: 'dave', item_id: undefined },
  ].map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as unknown as ClickEvent);
}

test('migration 6: events_by_item keyed with user_id, data kept and repaired, idempotent', { timeout: 300_000 }, async () => {
  const t = await createTestDatabase('mig6');
  const ch = () => t.client();
  const count = async (q: ReturnType<typeof sql>): Promise<number> => Number((await selectRows<{ n: string }>(ch(), q))[0]?.n ?? NaN);
  const byItem = () => count(sql`SELECT toString(count()) AS n FROM ${table(t.db, 'events_by_item')} FINAL`);
  const distinctUsers = () => count(sql`SELECT toString(distinct_users) AS n FROM ${table(t.db, 'item_daily_activity')} WHERE item_id = 'i1'`);
  try {
    await migrate(t.admin, t.db, { migrations: MIGRATIONS.filter((m) => m.version < 6) });
    await insertEvents(ch(), t.db, events());
    await insertEvents(ch(), t.db, events(), 100); // a replayed batch
    await execute(ch(), sql`OPTIMIZE TABLE ${table(t.db, 'events_by_item')} FINAL`);
    assert.equal(await byItem(), 2, 'before: the 002 key collapses alice\'s and bob\'s events into one');
    assert.equal(await distinctUsers(), 2, 'before: item_daily_activity sees one of them (plus carol)');

    const result = await migrate(t.admin, t.db);
    assert.deepEqual(result.applied.map((a) => a.version), [6]);
    const [meta] = await selectRows<{ sorting_key: string }>(ch(), sql`
      SELECT sorting_key FROM system.tables WHERE database = ${str(t.db)} AND name = 'events_by_item'`);
    assert.equal(meta?.sorting_key, 'item_id, event_time, event_id, user_id');
    assert.equal(await byItem(), 3, 'after: alice, bob and carol');
    assert.equal(await distinctUsers(), 3);
    const tables = await selectRows<{ name: string }>(ch(), sql`SELECT name FROM system.tables WHERE database = ${str(t.db)} AND name LIKE 'events%' ORDER BY name`);
    assert.deepEqual(tables.map((r) => r.name), ['events', 'events_by_item', 'events_by_item_mv'], 'no helper table left');

    await insertEvents(ch(), t.db, [{ event_id: 'shared', user_id: 'erin', event_type: 'view', event_time: T0, ingest_time: T0, quantity: 1, item_id: 'i1' }], 200);
    assert.equal(await byItem(), 4, 'the view feeds the new table');

    for (const statement of m006.statements(t.db)) await execute(t.admin, statement); // a second run
    assert.equal(await byItem(), 4, 'a rerun keeps exactly the same rows');
    const [doc] = await selectRows<{ doc: string }>(ch(), sql`SELECT doc FROM ${table(t.db, 'table_docs')} FINAL WHERE object = 'events_by_item' AND column = ''`);
    assert.match(doc?.doc ?? '', /event_id, user_id\)/);

    // how long the copy takes: 200,000 events (90% with an item) over 3 days. (nullIf, not
    // if(c, NULL, x): the view's filter relies on NULLs holding '' underneath, as inserted NULLs do.)
    await migrate(t.admin, t.db);
    await execute(ch(), sql`INSERT INTO ${table(t.db, 'events')} (event_id, user_id, event_type, event_time, ingest_time, item_id, quantity, source_partition, source_offset, inserted_at)
      SELECT toString(number), concat('u', toString(number % 5000)), 'view', ${sql`1709467200000`} + number * 1296, ${sql`1709467200000`} + number * 1296,
             nullIf(if(number % 10 = 0, '', concat('i', toString(number % 2000))), ''), 1, 0, number, 1709467200000
      FROM system.numbers LIMIT 200000`);
    const t0 = performance.now();
    for (const statement of m006.statements(t.db)) await execute(t.admin, statement);
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(await byItem(), 4 + 180_000);
    console.log(`migration 006 over 200,004 events (180,004 with an item): ${seconds.toFixed(1)} s`);
  } finally {
    await t.drop();
  }
});
