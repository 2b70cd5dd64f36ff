// One soak sample: what every curve of the run is made of. Process memory is the RSS of
// each child (/proc); Redis memory is the instance's used_memory (INFO memory, shared with
// anything else on that Redis) and the namespace's own: its keys counted by kind and their
// MEMORY USAGE summed (SAMPLES 0: exact, not estimated from a few fields), which nothing
// outside the run moves.
import type { Admin } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { ProcessGroup, Role } from './processes.js';
import { ROLES } from './processes.js';

export interface SoakSample {
  /** wall clock, epoch ms */
  at: number;
  elapsedS: number;
  /** event time of the stream head */
  eventTime: number;
  /** records acknowledged by the broker so far */
  sent: number;
  /** records per wall second since the previous sample */
  rate: number;
  /** RSS bytes by role; NaN when the process is not running */
  rss: Record<Role, number>;
  redisUsedMemory: number;
  /** sum of MEMORY USAGE over the namespace's keys */
  redisNamespaceBytes: number;
  redisKeys: { tiles: number; bull: number; other: number };
  lag: { online: number; offline: number };
  apiRequests: number;
  apiErrors: number;
}

export interface SamplerSources {
  processes: ProcessGroup;
  redis: Redis;
  admin: Admin;
  prefix: string;
  topic: string;
  groups: { online: string; offline: string };
  sent: () => number;
  eventNow: () => number;
  api: () => { requests: number; errors: number };
  startedAt: number;
}

async function groupLag(admin: Admin, topic: string, groupId: string): Promise<number> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  return ends.reduce((sum, p) => sum + Math.max(0, Number(p.high) - Math.max(0, done.get(p.partition) ?? 0)), 0);
}

/** Keys under `<prefix>:` by kind and their summed MEMORY USAGE, in SCAN pages. */
export async function namespaceMemory(redis: Redis, prefix: string): Promise<{ bytes: number; tiles: number; bull: number; other: number }> {
  const out = { bytes: 0, tiles: 0, bull: 0, other: 0 };
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipe = redis.pipeline();
    for (const k of keys) pipe.memory('USAGE', k, 'SAMPLES', '0');
    const res = (await pipe.exec()) ?? [];
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      out.bytes += Number(res[i]?.[1] ?? 0);
      if (k.startsWith(`${prefix}:t`)) out.tiles += 1;
      else if (k.startsWith(`${prefix}:bull:`)) out.bull += 1;
      else out.other += 1;
    }
  } while (cursor !== '0');
  return out;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
}

export function createSampler(s: SamplerSources): () => Promise<SoakSample> {
  let last = { at: s.startedAt, sent: 0 };
  return async () => {
    const at = Date.now();
    const sent = s.sent();
    const rss = Object.fromEntries(ROLES.map((r) => [r, s.processes.byRole.get(r)?.rssBytes() ?? NaN])) as Record<Role, number>;
    const [used, ns, online, offline] = await Promise.all([
      usedMemory(s.redis), namespaceMemory(s.redis, s.prefix),
      groupLag(s.admin, s.topic, s.groups.online), groupLag(s.admin, s.topic, s.groups.offline),
    ]);
    const rate = at > last.at ? Math.round(((sent - last.sent) * 1000) / (at - last.at)) : 0;
    last = { at, sent };
    const api = s.api();
    return {
      at, elapsedS: Math.round((at - s.startedAt) / 1000), eventTime: s.eventNow(), sent, rate, rss,
      redisUsedMemory: used, redisNamespaceBytes: ns.bytes, redisKeys: { tiles: ns.tiles, bull: ns.bull, other: ns.other },
      lag: { online, offline }, apiRequests: api.requests, apiErrors: api.errors,
    };
  };
}
