// Idle scavenges (idle-scavenge.ts) on a real node:http server with V8's real gc(): they
// run once the last request in flight is answered and the young generation is full
// enough, never while a request is in flight, and V8 reports them as minor GCs.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { scavengeWhenIdle, youngGenerationFill, type GcFunction } from './idle-scavenge.js';

// What `node --expose-gc` installs as globalThis.gc, without restarting the test process.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as GcFunction;

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { server, url, close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }) };
}

/** A handler that allocates like a request does (short-lived garbage), then answers. */
const busy = (_req: IncomingMessage, res: ServerResponse): void => {
  let junk: unknown[] = [];
  for (let i = 0; i < 2_000; i++) junk.push({ i, s: `x${i}` });
  junk = [];
  res.end(String(junk.length));
};

test('a scavenge runs when the last request is answered and the young generation is full enough, and V8 counts it', async () => {
  const { server, url, close } = await serve(busy);
  const minor: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as unknown as { detail: { kind: number } }).detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor.push(e.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  let scavenged = 0;
  const idle = scavengeWhenIdle(server, { fill: 0.0001, gc, onScavenge: () => (scavenged += 1) });
  try {
    for (let i = 0; i < 5; i++) {
      assert.equal(await (await fetch(url)).text(), '0');
      await turns(3);
      assert.equal(idle.count, i + 1, `request ${i + 1} answered, nothing in flight: one scavenge each`);
      assert.ok(youngGenerationFill() < 0.5, 'the young generation was emptied');
    }
    assert.equal(scavenged, 5);
    await new Promise((r) => setTimeout(r, 50)); // gc entries are delivered asynchronously
    assert.ok(minor.length >= 5, `V8 reported ${minor.length} minor GCs`);
  } finally {
    observer.disconnect();
    idle.stop();
    await close();
  }
});

test('no scavenge while a request is in flight, and none below the fill threshold', async () => {
  let release: (() => void) | undefined;
  const { server, url, close } = await serve((req, res) => {
    if (req.url === '/slow') release = () => res.end('slow');
    else busy(req, res);
  });
  const idle = scavengeWhenIdle(server, { fill: 0.0001, gc });
  try {
    const slow = fetch(`${url}slow`).then((r) => r.text());
    while (release === undefined) await turns(1);
    for (let i = 0; i < 3; i++) await (await fetch(url)).text(); // answered while /slow is open
    await turns(5);
    assert.equal(idle.count, 0, 'one request was still in flight');
    release();
    assert.equal(await slow, 'slow');
    await turns(3);
    assert.equal(idle.count, 1, 'the last one answered: now idle');
  } finally {
    idle.stop();
    await close();
  }

  const quiet = await serve((_req, res) => res.end('ok'));
  gc({ type: 'minor' });
  const never = scavengeWhenIdle(quiet.server, { fill: 0.99, gc });
  try {
    for (let i = 0; i < 3; i++) await (await fetch(quiet.url)).text();
    await turns(3);
    assert.equal(never.count, 0, `fill ${youngGenerationFill()} is below 0.99`);
    never.stop();
    assert.equal(quiet.server.listenerCount('request'), 1, 'stop() removed the listener');
  } finally {
    await quiet.close();
  }
});

test('fill must be a fraction', () => {
  const server = createServer();
  for (const fill of [0, 1, -0.5, Number.NaN]) assert.throws(() => scavengeWhenIdle(server, { fill, gc }), RangeError);
});
