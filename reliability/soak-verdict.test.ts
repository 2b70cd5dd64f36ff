import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judge, judgeSeries, RSS_RULE, type FlatnessRule } from './soak-verdict.js';

const MiB = 1024 * 1024;
const rule: FlatnessRule = { relative: 0.1, absolute: 0 };

test('a sawtooth that keeps reaching the same peaks is flat; the warm-up third is not judged', () => {
  const warmUp = [100, 150, 200, 250, 300, 350, 400, 450, 500, 550];
  const saw = Array.from({ length: 20 }, (_, i) => 500 + (i % 5) * 20);
  const v = judgeSeries('x', [...warmUp, ...saw], rule);
  assert.ok(v?.flat);
  assert.equal(v?.start, 100);
  assert.equal(v?.max, 580);
});

test('steady growth past the warm-up is not flat', () => {
  const v = judgeSeries('x', Array.from({ length: 30 }, (_, i) => 1000 + i * 30), rule);
  assert.equal(v?.flat, false);
  assert.ok((v?.growth ?? 0) > 0.1);
});

test('the absolute allowance covers small curves', () => {
  const v = judgeSeries('rss', [...Array(20).fill(100 * MiB), ...Array(10).fill(110 * MiB)], RSS_RULE);
  assert.ok(v?.flat, 'a 10 MiB step on 100 MiB is within 16 MiB');
  assert.equal(judgeSeries('rss', [...Array(20).fill(100 * MiB), ...Array(10).fill(130 * MiB)], RSS_RULE)?.flat, false);
});

test('fewer than 9 samples give no verdict; NaN samples are ignored', () => {
  assert.equal(judgeSeries('x', [1, 2, 3, 4, 5, 6, 7, 8], rule), undefined);
  const verdict = judge([{ series: 'x', values: [1, 2, 3, NaN, 4, 5, 6, 7, 8], rule }]);
  assert.equal(verdict.undecided, true);
  assert.equal(verdict.flat, false);
  assert.equal(judge([{ series: 'x', values: Array(9).fill(5), rule }]).flat, true);
});
