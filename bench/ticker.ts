// The open-loop generator's clock: a worker thread that sleeps until each scheduled send
// time and then wakes the main thread. Node's timers have whole-millisecond resolution
// against a loop time that can already be up to a millisecond stale, so a setTimeout loop
// issued requests 0.6 ms late at the median and 1.5-5 ms late at p99 (500 requests/s on
// this machine), and the benchmark charges that lateness to the target (latency runs from
// the scheduled time). Atomics.wait takes a fractional timeout and wakes within tens of
// microseconds; the wake-up reaches the main thread as a message, which its event loop
// handles as soon as it is free (a busy client still shows as issue lag, as it should).
import { Worker } from 'node:worker_threads';

// Plain JavaScript (eval: true), so the worker needs no TypeScript loader.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { intervalMs, total } = workerData;
const cell = new Int32Array(new SharedArrayBuffer(4));
const now = () => performance.timeOrigin + performance.now();
const t0 = now() + 5;
parentPort.postMessage(-t0);
let k = 0;
while (k < total) {
  const wait = t0 + k * intervalMs - now();
  if (wait > 0) Atomics.wait(cell, 0, 0, wait);
  const t = now();
  while (k < total && t0 + k * intervalMs <= t) k += 1;
  parentPort.postMessage(k);
}
`;

/** Absolute time in ms on the clock the ticker uses (comparable across threads). */
export const clockMs = (): number => performance.timeOrigin + performance.now();

/**
 * Schedules `total` sends, send k at t0 + k * intervalMs (clockMs() time; t0 is chosen once
 * the worker runs and passed to `onStart`), and calls `onDue(n)` each time the first n are
 * due (n only grows); resolves after the last one.
 */
export function tick(intervalMs: number, total: number, onStart: (t0: number) => void, onDue: (n: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { intervalMs, total } });
    worker.on('message', (n: number) => {
      if (n < 0) return onStart(-n);
      onDue(n);
      if (n >= total) void worker.terminate().then(() => resolve(), reject);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0 && code !== 1) reject(new Error(`the ticker exited with ${code}`));
    });
  });
}
