// Backpressure: while Redis is hung (SIGSTOP) and then down (stopped and restarted with its
// AOF), the online worker retries its batch with heartbeats, commits nothing, keeps memory
// bounded, and afterwards finishes with state equal to the reference: nothing lost.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../config/config.js';
import { createRegistry } from '../../core/features/registry.js';
import { referenceAccept } from '../../core/reference.js';
import { checkProbes, randomProbes } from '../../store/probe-support.js';
import { FeatureReader } from '../../store/reader.js';
import { createRedis, pingRedis } from '../../store/redis-client.js';
import { createKafka } from '../kafka-client.js';
import { decodeAll, deleteTopics, privateConfig, produceGenerated, readTopic, waitForGroup } from '../test-support.js';
import { startOnlineWorker } from './worker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// A throwaway Redis of this test only (17000-17999: clear of every port the stack uses).
const PORT = 17000 + (process.pid % 1000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-redis-'));

function startRedis(): ChildProcess {
  return spawn('redis-server', ['--port', String(PORT), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
}

async function waitRedis(up: boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await pingRedis(`redis://127.0.0.1:${PORT}`)) === up) return;
    await sleep(100);
  }
  throw new Error(`redis on ${PORT} did not become ${up ? 'ready' : 'unreachable'}`);
}

test('Redis hung, then down and restarted: the worker waits, retries, loses nothing', { timeout: 600_000 }, async () => {
  let redisProcess = startRedis();
  after(() => {
    redisProcess.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitRedis(true);
  const priv = await privateConfig('backpressure');
  const config = loadConfig({ ...process.env, TESSERA_TOPIC_EVENTS: priv.config.topics.events, TESSERA_TOPIC_DLQ: priv.config.topics.dlq, TESSERA_REDIS_URL: `redis://127.0.0.1:${PORT}`, TESSERA_METRICS_PORT: '0' });
  after(() => deleteTopics(config));
  const prefix = priv.prefix;
  const spanMs = 4 * 3600_000;
  const produce = (seed: string, count: number) => produceGenerated(config, {
    seed, startMs: Date.now() - spanMs, rate: count / (spanMs / 1000), count, users: 800, items: 400,
    late: 0.01, duplicates: 0.01, malformed: 0.01, allowedLatenessMs: config.events.allowedLatenessMs,
  });
  await produce('bp-1', 20_000);
  const groupId = `test-bp-${prefix}`;
  let processed = 0;
  const worker = await startOnlineWorker({ config, prefix, groupId, redisCommandTimeoutMs: 3_000, onBatch: (_p, o) => { processed += o.records; } });
  const kafka = createKafka(config, 'test');
  const heapBefore = process.memoryUsage().heapUsed;
  try {
    while (processed === 0) await sleep(100);

    // Hung Redis: commands time out, batches are retried, nothing is committed meanwhile.
    redisProcess.kill('SIGSTOP');
    await produce('bp-2', 20_000);
    const retriesBefore = (await worker.metrics.retries.get()).values[0]?.value ?? 0;
    const processedWhileHung = processed;
    await sleep(12_000);
    const retriesHung = (await worker.metrics.retries.get()).values[0]?.value ?? 0;
    assert.ok(retriesHung > retriesBefore, 'batches were retried while Redis was hung');
    assert.ok(processed - processedWhileHung <= 30_000, 'no progress claimed while Redis was hung');
    redisProcess.kill('SIGCONT');

    // Down: Redis stops (AOF flushed) and comes back on the same data after a few seconds.
    redisProcess.kill('SIGTERM');
    await waitRedis(false);
    await produce('bp-3', 10_000);
    await sleep(4_000);
    redisProcess = startRedis();
    await waitRedis(true);

    await waitForGroup(kafka, groupId, config.topics.events, 300_000);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    console.log(`retries ${(await worker.metrics.retries.get()).values[0]?.value}, heap growth ${Math.round(heapGrowth / 2 ** 20)} MiB`);
    assert.ok(heapGrowth < 300 * 2 ** 20, 'memory stayed bounded');
  } finally {
    await worker.stop();
  }

  const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
  const accepted = referenceAccept(decodeAll(await readTopic(kafka, config.topics.events), config), config.events.allowedLatenessMs);
  const redis = createRedis(config);
  try {
    const report = await checkProbes(new FeatureReader(redis, prefix, registry), registry, accepted, randomProbes(registry, accepted, 1_500, 'bp'));
    console.log(`probes exact ${report.exact} (non-trivial ${report.nonTrivial}), inexact ${report.inexact}`);
    assert.ok(report.exact >= 500);
  } finally {
    redis.disconnect();
  }
});
