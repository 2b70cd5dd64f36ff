// Load generation for the benchmarks: open loop at a fixed rate (latency from the SCHEDULED
// send time, so a stall is charged to every request it delays: no coordinated omission;
// the send times are kept by a worker thread, ticker.ts, not by Node's millisecond timers),
// closed loop at saturation, and one-at-a-time runs with their CPU cost. Bounded in time
// and in requests in flight.
import fs from 'node:fs';
import { round, sleep, summarize } from './support.js';
import { childPids } from '../stack/process.js';
import { clockMs, tick } from './ticker.js';

/** Sends one request; resolves null when it succeeded, else an error code. */
export type Send<R> = (req: R) => Promise<string | null>;

export const MAX_IN_FLIGHT = 128;
const DRAIN_MS = 3_000;
const SETTLE_MS = 30_000;
/** USER_HZ of /proc/<pid>/stat (100 on Linux) */
const CLOCK_TICKS = 100;

export interface Samples {
  latency: number[];
  service: number[];
  lag: number[];
  issued: number;
  completed: number;
  errors: number;
  errorCodes: Record<string, number>;
  dropped: number;
  seconds: number;
}

/** Counts a request's error code (null: it succeeded). */
export function failed(s: Samples, code: string | null): void {
  if (code === null) return;
  s.errors += 1;
  s.errorCodes[code] = (s.errorCodes[code] ?? 0) + 1;
}

export const newSamples = (seconds: number): Samples => ({ latency: [], service: [], lag: [], issued: 0, completed: 0, errors: 0, errorCodes: {}, dropped: 0, seconds });

/**
 * Open loop at `rate`: request k is due at t0 + k/rate and its latency is measured from
 * that time. A request due while MAX_IN_FLIGHT are outstanding is dropped (counted: the
 * target did not keep up); requests still unanswered DRAIN_MS after the schedule ends
 * count with their latency so far. Returns only when nothing is in flight any more (at
 * most SETTLE_MS later), so one run never spills into the next.
 */
export async function fixedRate<R>(send: Send<R>, reqs: readonly R[], rate: number, seconds: number): Promise<Samples> {
  const total = Math.round(rate * seconds);
  const s = newSamples(seconds);
  const pending = new Map<number, number>(); // k -> scheduled time
  let counting = true;
  // Times on the ticker's clock (clockMs): the worker thread wakes this thread when sends are due.
  let t0 = clockMs();
  const due = (k: number): number => t0 + (k * 1000) / rate;
  let k = 0;
  const issue = (n: number): void => {
    while (k < n) {
      const id = k;
      const scheduled = due(id);
      const req = reqs[id % reqs.length] as R;
      k += 1;
      if (pending.size >= MAX_IN_FLIGHT) {
        s.dropped += 1;
        continue;
      }
      const sent = clockMs();
      s.lag.push(sent - scheduled);
      s.issued += 1;
      pending.set(id, scheduled);
      send(req).catch((e: Error) => e.name || 'ERROR').then((code) => {
        const end = clockMs();
        pending.delete(id);
        if (!counting) return;
        failed(s, code);
        s.completed += 1;
        s.latency.push(end - scheduled);
        s.service.push(end - sent);
      }, () => undefined);
    }
  };
  await tick(1000 / rate, total, (start) => { t0 = start; }, issue);
  const drainEnd = due(total) + DRAIN_MS;
  while (pending.size > 0 && clockMs() < drainEnd) await sleep(5);
  const now = clockMs();
  counting = false;
  for (const scheduled of pending.values()) s.latency.push(now - scheduled); // unanswered: at least this late
  s.seconds = (Math.min(now, drainEnd) - t0) / 1000;
  const settleEnd = now + SETTLE_MS;
  while (pending.size > 0 && clockMs() < settleEnd) await sleep(10);
  if (pending.size > 0) throw new Error(`${pending.size} requests still unanswered ${SETTLE_MS / 1000} s after the run`);
  return s;
}

/** Closed loop: `concurrency` requests in flight for `seconds`; latency from each send. */
export async function saturate<R>(send: Send<R>, reqs: readonly R[], concurrency: number, seconds: number): Promise<Samples> {
  const s = newSamples(seconds);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let k = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const req = reqs[k++ % reqs.length] as R;
      const sent = performance.now();
      s.issued += 1;
      const code = await send(req).catch((e: Error) => e.name || 'ERROR');
      const ms = performance.now() - sent;
      failed(s, code);
      s.completed += 1;
      s.latency.push(ms);
      s.service.push(ms);
      s.lag.push(0);
    }
  }));
  s.seconds = (performance.now() - t0) / 1000;
  return s;
}

/** n requests one at a time: p50 ms, and CPU ms per request of this process or of `pid`. */
export async function sequential(n: number, f: (i: number) => Promise<unknown>, pid?: number): Promise<{ p50: number; cpuMs: number }> {
  const ms: number[] = [];
  const c0 = process.cpuUsage();
  const p0 = pid === undefined ? 0 : processTreeCpuSeconds(pid);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f(i);
    ms.push(performance.now() - t);
  }
  const c = process.cpuUsage(c0);
  const cpuSeconds = pid === undefined ? (c.user + c.system) / 1e6 : processTreeCpuSeconds(pid) - p0;
  return { p50: summarize(ms).p50, cpuMs: round((cpuSeconds * 1000) / n, 3) };
}

/** CPU seconds a process and all its descendants (the re-run production API, its cluster workers) have used. */
export function processTreeCpuSeconds(pid: number): number {
  return childPids(pid).reduce((sum, child) => sum + processTreeCpuSeconds(child), processCpuSeconds(pid));
}

/** CPU seconds a process has used (Linux /proc; NaN elsewhere). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

