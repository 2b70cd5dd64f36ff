// Redis memory per active user and per active item for the default catalog, and proof that
// it stays flat: a stream of constant users and items runs for 10 days of event time (past
// the 7-day + lateness retention horizon) and memory is sampled per day of event time.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Redis } from 'ioredis';
import { DAY } from '../core/windows.js';
import { startOnlineWorker } from '../streams/online/worker.js';
import { createKafka } from '../streams/kafka-client.js';
import { privateConfig, removePrivate, produceGenerated, waitForGroup } from '../streams/test-support.js';
import { createRedis } from './redis-client.js';

const USERS = 300;
const ITEMS = 200;
const DAYS = 10;
const PER_DAY = 12_000;

async function usage(redis: Redis, prefix: string): Promise<{ user: number; item: number; users: number; items: number }> {
  const out = { user: 0, item: 0, users: 0, items: 0 };
  const users = new Set<string>();
  const items = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
    cursor = next;
    const pipe = redis.pipeline();
    for (const k of keys) pipe.memory('USAGE', k, 'SAMPLES', '0');
    const res = (await pipe.exec()) ?? [];
    keys.forEach((k, i) => {
      const bytes = Number(res[i]?.[1] ?? 0);
      const tag = /\{([ui]):([^}]*)\}/.exec(k);
      if (tag?.[1] === 'u') { out.user += bytes; users.add(tag[2] ?? ''); }
      if (tag?.[1] === 'i') { out.item += bytes; items.add(tag[2] ?? ''); }
    });
  } while (cursor !== '0');
  return { ...out, users: users.size, items: items.size };
}

test(`Redis memory per user and item stays flat past the retention horizon (${DAYS} days of event time)`, { timeout: 900_000 }, async () => {
  // One partition: the event-time clock of the worker is then the clock of the whole stream.
  const { config, prefix } = await privateConfig('memory', 1);
  const redis = createRedis(config);
  after(async () => {
    redis.disconnect();
    await removePrivate(config, prefix);
  });
  const start = Date.now() - DAYS * DAY - 3_600_000;
  const groupId = `test-memory-${prefix}`;
  const worker = await startOnlineWorker({ config, prefix, groupId, concurrency: 1 });
  const kafka = createKafka(config, 'test');

  // One day of event time at a time, each consumed completely before memory is sampled, so
  // every sample is taken at a known clock (the worker outran a sampler polling its clock).
  const samples: Array<{ day: number; perUser: number; perItem: number; users: number; items: number }> = [];
  for (let day = 1; day <= DAYS; day++) {
    await produceGenerated(config, {
      seed: `memory-${day}`, startMs: start + (day - 1) * DAY, rate: PER_DAY / 86_400, count: PER_DAY, users: USERS, items: ITEMS,
      userZipf: 0.3, itemZipf: 0.8, late: 0, duplicates: 0, malformed: 0, allowedLatenessMs: config.events.allowedLatenessMs,
    });
    await waitForGroup(kafka, groupId, config.topics.events, 300_000);
    if (day === DAYS) break; // the final sample below, after the worker stopped
    const u = await usage(redis, prefix);
    samples.push({ day, perUser: Math.round(u.user / Math.max(1, u.users)), perItem: Math.round(u.item / Math.max(1, u.items)), users: u.users, items: u.items });
  }
  await worker.stop();
  const final = await usage(redis, prefix);
  // Where a user's bytes go, by key kind (tile size or meta), for the documentation.
  const breakdown: Record<string, number> = {};
  for (const key of await redis.keys(`${prefix}:*{u:*`)) {
    const kind = key.slice(key.indexOf('}') + 2);
    breakdown[kind] = (breakdown[kind] ?? 0) + Number(await redis.memory('USAGE', key, 'SAMPLES', '0'));
  }
  console.log(`bytes per user by key: ${Object.entries(breakdown).map(([k, v]) => `${k} ${Math.round(v / final.users)}`).join(', ')}`);
  samples.push({ day: DAYS, perUser: Math.round(final.user / final.users), perItem: Math.round(final.item / final.items), users: final.users, items: final.items });
  console.log('day  users  items  bytes/user  bytes/item  total KiB');
  for (const s of samples) console.log(`${String(s.day).padStart(3)}  ${String(s.users).padStart(5)}  ${String(s.items).padStart(5)}  ${String(s.perUser).padStart(10)}  ${String(s.perItem).padStart(10)}  ${Math.round((s.perUser * s.users + s.perItem * s.items) / 1024)}`);

  const total = (s: (typeof samples)[number]) => s.perUser * s.users + s.perItem * s.items;
  const past = samples.filter((s) => s.day >= 8);
  assert.ok(past.length >= 2, `only ${past.length} samples past the horizon`);
  const lo = Math.min(...past.map(total));
  const hi = Math.max(...past.map(total));
  assert.ok(hi <= lo * 1.15, `memory past the retention horizon is not flat: ${lo} .. ${hi} bytes`);
  const early = samples.find((s) => s.day === 2);
  if (early) assert.ok(total(early) < lo, 'memory should grow during the first days (tiles accumulate up to the horizon)');
});
