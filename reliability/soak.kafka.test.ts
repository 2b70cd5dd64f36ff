// The soak in short (2 minutes, a modest rate): the whole `tessera soak` path runs, and
// what can be asserted without timing thresholds is: a sample of every process every time,
// the CSV and PNG written and readable, the run's Redis keys bounded by its entity
// population, process memory not growing without bound (a generous criterion), and the
// namespace removed afterwards. Flatness itself needs the long run (docs/soak/).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createRegistry } from '../core/features/registry.js';
import { loadConfig } from '../config/config.js';
import { createRedis } from '../store/redis-client.js';
import { ROLES } from './processes.js';
import { csvToSamples } from './soak-csv.js';
import { runSoak } from './soak.js';

const MINUTES = 2;
const EVERY_S = 5;
const USERS = 300;
const ITEMS = 200;
const GiB = 1024 ** 3;

test(`a ${MINUTES}-minute soak samples every process, writes CSV and PNG, keeps Redis keys bounded and cleans up`, { timeout: 600_000 }, async () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-soak-'));
  const r = await runSoak(
    { minutes: MINUTES, rate: 300, users: USERS, items: ITEMS, everyS: EVERY_S, readsPerS: 2, outDir, keep: false, seed: 'soak-test' },
    { log: (m) => console.log(`  ${m.split('\n')[0]}`) },
  );

  // A sample every EVERY_S seconds (fewer if the machine stalled), each with the memory of
  // all four processes, none restarted.
  assert.ok(r.samples.length >= 9 && r.samples.length <= (MINUTES * 60) / EVERY_S, `${r.samples.length} samples`);
  assert.deepEqual(r.unexpectedExits, []);
  for (const s of r.samples) {
    for (const role of ROLES) assert.ok(s.rss[role] > 0, `no RSS for ${role} at ${s.elapsedS} s`);
    assert.ok(s.redisUsedMemory > 0 && Number.isFinite(s.lag.online) && Number.isFinite(s.lag.offline));
  }
  assert.ok(r.stream.sent > 0 && r.samples.at(-1)!.sent > r.samples[0]!.sent, 'the stream flowed');
  assert.ok(r.reads.requests > 0 && Object.values(r.reads.bySource).reduce((a, b) => a + b, 0) > 0, 'the API answered reads');
  assert.ok(r.clock.timeScale > 1 && r.clock.horizonReachedAfterMs < MINUTES * 60_000, 'event time covered the tile horizon');

  // CSV and PNG.
  const back = csvToSamples(fs.readFileSync(r.files.csv, 'utf8'));
  assert.equal(back.length, r.samples.length);
  assert.equal(back.at(-1)?.rss.online, Math.round(r.samples.at(-1)!.rss.online));
  const png = fs.readFileSync(r.files.png);
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  assert.ok(png.length > 10_000);
  assert.equal(JSON.parse(fs.readFileSync(r.files.json, 'utf8')).sampleCount, r.samples.length);

  // Redis keys: per entity one tile hash and one index per tile size and a meta hash (users
  // also one offline acceptance hash); BullMQ's queue keys besides. Never more, however long it runs.
  const registry = createRegistry();
  const perUser = 2 * registry.tileSizes('user').length + 1;
  const perItem = 2 * registry.tileSizes('item').length + 1;
  for (const s of r.samples) {
    assert.ok(s.redisKeys.tiles <= USERS * perUser + ITEMS * perItem, `${s.redisKeys.tiles} tile keys at ${s.elapsedS} s`);
    assert.ok(s.redisKeys.other <= USERS, `${s.redisKeys.other} other keys at ${s.elapsedS} s`);
    assert.ok(s.redisKeys.bull <= 100, `${s.redisKeys.bull} BullMQ keys at ${s.elapsedS} s`);
  }

  // Process memory, generously: under 2 GiB, and the last third's peak at most twice the middle third's.
  const third = Math.floor(r.samples.length / 3);
  for (const role of ROLES) {
    const rss = r.samples.map((s) => s.rss[role]);
    assert.ok(Math.max(...rss) < 2 * GiB, `${role} RSS ${Math.max(...rss)}`);
    const middle = Math.max(...rss.slice(third, 2 * third));
    const last = Math.max(...rss.slice(2 * third));
    assert.ok(last <= 2 * middle, `${role} RSS grew from ${middle} to ${last}`);
  }

  // The namespace is gone.
  const redis = createRedis(loadConfig());
  try {
    const [, left] = await redis.scan('0', 'MATCH', `${r.namespace}:*`, 'COUNT', 100_000);
    assert.deepEqual(left, []);
  } finally {
    redis.disconnect();
    fs.rmSync(outDir, { recursive: true, force: true });
  }
});
