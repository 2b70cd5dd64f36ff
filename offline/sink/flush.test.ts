// The flush protocol with fake I/O: order of steps, one INSERT per table, backoff while a
// step fails (and consumption paused meanwhile), no step repeated after it succeeded,
// conflicts keep their partition uncommitted, a rebalance abandons the snapshot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import { pino } from 'pino';
import { makeDlqRecord } from '../../core/event.js';
import type { Readable } from 'node:stream';
import { dlqRecordToRow } from '../rejected-table.js';
import { CommitCode, type AcceptanceStore, type UserCommit } from './acceptance-store.js';
import { SinkBuffer, type Snapshot } from './buffer.js';
import { flushSnapshot, type FlushDeps, type TopicOffset } from './flush.js';
import { createSinkMetrics } from './metrics.js';
import { encodeEventLine } from './row-encoder.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 5, 1, 12);

function snapshot(days = 1, generation = 1): Snapshot {
  const buffer = new SinkBuffer();
  for (const partition of [0, 1]) {
    const times = Array.from({ length: 10 }, (_, i) => T0 + (i % days) * DAY);
    const lines = times.map((t, i) => encodeEventLine({ event_id: `e${partition}-${i}`, user_id: `u${partition}`, event_type: 'view', event_time: t, ingest_time: T0, quantity: 1 }, partition, 100 + i));
    buffer.add('ev', partition, 'events', { lines, days: times.map((t) => Math.floor(t / DAY)), bytes: 1000, firstOffset: '100', lastOffset: '109', records: 10 }, 0);
  }
  const dlq = dlqRecordToRow(makeDlqRecord('bad_json', 'x', { topic: 'ev', partition: 0, offset: '5', timestamp: T0, value: '{' }), { partition: 2, offset: '7' });
  buffer.add('dlq', 2, 'dlq', { rejectedRows: [dlq], bytes: 100, firstOffset: '7', lastOffset: '7', records: 1 }, 0);
  return buffer.snapshot(generation, (p) => [{ userId: `u${p}`, expectedRaw: '', newMarker: 109, write: { mode: 'append', payload: '', expectedSegments: 0, after: { segments: 0, units: 0 } } }]);
}

