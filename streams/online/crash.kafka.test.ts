// Crash safety of the online worker: `tessera run --online` processes are killed with
// SIGKILL at random moments and restarted; afterwards Redis must equal the reference
// exactly (nothing lost, nothing counted twice). Then the same with three workers in one
// group on six partitions, one of them killed mid-run.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, test } from 'node:test';
import { PROJECT_ROOT, type Config } from '../../config/config.js';
import { createRegistry } from '../../core/features/registry.js';
import { decodeDlqRecord } from '../../core/event.js';
import { referenceAccept } from '../../core/reference.js';
import { Rng } from '../../fixtures/random.js';
import { checkProbes, randomProbes } from '../../store/probe-support.js';
import { FeatureReader } from '../../store/reader.js';
import { createRedis } from '../../store/redis-client.js';
import { createKafka } from '../kafka-client.js';
import { decodeAll, removePrivate, privateConfig, produceGenerated, readTopic, waitForGroup } from '../test-support.js';

const COUNT = Number(process.env.TESSERA_TEST_CRASH_EVENTS ?? 200_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spawnWorker(config: Config, prefix: string, group: string): ChildProcess {
  const env = {
    ...process.env,
    TESSERA_TOPIC_EVENTS: config.topics.events, TESSERA_TOPIC_DLQ: config.topics.dlq,
    TESSERA_REDIS_PREFIX: prefix, TESSERA_METRICS_PORT: '0', TESSERA_LOG_LEVEL: 'warn',
  };
  return spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'run', '--online', '--group', group], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function stopGracefully(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

async function verify(config: Config, prefix: string, tag: string): Promise<void> {
  const kafka = createKafka(config, 'test');
  const registry = createRegistry({ latenessMs: config.events.allowedLatenessMs });
  const input = await readTopic(kafka, config.topics.events);
  const accepted = referenceAccept(decodeAll(input, config), config.events.allowedLatenessMs);
  const dlq = (await readTopic(kafka, config.topics.dlq)).map((r) => decodeDlqRecord(r.value));
  const unique = new Set(dlq.map((r) => `${r?.source_partition}:${r?.source_offset}`));
  assert.equal(unique.size, input.length - accepted.length, 'every rejected record is in the DLQ (deduplicated by source offset)');
  const redis = createRedis(config);
  try {
    const reader = new FeatureReader(redis, prefix, registry);
    const report = await checkProbes(reader, registry, accepted, randomProbes(registry, accepted, 2_000, tag));
    console.log(`${tag}: ${input.length} records, ${accepted.length} accepted, DLQ ${dlq.length} messages / ${unique.size} records; probes exact ${report.exact} (non-trivial ${report.nonTrivial}), inexact ${report.inexact}`);
    assert.ok(report.exact >= 500);
    assert.ok(report.nonTrivial >= 200);
  } finally {
    redis.disconnect();
  }
}

async function setup(tag: string): Promise<{ config: Config; prefix: string }> {
  const { config, prefix } = await privateConfig(tag);
  after(() => removePrivate(config, prefix));
  const spanMs = 8 * 3600_000;
  await produceGenerated(config, {
    seed: tag, startMs: Date.now() - spanMs - 60_000, rate: COUNT / (spanMs / 1000), count: COUNT,
    users: 5_000, items: 2_000, late: 0.01, duplicates: 0.01, malformed: 0.01, outOfOrder: 0.05, outOfOrderMaxMs: 60_000,
    allowedLatenessMs: config.events.allowedLatenessMs,
  });
  return { config, prefix };
}

test(`kill -9 of the online worker at 10 random moments, ${COUNT} events: equal to the reference`, { timeout: 900_000 }, async () => {
  const { config, prefix } = await setup('crash-one');
  const group = `test-crash-${prefix}`;
  const rng = new Rng('kill-moments');
  for (let k = 0; k < 10; k++) {
    const child = spawnWorker(config, prefix, group);
    await sleep(2_500 + Math.floor(rng.next() * 4_000));
    await kill9(child);
  }
  const last = spawnWorker(config, prefix, group);
  await waitForGroup(createKafka(config, 'test'), group, config.topics.events, 600_000);
  assert.equal(await stopGracefully(last), 0);
  await verify(config, prefix, 'crash-one');
});

test(`three workers in one group on six partitions, one killed mid-run, ${COUNT} events: equal to the reference`, { timeout: 900_000 }, async () => {
  const { config, prefix } = await setup('crash-three');
  const group = `test-crash3-${prefix}`;
  const workers = [spawnWorker(config, prefix, group), spawnWorker(config, prefix, group), spawnWorker(config, prefix, group)];
  await sleep(6_000);
  await kill9(workers[1] as ChildProcess);
  await waitForGroup(createKafka(config, 'test'), group, config.topics.events, 600_000);
  for (const w of [workers[0], workers[2]]) assert.equal(await stopGracefully(w as ChildProcess), 0);
  await verify(config, prefix, 'crash-three');
});
