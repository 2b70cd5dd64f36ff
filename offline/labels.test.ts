// The labels-table convention, pure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelsProblems } from './labels.js';

test('labels convention', () => {
  assert.deepEqual(labelsProblems([{ name: 'entity_id', type: 'String' }, { name: 'ts', type: 'UInt64' }, { name: 'y', type: 'Float64' }]), []);
  assert.deepEqual(labelsProblems([{ name: 'entity_id', type: 'UInt64' }]), ['column entity_id is UInt64, expected String', 'missing column ts UInt64']);
});
