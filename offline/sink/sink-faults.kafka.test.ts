// The sink under faults, on the real services: ClickHouse unreachable for a while (through
// a TCP proxy this test owns, so the shared server is never touched): the sink pauses,
// retries with backoff, commits nothing, then catches up exactly; and two sinks in one
// group rebalancing partitions between them mid-stream still insert exactly the accepted set.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { produceGenerated, waitForGroup } from '../../streams/test-support.js';
import { startOfflineSink, type OfflineSink } from './sink.js';
import { acceptedKeys, sinkTestEnv, storedKeys, type SinkTestEnv } from './test-support.js';

const GEN = { rate: 20, users: 300, items: 500, late: 0.03, duplicates: 0.05, malformed: 0.03, outOfOrder: 0.1 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP forwarder to ClickHouse that can be taken down (connections cut, port closed) and up again. */
async function clickHouseProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    down: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      });
    },
    up: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', r)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function value(sink: OfflineSink, name: string): Promise<number> {
  const m = sink.metrics.getSingleMetric(name);
  return ((await m?.get())?.values ?? []).reduce((s, v) => s + v.value, 0);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('ClickHouse down: paused, retried with backoff, nothing committed; then exactly the accepted set', { timeout: 180_000 }, async () => {
  const env = await sinkTestEnv('offdown');
  const proxy = await clickHouseProxy(new URL(env.config.clickhouse.url));
  const config = { ...env.config, clickhouse: { ...env.config.clickhouse, url: proxy.url } };
  try {
    const sink = await startOfflineSink({ config, database: env.t.db, prefix: env.prefix, groupId: env.groupId, limits: { flushRows: 500, flushMs: 200, backoffMaxMs: 1_000 } });
    await produceGenerated(env.config, { seed: 'down-1', startMs: Date.UTC(2024, 7, 1), count: 2_000, ...GEN });
    await waitForGroup(env.kafka, env.groupId, env.config.topics.events, 60_000);
    const before = await value(sink, 'tessera_offline_rows_inserted_total');

    await proxy.down();
    await produceGenerated(env.config, { seed: 'down-2', startMs: Date.UTC(2024, 7, 1, 2), count: 2_000, ...GEN });
    await until('the sink to pause after failed inserts', async () => (await value(sink, 'tessera_offline_paused')) === 1 && (await value(sink, 'tessera_offline_retries_total')) >= 3);
    await sleep(1_500);
    assert.equal(await value(sink, 'tessera_offline_rows_inserted_total'), before, 'nothing inserted while down');
    await assert.rejects(waitForGroup(env.kafka, env.groupId, env.config.topics.events, 1_000), /did not catch up/, 'nothing committed while down');
    assert.ok((await value(sink, 'tessera_offline_buffered_rows')) <= 2 * 500 + 2_000, 'memory stays bounded');

    await proxy.up();
    await waitForGroup(env.kafka, env.groupId, env.config.topics.events, 60_000);
    assert.equal(await value(sink, 'tessera_offline_paused'), 0);
    await sink.stop();
    const got = await storedKeys(env.t.client(), env.t.db);
    assert.deepStrictEqual(got.keys, await acceptedKeys(env));
    console.log(`ClickHouse down: ${await value(sink, 'tessera_offline_retries_total')} retries, then ${got.keys.length} events exactly`);
  } finally {
    await proxy.close().catch(() => undefined);
    await env.cleanup();
  }
});

async function start(env: SinkTestEnv): Promise<OfflineSink> {
  return startOfflineSink({ config: env.config, database: env.t.db, prefix: env.prefix, groupId: env.groupId, limits: { flushRows: 300, flushMs: 200, fetchBytesPerPartition: 16 * 1024 } });
}

test('two sinks in one group, partitions moving between them mid-stream: exactly the accepted set', { timeout: 180_000 }, async () => {
  const env = await sinkTestEnv('offtwo');
  try {
    await produceGenerated(env.config, { seed: 'two', startMs: Date.UTC(2024, 7, 2), count: 10_000, ...GEN });
    const a = await start(env);
    await sleep(500);
    const b = await start(env); // rebalance: some partitions move from a to b
    await sleep(1_500);
    await a.stop(); // rebalance again: b takes everything
    await waitForGroup(env.kafka, env.groupId, env.config.topics.events, 90_000);
    await b.stop();
    const got = await storedKeys(env.t.client(), env.t.db);
    assert.deepStrictEqual(got.keys, await acceptedKeys(env));
    console.log(`two sinks: ${got.keys.length} events exactly (${got.rawRows} raw rows), inserts a=${await value(a, 'tessera_offline_inserts_total')} b=${await value(b, 'tessera_offline_inserts_total')}`);
  } finally {
    await env.cleanup();
  }
});
