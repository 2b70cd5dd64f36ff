import { decodeEvent, type ClickEvent } from '../../core/event.js';
import { createRegistry } from '../../core/features/registry.js';
import { referenceAccept, referenceValue } from '../../core/reference.js';
import { generateClickstream } from '../../fixtures/generator.js';
import { migrate } from '../migrate.js';
import { createTestDatabase, insertEvents } from '../test-support.js';
import { offlineFeaturesAt } from './offline-features.js';
import { TEST_FEATURES } from './test-fixtures.js';
const LATENESS = 600000;
const t = await createTestDatabase('dbg');
try {
  await migrate(t.admin, t.db);
  const ch = t.client();
  const registry = createRegistry({ features: TEST_FEATURES, latenessMs: LATENESS });
  const decoded: ClickEvent[] = [];
  for (const r of generateClickstream({ seed: 'offline-features', startMs: Date.UTC(2024, 2, 4), rate: 0.12, durationS: 3 * 86_400, users: 120, items: 300, late: 0.03, duplicates: 0.04, malformed: 0.02, outOfOrder: 0.1, allowedLatenessMs: LATENESS })) {
    const res = decodeEvent(r.value, r.clockMs + Math.floor(r.clockMs % 7_000)); if (res.ok) decoded.push(res.event);
  }
  const accepted = referenceAccept(decoded, LATENESS);
  await insertEvents(ch, t.db, accepted);
  const T = 1709727229207;
  const mine = accepted.filter((e) => e.user_id === 'u1');
  console.log('ref', referenceValue(registry.features, mine, 'user', 'u1', 'user_views_1h', T));
  for (const other of [T - 86400000, T - 3600000, T-7*86400000, T - 8 * 86400000, T + 86400000, T + 7 * 86400000]) {
    const r = await offlineFeaturesAt(ch, t.db, 'user', [{ id: 'u1', T }, { id: 'u2', T: other }], ['user_views_1h'], { registry });
    console.log(other - T, r[0]?.values);
  }
} finally { if (!process.env.KEEP) await t.drop(); else console.log(t.db); }
