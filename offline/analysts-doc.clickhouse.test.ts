// docs/analysts.md is executable: every ```sql block runs against a migrated test database
// seeded with a small clickstream (duplicates, sessions, carts, purchases, rejects, feature
// values, labels) and must succeed with at least one row. The doc must also describe every
// table, view and column the migrations create.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import { PROJECT_ROOT } from '../config/config.js';
import { makeDlqRecord, type ClickEvent } from '../core/event.js';
import { migrate } from './migrate.js';
import { insertRows, selectRows } from './query.js';
import { dlqRecordToRow } from './rejected-table.js';
import { str, sql, table } from './sql.js';
import { createTestDatabase, insertEvents, type TestDatabase } from './test-support.js';

const DOC = fs.readFileSync(path.join(PROJECT_ROOT, 'docs', 'analysts.md'), 'utf8');
/** Every ```sql block with the heading it sits under. */
const BLOCKS = [...DOC.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => {
  const before = DOC.slice(0, m.index);
  const heading = /^#{2,3} (.+)$/gm;
  let title = 'intro';
  for (let h = heading.exec(before); h !== null; h = heading.exec(before)) title = h[1] ?? title;
  return { title, query: (m[1] ?? '').trim() };
});

let t: TestDatabase;
let ch: ClickHouseClient;

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const CATEGORIES = ['electronics.smartphone', 'apparel.shoes', 'kids.toys', 'furniture.bedroom.bed'];
const BRANDS = ['samsung', 'nike', 'lego', 'ikea'];

/** ~40 users over the last 30 hours: sessions of views, clicks, carts and purchases. */
function seedEvents(now: number): ClickEvent[] {
  const r = rng(7);
  const events: ClickEvent[] = [];
  let n = 0;
  for (let u = 1; u <= 40; u++) {
    let time = now - 30 * 3_600_000 + Math.floor(r() * 3_600_000);
    const sessions = 1 + Math.floor(r() * 3);
    for (let s = 0; s < sessions; s++) {
      const steps = 2 + Math.floor(r() * 8);
      for (let k = 0; k < steps; k++) {
        const item = Math.floor(r() * 12);
        const c = item % CATEGORIES.length;
        const roll = r();
        const type = k === 0 ? 'view' : roll < 0.45 ? 'view' : roll < 0.65 ? 'click' : roll < 0.8 ? 'add_to_cart' : roll < 0.9 ? 'purchase' : 'search';
        const e: ClickEvent = { event_id: `ev${n++}`, user_id: `user_${u}`, event_type: type, event_time: time, ingest_time: time + 150, quantity: type === 'purchase' ? 1 + Math.floor(r() * 3) : 1 };
        if (type !== 'search') Object.assign(e, { item_id: `item_${item}`, category: CATEGORIES[c], brand: BRANDS[c], price: Math.round((5 + item * 13.37) * 100) / 100 });
        if (r() < 0.5) e.attributes = { source: ['ads', 'email', 'organic'][Math.floor(r() * 3)] ?? 'organic', page: k };
        events.push(e);
        time += 20_000 + Math.floor(r() * 240_000);
      }
      time += 45 * 60_000 + Math.floor(r() * 3_600_000); // gap > 30 min: a new session
    }
  }
  // a user who carts and leaves, and one sure funnel
  const t0 = now - 2 * 3_600_000;
  events.push({ event_id: 'cart1', user_id: 'user_1', event_type: 'add_to_cart', event_time: t0, ingest_time: t0, quantity: 1, item_id: 'item_3', category: CATEGORIES[3], brand: BRANDS[3], price: 45.11 });
  ['view', 'add_to_cart', 'purchase'].forEach((type, i) => events.push({
    event_id: `funnel${i}`, user_id: 'user_2', event_type: type, event_time: t0 + i * 60_000, ingest_time: t0, quantity: 1, item_id: 'item_4', category: CATEGORIES[0], brand: BRANDS[0], price: 58.48,
  }));
  return events;
}

