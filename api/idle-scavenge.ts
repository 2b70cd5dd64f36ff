// Young-generation GC in the gaps between requests. An API request allocates 140 KiB (one
// user) to 760 KiB (a user and 100 items) of short-lived objects, so V8 scavenges every
// few hundred requests, and it does so when an allocation finds the young generation full:
// in the middle of a request, which then waits out the whole pause (3-5 ms with a 64 MiB
// young generation) and so does every request queued behind it. At the moderate rates a
// model server sends, the API is idle most of the time: when the last request in flight
// has been answered and the young generation is already `fill` full, a scavenge started
// right then costs no waiting request anything (a request that arrives during it waits
// only the rest of the pause), and fewer objects survive it (no request is half done).
// Under saturation there is no idle moment and V8 scavenges on its own, as before.
//
// It needs the `gc` function of `node --expose-gc` (the production API's node flags, bin/
// api-node-flags.js); without it this is off.
import type { Server } from 'node:http';
import v8 from 'node:v8';

/** V8's gc() as `--expose-gc` installs it; `{ type: 'minor' }` asks for a scavenge only. */
export type GcFunction = (options: { type: 'minor' | 'major' }) => void;

/** globalThis.gc when node runs with --expose-gc, else undefined. */
export function exposedGc(): GcFunction | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as GcFunction) : undefined;
}

/** How full the young generation is: used / (used + free) of the semi-space being filled. */
export function youngGenerationFill(): number {
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_name === 'new_space') {
      const capacity = s.space_used_size + s.space_available_size;
      return capacity > 0 ? s.space_used_size / capacity : 0;
    }
  }
  return 0;
}

export interface IdleScavengeOptions {
  /** scavenge at an idle moment once the young generation is this full (0 < fill < 1) */
  fill: number;
  gc: GcFunction;
  onScavenge?: () => void;
}

export interface IdleScavenger {
  /** scavenges started so far */
  readonly count: number;
  stop(): void;
}

/** Counts the server's requests in flight and scavenges when the last one is answered. */
export function scavengeWhenIdle(server: Server, options: IdleScavengeOptions): IdleScavenger {
  if (!(options.fill > 0 && options.fill < 1)) throw new RangeError(`fill must be in (0, 1), got ${options.fill}`);
  let inFlight = 0;
  let count = 0;
  // In the check phase, after the poll phase has read whatever else arrived meanwhile: a
  // request that came in with the response still going out counts as in flight.
  const check = (): void => {
    if (inFlight !== 0 || youngGenerationFill() < options.fill) return;
    count += 1;
    options.gc({ type: 'minor' });
    options.onScavenge?.();
  };
  const done = (): void => {
    inFlight -= 1;
    if (inFlight === 0) setImmediate(check);
  };
  const onRequest = (_req: unknown, res: { once(event: 'close', listener: () => void): unknown }): void => {
    inFlight += 1;
    res.once('close', done); // 'close' comes after 'finish' and also when the client went away
  };
  server.prependListener('request', onRequest);
  return {
    get count() { return count; },
    stop: () => { server.off('request', onRequest); },
  };
}