function fakes(o: { insertFailures?: number; storeFailures?: number; conflictOn?: number; current?: () => boolean } = {}) {
  const calls: string[] = [];
  const sleeps: number[] = [];
  const failing: boolean[] = [];
  const committed: TopicOffset[][] = [];
  const stored: number[] = [];
  let insertFailures = o.insertFailures ?? 0;
  let storeFailures = o.storeFailures ?? 0;
  const client = {
    insert: async ({ table, values }: { table: string; values: object[] | Readable }) => {
      if (insertFailures-- > 0) throw new Error('ECONNREFUSED');
      let rows = 0;
      if (Array.isArray(values)) rows = values.length;
      else for await (const piece of values) rows += String(piece).split('\n').length - 1;
      calls.push(`insert ${table.split('.').pop()} ${rows}`);
    },
  } as unknown as ClickHouseClient;
  const store = {
    commit: async (partition: number, commits: UserCommit[]) => {
      if (storeFailures-- > 0) throw new Error('redis down');
      calls.push(`state ${partition} ${commits.length}`);
      return commits.map(() => (partition === o.conflictOn ? CommitCode.Conflict : CommitCode.Applied));
    },
  } as unknown as AcceptanceStore;
  const deps: FlushDeps = {
    client, db: 'db', store, metrics: createSinkMetrics(), log: pino({ level: 'silent' }), maxDaysPerInsert: 50,
    backoff: { initialMs: 100, maxMs: 300 },
    commitOffsets: async (offsets) => {
      calls.push('commit');
      committed.push(offsets);
    },
    isCurrent: () => o.current?.() ?? true,
    onFailing: (f) => failing.push(f),
    onStatesStored: (p) => stored.push(p),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
  return { deps, calls, sleeps, failing, committed, stored };
}

test('insert, then states, then offsets; one INSERT per table', async () => {
  const f = fakes();
  const res = await flushSnapshot(f.deps, snapshot());
  assert.deepStrictEqual(res, { outcome: 'done', conflicted: [] });
  assert.deepStrictEqual(f.calls, ['insert `events` 20', 'insert `rejected_events` 1', 'state 0 1', 'state 1 1', 'commit']);
  assert.deepStrictEqual(f.committed[0], [
    { topic: 'ev', partition: 0, offset: '110' }, { topic: 'ev', partition: 1, offset: '110' }, { topic: 'dlq', partition: 2, offset: '8' },
  ]);
  assert.deepStrictEqual(f.stored, [0, 1]);
});

test('ClickHouse down: exponential backoff, paused meanwhile, nothing inserted twice', async () => {
  const f = fakes({ insertFailures: 4 });
  await flushSnapshot(f.deps, snapshot());
  assert.deepStrictEqual(f.sleeps, [100, 200, 300, 300]);
  assert.deepStrictEqual(f.failing, [true, true, true, true, false]);
  assert.equal(f.calls.filter((c) => c.startsWith('insert `events`')).length, 1);
});

test('Redis down after the insert: the insert is not repeated', async () => {
  const f = fakes({ storeFailures: 2 });
  await flushSnapshot(f.deps, snapshot());
  assert.deepStrictEqual(f.calls, ['insert `events` 20', 'insert `rejected_events` 1', 'state 0 1', 'state 1 1', 'commit']);
  assert.equal(f.sleeps.length, 2);
});

test('a conflicting partition is neither confirmed nor committed, and is returned for rewinding', async () => {
  const f = fakes({ conflictOn: 1 });
  const res = await flushSnapshot(f.deps, snapshot());
  assert.deepStrictEqual(res.conflicted.map((c) => [c.topic, c.partition, c.firstOffset]), [['ev', 1, '100']]);
  assert.deepStrictEqual(f.stored, [0]);
  assert.deepStrictEqual(f.committed[0]?.map((o) => o.partition), [0, 2]);
});

test('a rebalance during the flush abandons it before the state writes', async () => {
  let current = true;
  const f = fakes({ current: () => current });
  f.deps.onStep = (step) => {
    if (step === 'inserted') current = false;
  };
  const res = await flushSnapshot(f.deps, snapshot());
  assert.equal(res.outcome, 'abandoned');
  assert.deepStrictEqual(f.calls, ['insert `events` 20', 'insert `rejected_events` 1']);
});

test('only a batch spanning more than maxDaysPerInsert days is split', async () => {
  const f = fakes();
  f.deps.maxDaysPerInsert = 3;
  await flushSnapshot(f.deps, snapshot(7));
  assert.deepStrictEqual(f.calls.filter((c) => c.startsWith('insert `events`')), ['insert `events` 12', 'insert `events` 6', 'insert `events` 2']);
  const g = fakes();
  g.deps.maxDaysPerInsert = 7;
  await flushSnapshot(g.deps, snapshot(7));
  assert.deepStrictEqual(g.calls.filter((c) => c.startsWith('insert `events`')), ['insert `events` 20']);
});

test('the buffer: rows and offsets per partition, drop and snapshot', () => {
  const b = new SinkBuffer();
  b.add('ev', 0, 'events', { lines: ['a'], days: [1], bytes: 10, firstOffset: '5', lastOffset: '9', records: 5 }, 1_000);
  b.add('ev', 0, 'events', { lines: ['b', 'c'], days: [2, 1], bytes: 10, firstOffset: '10', lastOffset: '12', records: 3 }, 2_000);
  b.add('ev', 1, 'events', { lines: [], days: [], bytes: 4, firstOffset: '0', lastOffset: '0', records: 1 }, 3_000);
  assert.deepStrictEqual([b.firstAt, b.lastAt], [1_000, 3_000]);
  assert.equal(b.records, 9);
  b.drop('ev', 1);
  assert.equal(b.bytes, 20);
  const snap = b.snapshot(4, () => []);
  assert.deepStrictEqual(snap.chunks.map((c) => [c.partition, c.firstOffset, c.lastOffset, c.records, c.eventRows]), [[0, '5', '12', 8, 3]]);
  assert.deepStrictEqual([...(snap.chunks[0]?.eventLines ?? [])].map(([d, l]) => [d, l.rows, Buffer.concat(l.blocks).toString()]), [[1, 2, 'a\nc\n'], [2, 1, 'b\n']], 'lines grouped by day, offset order kept');
  assert.deepStrictEqual([b.isEmpty(), b.firstAt, b.lastAt, b.rows, b.records], [true, null, null, 0, 0]);
});
