import { createTestDatabase } from '../test-support.js';
import { migrate } from '../migrate.js';
import { execute, selectRows } from '../query.js';
import { sql, table, int64, str, type Sql } from '../sql.js';
// eslint-disable-next-line
const ident0 = (text: string): Sql => { const f = sql``; Object.defineProperty(f, 'text', { get: () => text }); return f; };
import { featureQuery } from './query.js';
import { defaultRegistry } from '../../core/features/registry.js';
const N = Number(process.env.N ?? 1_000_000), L = Number(process.env.L ?? 1_000_000), U = 50_000, I = 20_000;
const base = Date.UTC(2024, 0, 1), span = 3 * 86_400_000;
const t = await createTestDatabase('bench');
try {
  await migrate(t.admin, t.db);
  const ch = t.client();
  let t0 = Date.now();
  await execute(ch, sql`INSERT INTO ${table(t.db, 'events')} (event_id, user_id, event_type, event_time, ingest_time, item_id, category, price, price_micros, quantity, source_partition, source_offset, inserted_at)
    SELECT toString(number), concat('u', toString(toUInt32(${int64(U)} * pow(rand(1) / 4294967296, 2)))), arrayElement(['view','view','view','view','click','add_to_cart','purchase'], (rand(2) % 7) + 1),
      ${int64(base)} + intDiv(number * ${int64(span)}, ${int64(N)}) AS et, et, concat('i', toString(toUInt32(${int64(I)} * pow(rand(3) / 4294967296, 2)))), concat('c', toString(rand(4) % 50)),
      (rand(5) % 100000) / 100, (rand(5) % 100000) * 10000, 1 + rand(6) % 3, 0, number, 0 FROM numbers(${int64(N)})`);
  console.log('events inserted', (Date.now() - t0) / 1000);
  await execute(ch, sql`CREATE TABLE ${table(t.db, 'labels_b')} (_lid UInt64, _eid String, _T Int64) ENGINE = Memory`);
  await execute(ch, sql`INSERT INTO ${table(t.db, 'labels_b')} SELECT number, concat('u', toString(toUInt32(${int64(U)} * pow(rand(7) / 4294967296, 2)))), ${int64(base + 86_400_000)} + rand(8) % ${int64(2 * 86_400_000)} FROM numbers(${int64(L)})`);
  const reg = defaultRegistry();
  for (const entity of ['user', 'item'] as const) {
    if (entity === 'item') await execute(ch, sql`INSERT INTO ${table(t.db, 'labels_b')} SELECT number + 10000000, concat('i', toString(toUInt32(${int64(I)} * pow(rand(9) / 4294967296, 2)))), ${int64(base + 86_400_000)} + rand(10) % ${int64(2 * 86_400_000)} FROM numbers(${int64(L)})`);
    const defs = reg.forEntity(entity);
    const q = featureQuery({ db: t.db, entity, defs, lookup: (n) => reg.get(n), labels: sql`SELECT _lid, _eid, _T FROM ${table(t.db, 'labels_b')} WHERE _eid LIKE ${str(entity === 'user' ? 'u%' : 'i%')}`, minT: base + 86_400_000, maxT: base + span, sessions: 'bounded', maxFutureMs: 300000 });
    for (const threads of (process.env.THREADS ?? '2').split(',').filter(Boolean)) {
      t0 = Date.now();
      const r = await selectRows(ch, sql`SELECT count() AS n, sum(_flag) AS flagged FROM (${q})`, { max_threads: threads, max_memory_usage: '12000000000', max_query_size: '67108864', join_use_nulls: 0 } as never);
      console.log(entity, defs.length, 'features', L, 'labels', 'threads', threads, (Date.now() - t0) / 1000, 's', JSON.stringify(r));
    }
  }
} finally { await t.drop(); }
