// Measuring recovery: how long after a fault ended until the consumer groups had committed
// everything produced up to that moment, and until the API answered again. Polls through
// faults (the broker may still be electing leaders), never helps.
import type { Admin, Kafka } from 'kafkajs';
import type { ProbeResult } from './api-prober.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Offsets = Map<number, bigint>;

async function endOffsets(admin: Admin, topic: string): Promise<Offsets> {
  const ends = await admin.fetchTopicOffsets(topic);
  return new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
}

async function committedCovers(admin: Admin, group: string, topic: string, target: Offsets): Promise<boolean> {
  const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  for (const [p, end] of target) if (end > 0n && (byPartition.get(p) ?? -1n) < end) return false;
  return true;
}

/** Records not yet committed by the group (sum over partitions), or undefined when Kafka does not answer. */
export async function groupLag(kafka: Kafka, group: string, topic: string): Promise<number | undefined> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const ends = await endOffsets(admin, topic);
    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    let lag = 0n;
    for (const [p, end] of ends) {
      const c = byPartition.get(p) ?? -1n;
      lag += end - (c < 0n ? 0n : c);
    }
    return Number(lag);
  } catch {
    return undefined;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export interface CatchUpTarget {
  name: string;
  group: string;
  topics: string[];
}

/**
 * Waits until every target group has committed, on each of its topics, the end offsets the
 * topics had when this was called. Returns ms until each one got there (undefined: not
 * within timeoutMs).
 */
export async function waitCaughtUp(kafka: Kafka, targets: readonly CatchUpTarget[], timeoutMs: number): Promise<Record<string, number | undefined>> {
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  const done: Record<string, number | undefined> = Object.fromEntries(targets.map((t) => [t.name, undefined]));
  const snapshot = new Map<string, Offsets>();
  while (Date.now() < deadline && targets.some((t) => done[t.name] === undefined)) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      for (const topic of new Set(targets.flatMap((t) => t.topics))) {
        if (!snapshot.has(topic)) snapshot.set(topic, await endOffsets(admin, topic));
      }
      for (const t of targets) {
        if (done[t.name] !== undefined) continue;
        let all = true;
        for (const topic of t.topics) all &&= await committedCovers(admin, t.group, topic, snapshot.get(topic) as Offsets);
        if (all) done[t.name] = Date.now() - t0;
      }
    } catch {
      // the broker may still be coming back: poll again
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (targets.some((t) => done[t.name] === undefined)) await sleep(250);
  }
  return done;
}

/** ms from `since` until the first successful API answer that started after it. */
export async function waitApiOk(results: () => readonly ProbeResult[], since: number, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const first = results().find((r) => r.at >= since && r.ok);
    if (first !== undefined) return Math.max(0, first.at + first.ms - since);
    if (Date.now() > deadline) return undefined;
    await sleep(100);
  }
}

/**
 * ms from `since` until the API answered for good: the end of the last failed request
 * after `since`, when successful answers followed it (undefined: none did). A store that
 * just came back can fail a request or two after the first success (a reconnect racing a
 * request); those count as part of the outage, not as recovered.
 */
export function apiStableAfter(results: readonly ProbeResult[], since: number): number | undefined {
  let lastBadEnd: number | undefined;
  let lastOkStart = -Infinity;
  let firstOkEnd: number | undefined;
  for (const r of results) {
    if (r.at < since) continue;
    if (r.ok) {
      lastOkStart = Math.max(lastOkStart, r.at);
      firstOkEnd ??= r.at + r.ms;
    } else lastBadEnd = Math.max(lastBadEnd ?? -Infinity, r.at + r.ms);
  }
  if (lastBadEnd === undefined) return firstOkEnd === undefined ? undefined : Math.max(0, firstOkEnd - since);
  return lastOkStart >= lastBadEnd ? Math.max(0, lastBadEnd - since) : undefined;
}
