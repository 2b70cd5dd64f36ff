// Real data: every user and every item of the REES46 sample (17,434 events of 2019-10-01),
// every feature at several T (inside the data, on tile boundaries, after it, past the
// session gap and the windows), offline SQL == reference, exactly.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import type { ClickEvent } from '../../core/event.js';
import { createRegistry, type Registry } from '../../core/features/registry.js';
import { referenceAccept } from '../../core/reference.js';
import { HOUR, MINUTE } from '../../core/windows.js';
import { importFile } from '../../fixtures/importers/import.js';
import { migrate } from '../migrate.js';
import { createTestDatabase, insertEvents, type TestDatabase } from '../test-support.js';
import { offlineFeaturesAt, type LabelPair } from './offline-features.js';
import { assertMatchesReference, byEntity, TEST_FEATURES, type CompareStats } from './test-fixtures.js';

const REES46 = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/datasets/rees46/2019-Oct-head.csv');
const LATENESS = 10 * MINUTE;
let t: TestDatabase;
let ch: ClickHouseClient;
let accepted: ClickEvent[];
let registry: Registry;

before(async () => {
  t = await createTestDatabase('rees');
  await migrate(t.admin, t.db);
  ch = t.client();
  registry = createRegistry({ features: TEST_FEATURES, latenessMs: LATENESS });
  const events: ClickEvent[] = [];
  await importFile({ file: REES46, format: 'rees46', sink: { push: async (e) => { events.push(e); } } });
  accepted = referenceAccept(events, LATENESS);
  await insertEvents(ch, t.db, accepted);
});
after(async () => t.drop());

test('REES46: every user and item at several T equals the reference', { timeout: 600_000 }, async () => {
  const times = accepted.map((e) => e.event_time);
  const lo = Math.min(...times);
  const hi = Math.max(...times);
  const Ts = [lo + MINUTE, Math.floor((lo + hi) / 2 / MINUTE) * MINUTE, Math.floor((lo + hi) / 2), hi, hi + 1, hi + 30 * MINUTE, hi + HOUR + 1];
  const events = byEntity(accepted);
  const stats: CompareStats = { probes: 0, nonEmpty: {} };
  for (const entity of ['user', 'item'] as const) {
    const ids = [...events[entity].keys()];
    const names = registry.forEntity(entity).map((d) => d.name);
    const pairs: LabelPair[] = Ts.flatMap((T) => ids.map((id) => ({ id, T })));
    const rows = await offlineFeaturesAt(ch, t.db, entity, pairs, names, { registry });
    assertMatchesReference(rows, entity, registry.features, events, names, stats);
    console.log(`REES46 ${entity}s: ${ids.length} ids x ${Ts.length} T = ${rows.length} rows`);
  }
  console.log(`REES46: ${accepted.length} events, ${stats.probes} probes, non-empty: ${JSON.stringify(stats.nonEmpty)}`);
  assert.ok(stats.probes > 100_000);
});
