// The fuzz generator itself, without services: every hostile record decodes (core/event.ts)
// to one of its expected reasons, never throws, and the set covers every family the issue
// names. The live pipeline run (streams/fuzz-pipeline.kafka.test.ts) sends the same set.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DECODE_REJECT_REASONS, decodeEvent } from '../../core/event.js';
import { HAND_CASES } from './hostile-cases.js';
import { hostileRecords } from './hostile-set.js';

const NOW = Date.UTC(2026, 0, 15, 12);

test('10,000 hostile records: each decodes to its expected reason', () => {
  const records = hostileRecords({ count: 10_000, oversize: 22, huge: 40, seed: 7, nowMs: NOW, userKeys: ['u1', "o'brien"] });
  assert.equal(records.length, 10_000);
  const byReason: Record<string, number> = {};
  const families = new Set<string>();
  for (const r of records) {
    const res = decodeEvent(r.value, r.timestamp);
    assert.equal(res.ok, false, `${r.family} was accepted: ${r.value?.toString('utf8').slice(0, 200)}`);
    if (res.ok) continue;
    assert.ok(r.expect.includes(res.reason), `${r.family}: got ${res.reason} (${res.detail}), expected ${r.expect.join('|')}: ${r.value?.toString('utf8').slice(0, 200)}`);
    byReason[res.reason] = (byReason[res.reason] ?? 0) + 1;
    families.add(r.family.split(/[/:]/)[1] ?? r.family);
  }
  assert.deepEqual(Object.keys(byReason).sort(), [...DECODE_REJECT_REASONS].sort(), 'every decode reason occurs');
  assert.ok(records.some((r) => r.key === null) && records.some((r) => r.key?.length === 0), 'null and empty keys');
  console.log(`hostile set: ${JSON.stringify(byReason)}, ${families.size} families`);
});

test('the hand-written cases cover what issue 7 names', () => {
  const names = HAND_CASES.map((c) => c.family).join(' ');
  for (const word of ['tombstone', 'zero-bytes', 'not-json', 'nan-literal', 'infinity-literal', 'raw-nul-byte', 'lone-high-surrogate', 'attr-__proto__',
    'number-beyond-2^53', 'event-time-negative', 'far-future', 'oversize', 'deep', 'huge-event-id', 'user-id-object']) {
    assert.ok(names.includes(word), word);
  }
});

test('the set is reproducible from its seed', () => {
  const a = hostileRecords({ count: 300, oversize: 2, huge: 2, seed: 11, nowMs: NOW, userKeys: [] });
  const b = hostileRecords({ count: 300, oversize: 2, huge: 2, seed: 11, nowMs: NOW, userKeys: [] });
  assert.deepEqual(a, b);
});
