// Test support for the jobs: one generated stream pushed through the real pipeline (online
// worker -> Redis tiles, offline sink -> ClickHouse), the reference's accepted events, and
// small helpers to wipe tiles, read probes and wait for a job.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CODEC_VERSION } from '../../core/codec.js';
import type { ClickEvent } from '../../core/event.js';
import type { FeatureValue } from '../../core/features/definition.js';
import { createRegistry, type Registry } from '../../core/features/registry.js';
import { referenceAccept } from '../../core/reference.js';
import type { Probe } from '../../store/probe-support.js';
import type { FeatureReader } from '../../store/reader.js';
import { runWorkerToEnd } from '../../streams/online/test-support.js';
import { decodeAll, produceGenerated, readTopic, waitForGroup } from '../../streams/test-support.js';
import { startOfflineSink } from '../sink/sink.js';
import { sinkTestEnv, type SinkTestEnv } from '../sink/test-support.js';
import type { JobData, JobKind } from './queue.js';

export interface PipelineEnv extends SinkTestEnv {
  registry: Registry;
  accepted: ClickEvent[];
}

/** A generated stream with late, duplicate, malformed and out-of-order events, through both paths. */
export async function pipelineEnv(tag: string, count: number, opts: { rate?: number; users?: number; items?: number } = {}): Promise<PipelineEnv> {
  const env = await sinkTestEnv(tag);
  await produceGenerated(env.config, {
    seed: tag, startMs: Date.UTC(2024, 4, 1, 8), rate: opts.rate ?? 1, count, users: opts.users ?? 200, items: opts.items ?? 300,
    late: 0.01, duplicates: 0.02, malformed: 0.01, outOfOrder: 0.1,
  });
  const sink = await startOfflineSink({ config: env.config, database: env.t.db, prefix: env.prefix, groupId: env.groupId, limits: { flushMs: 500 } });
  await runWorkerToEnd(env.config, env.prefix, `${env.groupId}-online`);
  await waitForGroup(env.kafka, env.groupId, env.config.topics.events, 300_000);
  await sink.stop();
  const accepted = referenceAccept(decodeAll(await readTopic(env.kafka, env.config.topics.events), env.config), env.config.events.allowedLatenessMs);
  return { ...env, registry: createRegistry({ latenessMs: env.config.events.allowedLatenessMs }), accepted };
}

/** Deletes every tile key of the prefix (tiles, indexes, entity meta), nothing else. */
export async function wipeTiles(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:t${CODEC_VERSION}:*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) n += await redis.unlink(...keys);
  } while (cursor !== '0');
  return n;
}

export interface ProbeValue { exact: boolean; value: FeatureValue }

export async function readProbes(reader: FeatureReader, probes: readonly Probe[], wallNow: number): Promise<ProbeValue[]> {
  const out: ProbeValue[] = [];
  for (const p of probes) {
    const [r] = await reader.read(p.entity, [p.id], [p.name], p.T, wallNow);
    const exact = r !== undefined && !r.inexact.includes(p.name);
    out.push({ exact, value: exact ? (r?.values[p.name] ?? null) : null });
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls a job until `until` says stop (default: completed or failed); returns its last state. */
export async function waitForJob(queue: Queue<JobData, unknown, JobKind>, id: string, timeoutMs: number,
  until: (state: string, progress: unknown) => boolean = (s) => s === 'completed' || s === 'failed'): Promise<{ state: string; progress: unknown; result: unknown; failedReason: string | undefined }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await queue.getJob(id);
    if (job) {
      const state = await job.getState();
      if (until(state, job.progress)) {
        // Read the job again: it may have finished between the read and getState.
        const last = (await queue.getJob(id)) ?? job;
        return { state, progress: last.progress, result: last.returnvalue, failedReason: last.failedReason };
      }
    }
    if (Date.now() > deadline) throw new Error(`job ${id} did not reach the wanted state in ${timeoutMs} ms`);
    await sleep(100);
  }
}
