// The real REES46 sample, imported through Kafka and the online worker: for EVERY user and
// item it contains, every catalog feature read from Redis equals the reference evaluator,
// at several T (hour boundaries inside the data, just after the last event, and later).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { PROJECT_ROOT } from '../../config/config.js';
import type { ClickEvent } from '../../core/event.js';
import { createRegistry } from '../../core/features/registry.js';
import { referenceAccept, referenceValue } from '../../core/reference.js';
import { floorTo, HOUR } from '../../core/windows.js';
import { importFile } from '../../fixtures/importers/import.js';
import { FeatureReader } from '../../store/reader.js';
import { createRedis } from '../../store/redis-client.js';
import { createKafka } from '../kafka-client.js';
import { openEventProducer } from '../producer.js';
import { decodeAll, removePrivate, privateConfig, readTopic } from '../test-support.js';
import { runWorkerToEnd } from './test-support.js';

const REES46 = path.resolve(PROJECT_ROOT, '../shared/datasets/rees46/2019-Oct-head.csv');

test('REES46 sample: every user and item, every feature, several T: Redis equals the reference', { timeout: 600_000 }, async () => {
  const { config, prefix } = await privateConfig('rees46');
  const redis = createRedis(config);
  after(async () => {
    redis.disconnect();
    await removePrivate(config, prefix);
  });
  const producer = await openEventProducer(config, { role: 'rees46-test' });
  const result = await importFile({ file: REES46, format: 'rees46', sink: { push: (e) => producer.push(e) } });
  await producer.close();
  assert.equal(result.rejectedTotal, 1);

  await runWorkerToEnd(config, prefix, `test-rees46-${prefix}`);
  const kafka = createKafka(config, 'test');
  const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
  const accepted = referenceAccept(decodeAll(await readTopic(kafka, config.topics.events), config), config.events.allowedLatenessMs);
  let first = Infinity;
  let last = -Infinity;
  for (const e of accepted) {
    first = Math.min(first, e.event_time);
    last = Math.max(last, e.event_time);
  }
  // Redis answers exactly from the stream's head onwards: earlier T either cut a 1-hour tile
  // of the 7-day features or need 1-hour-window tiles already evicted by event time; those
  // are ClickHouse's (offline/ tests cover the sample there).
  const times = [last + 1, last + 20 * 60_000, floorTo(last, HOUR) + 6 * HOUR, last + 3 * 24 * HOUR];
  assert.ok(last - first > 2 * HOUR);
  const reader = new FeatureReader(redis, prefix, registry);
  let compared = 0;
  for (const entity of ['user', 'item'] as const) {
    const byId = new Map<string, ClickEvent[]>();
    for (const e of accepted) {
      const id = entity === 'user' ? e.user_id : e.item_id;
      if (id !== undefined) (byId.get(id) ?? byId.set(id, []).get(id))?.push(e);
    }
    const ids = [...byId.keys()];
    const names = registry.forEntity(entity).map((d) => d.name);
    for (const T of times) {
      // Wall clock = T: the data is from 2019, and these T are the "now" of that stream.
      for (let i = 0; i < ids.length; i += 500) {
        const readings = await reader.read(entity, ids.slice(i, i + 500), names, T, T);
        for (const r of readings) {
          assert.deepEqual(r.inexact, [], `${entity} ${r.id} at ${new Date(T).toISOString()}: Redis could not answer ${r.inexact.join(', ')}`);
          for (const name of names) {
            const expected = referenceValue(registry.features, byId.get(r.id) ?? [], entity, r.id, name, T);
            assert.deepEqual(r.values[name], expected, `${entity} ${r.id} ${name} at ${new Date(T).toISOString()}`);
            compared += 1;
          }
        }
      }
    }
    console.log(`${entity}s: ${ids.length} ids x ${names.length} features x ${times.length} T`);
  }
  console.log(`REES46: ${accepted.length} accepted events, ${compared} values equal to the reference`);
});
