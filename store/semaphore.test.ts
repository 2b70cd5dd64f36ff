import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Semaphore } from './semaphore.js';

test('semaphore: at most `limit` holders, waiters served in order as permits are released', async () => {
  const s = new Semaphore(2);
  const order: number[] = [];
  let holders = 0;
  let most = 0;
  const tasks = Array.from({ length: 6 }, async (_, i) => {
    await s.acquire();
    order.push(i);
    most = Math.max(most, ++holders);
    await new Promise((r) => setTimeout(r, 5));
    holders -= 1;
    s.release();
  });
  await Promise.all(tasks);
  assert.equal(most, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  await s.acquire();
  await s.acquire();
  s.release();
  s.release();
});

test('semaphore: a limit below 1 is refused', () => {
  assert.throws(() => new Semaphore(0), RangeError);
});
