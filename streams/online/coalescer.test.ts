import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Coalescer } from './coalescer.js';
import type { RawRecord } from './processor.js';

const rec = (offset: number, bytes = 10): RawRecord => ({ offset: String(offset), timestamp: '0', key: null, value: Buffer.alloc(bytes) });
const range = (from: number, n: number, bytes?: number): RawRecord[] => Array.from({ length: n }, (_, i) => rec(from + i, bytes));
const offsets = (rs: readonly RawRecord[] | undefined): number[] | undefined => rs?.map((r) => Number(r.offset));

test('coalescer: holds batches while the partition has a backlog, releases them with the first batch that reaches its end', () => {
  const c = new Coalescer({ minLag: 1, maxBytes: 1_000_000, maxRecords: 1_000, maxAgeMs: 1_000 });
  assert.equal(c.offer({ partition: 0, messages: range(0, 3), lag: 5n }, 0), undefined);
  assert.equal(c.offer({ partition: 1, messages: range(0, 2), lag: 0n }, 0)?.length, 2, 'no backlog: at once');
  assert.deepEqual(offsets(c.offer({ partition: 0, messages: range(3, 5), lag: 0n }, 10)), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(c.heldRecords, 0);
  const few = new Coalescer({ minLag: 100, maxBytes: 1e9, maxRecords: 1_000, maxAgeMs: 1_000 });
  assert.equal(few.offer({ partition: 0, messages: range(0, 3), lag: 99n }, 0)?.length, 3, 'a short backlog: at once');
  assert.equal(few.offer({ partition: 0, messages: range(3, 3), lag: 100n }, 0), undefined);
});

test('coalescer: the size, count and age bounds release what is held', () => {
  const bytes = new Coalescer({ minLag: 1, maxBytes: 100, maxRecords: 1_000, maxAgeMs: 1_000 });
  assert.equal(bytes.offer({ partition: 0, messages: range(0, 5, 10), lag: 9n }, 0), undefined);
  assert.equal(bytes.offer({ partition: 0, messages: range(5, 5, 10), lag: 9n }, 0)?.length, 10);
  const count = new Coalescer({ minLag: 1, maxBytes: 1e9, maxRecords: 4, maxAgeMs: 1_000 });
  assert.equal(count.offer({ partition: 0, messages: range(0, 3), lag: 9n }, 0), undefined);
  assert.equal(count.offer({ partition: 0, messages: range(3, 3), lag: 9n }, 0)?.length, 6);
  const age = new Coalescer({ minLag: 1, maxBytes: 1e9, maxRecords: 1_000, maxAgeMs: 50 });
  assert.equal(age.offer({ partition: 0, messages: range(0, 3), lag: 9n }, 100), undefined);
  assert.equal(age.offer({ partition: 0, messages: range(3, 3), lag: 9n }, 149), undefined);
  assert.equal(age.offer({ partition: 0, messages: range(6, 3), lag: 9n }, 150)?.length, 9);
});

test('coalescer: a batch that does not continue what is held (a seek) replaces it; drop forgets partitions', () => {
  const c = new Coalescer({ minLag: 1, maxBytes: 1e9, maxRecords: 1_000, maxAgeMs: 1_000 });
  c.offer({ partition: 0, messages: range(10, 5), lag: 9n }, 0);
  assert.deepEqual(offsets(c.offer({ partition: 0, messages: range(12, 2), lag: 0n }, 0)), [12, 13]);
  c.offer({ partition: 0, messages: range(0, 2), lag: 9n }, 0);
  c.offer({ partition: 1, messages: range(0, 2), lag: 9n }, 0);
  c.drop(new Set([1]));
  assert.equal(c.heldRecords, 2);
  c.drop();
  assert.equal(c.heldRecords, 0);
});

test('coalescer property: released records are every offered record once, in offset order, per partition', () => {
  fc.assert(fc.property(fc.array(fc.record({ partition: fc.integer({ min: 0, max: 2 }), n: fc.integer({ min: 1, max: 20 }), lag: fc.integer({ min: 0, max: 3 }), dt: fc.integer({ min: 0, max: 40 }) }), { maxLength: 60 }), (steps) => {
    const c = new Coalescer({ minLag: 1, maxBytes: 400, maxRecords: 30, maxAgeMs: 100 });
    const next = [0, 0, 0];
    const released: number[][] = [[], [], []];
    let now = 0;
    for (const s of steps) {
      now += s.dt;
      const from = next[s.partition] as number;
      next[s.partition] = from + s.n;
      const out = c.offer({ partition: s.partition, messages: range(from, s.n), lag: BigInt(s.lag) }, now);
      if (out !== undefined) (released[s.partition] as number[]).push(...(offsets(out) as number[]));
    }
    // whatever is still held comes out with a final batch that reaches the end
    for (let p = 0; p < 3; p++) {
      const out = c.offer({ partition: p, messages: range(next[p] as number, 1), lag: 0n }, now);
      (released[p] as number[]).push(...(offsets(out) as number[]));
      assert.deepEqual(released[p], Array.from({ length: (next[p] as number) + 1 }, (_, i) => i));
    }
  }), { numRuns: 300 });
});
