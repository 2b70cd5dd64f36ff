// The KRaft cluster id must never start with '-': kafka-storage's parser takes it for an option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterId } from './kafka.js';

test('clusterId skips ids a command line would read as an option', () => {
  // First draw encodes to '-...' (0xfb >> 2 = 62 = '-' in base64url); the second does not.
  const draws = [Buffer.alloc(16, 0xfb), Buffer.alloc(16, 0x41)];
  let calls = 0;
  const id = clusterId(() => draws[calls++]!);
  assert.equal(calls, 2);
  assert.equal(id, Buffer.alloc(16, 0x41).toString('base64url'));
  assert.equal(Buffer.alloc(16, 0xfb).toString('base64url')[0], '-');
});

test('clusterId gives 22 base64url characters', () => {
  for (let i = 0; i < 500; i++) {
    const id = clusterId();
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  }
});