before(async () => {
  t = await createTestDatabase('doc');
  await migrate(t.admin, t.db);
  ch = t.client();
  const now = Date.now();
  const events = seedEvents(now);
  await insertEvents(ch, t.db, events);
  await insertEvents(ch, t.db, events.slice(0, 60)); // a re-delivered batch: duplicates
  const source = { topic: 'clickstream.events', partition: 1 };
  const rejects = [
    makeDlqRecord('late', 'event_time 42 min behind the newest event of user_5', { ...source, offset: '900', timestamp: now - 3_600_000, key: 'user_5',
      value: JSON.stringify({ event_id: 'late1', user_id: 'user_5', event_type: 'view', event_time: now - 3_600_000 - 42 * 60_000 }) }),
    makeDlqRecord('bad_json', 'Unexpected token', { ...source, offset: '901', timestamp: now - 7_200_000, value: '{"event_id": "x",' }),
    makeDlqRecord('schema', 'price: must be >= 0', { ...source, offset: '902', timestamp: now - 86_400_000, value: '{"event_id":"e","user_id":"user_9","event_type":"view","event_time":1,"price":-1}' }),
    makeDlqRecord('bad_encoding', 'not UTF-8', { ...source, offset: '903', timestamp: now - 600_000, value: new Uint8Array([0xff, 0xfe, 0x7b]) }),
  ];
  await insertRows(ch, table(t.db, 'rejected_events'), rejects.map((rec, i) => dlqRecordToRow(rec, { partition: 0, offset: String(i) })));
  const hour = 3_600_000;
  const asOf = Math.floor(now / hour) * hour;
  const features = [];
  for (let u = 1; u <= 5; u++) {
    for (let h = 1; h <= 3; h++) {
      features.push({ entity: 'user', entity_id: `user_${u}`, feature: 'user_views_24h', as_of: asOf - h * hour, as_of_date: new Date(asOf - h * hour).toISOString().slice(0, 10), value: String(u * h), job_id: 'seed', computed_at: now });
      features.push({ entity: 'user', entity_id: `user_${u}`, feature: 'user_last_5_items', as_of: asOf - h * hour, as_of_date: new Date(asOf - h * hour).toISOString().slice(0, 10), value: JSON.stringify(['item_1', 'item_2']), job_id: 'seed', computed_at: now });
    }
  }
  await insertRows(ch, table(t.db, 'feature_values'), features);
  await insertRows(ch, table(t.db, 'labels'), [1, 2, 3].map((u) => ({ dataset: 'demo', entity_id: `user_${u}`, ts: asOf - 90 * 60_000, label: u % 2 })));
});
after(async () => t.drop());

test('the doc has at least 8 example queries', () => {
  assert.ok(BLOCKS.length >= 8, `${BLOCKS.length} sql blocks`);
});

for (const [i, { title, query }] of BLOCKS.entries()) {
  test(`sql block ${i + 1} (${title}) runs and returns rows`, async () => {
    assert.doesNotMatch(query, /;\s*\S/, 'one statement per block');
    const rs = await ch.query({ query: query.replace(/;\s*$/, ''), format: 'JSONEachRow' });
    const rows = await rs.json<Record<string, unknown>>();
    assert.ok(rows.length > 0, `no rows from:\n${query}`);
  });
}

test('every table, view and column the migrations create is described in the doc', async () => {
  const objects = await selectRows<{ name: string; engine: string }>(ch, sql`SELECT name, engine FROM system.tables WHERE database = ${str(t.db)}`);
  const columns = await selectRows<{ table: string; name: string }>(ch, sql`SELECT table, name FROM system.columns WHERE database = ${str(t.db)}`);
  const sections = new Map<string, string>();
  for (const part of DOC.split(/^### /m).slice(1)) sections.set(part.slice(0, part.indexOf('\n')).trim(), part);
  for (const o of objects) {
    const section = sections.get(o.name);
    assert.ok(section !== undefined, `docs/analysts.md has a "### ${o.name}" section`);
    if (o.engine === 'MaterializedView') continue;
    for (const c of columns.filter((x) => x.table === o.name)) {
      assert.ok(section.includes(`| \`${c.name}\` |`), `column ${o.name}.${c.name} is in its section's table`);
    }
  }
});
