// The DLQ group commit: concurrent sends are merged while one is in flight, every record
// is sent exactly once per call in call order, and a failed send fails exactly the callers
// whose records it held (they retry their batches; the others are not affected).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeDlqRecord, type DlqRecord } from '../../core/event.js';
import { batchingDlq } from './dlq-batcher.js';

const rec = (offset: number): DlqRecord => makeDlqRecord('schema', 'x', { topic: 't', partition: 0, offset: String(offset), timestamp: 0, key: null, value: Buffer.from('x') });

function slowSink(failOn: (records: readonly DlqRecord[]) => boolean) {
  const sends: string[][] = [];
  return {
    sends,
    async send(records: readonly DlqRecord[]) {
      await new Promise((r) => setTimeout(r, 5));
      sends.push(records.map((r) => r.source_offset));
      if (failOn(records)) throw new Error('broker unavailable');
    },
  };
}

test('concurrent sends are merged while one is in flight, in call order', async () => {
  const inner = slowSink(() => false);
  const dlq = batchingDlq(inner);
  await Promise.all([0, 1, 2, 3, 4, 5].map((p) => dlq.send([rec(10 * p), rec(10 * p + 1)])));
  assert.deepStrictEqual(inner.sends, [['0', '1'], ['10', '11', '20', '21', '30', '31', '40', '41', '50', '51']]);
  await dlq.send([]);
  await dlq.send([rec(99)]);
  assert.deepStrictEqual(inner.sends.length, 3);
});

test('a failed send rejects exactly the callers whose records it held', async () => {
  const inner = slowSink((records) => records.some((r) => r.source_offset === '20'));
  const dlq = batchingDlq(inner);
  const results = await Promise.allSettled([0, 1, 2].map((p) => dlq.send([rec(10 * p)])));
  assert.deepStrictEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected']);
  await dlq.send([rec(7)]); // and it recovers
  assert.deepStrictEqual(inner.sends.at(-1), ['7']);
});
