import assert from 'node:assert/strict';
import { test } from 'node:test';

import { atTurnEnd } from '../../pkg/schedule/turn-end.js';

// The data path's batches flush through atTurnEnd (pkg/schedule/turn-end.ts): after the code that scheduled them,
// in the order they were scheduled, interleaved correctly with node's own microtasks, and before the event loop
// moves on to timers or I/O (the addon's poll callback relies on the queue running right after each batch).

test('a scheduled function runs after the current code, before setImmediate and timers', async () => {
  const seen: string[] = [];
  const done = new Promise<void>((resolve) => setTimeout(resolve, 5));
  setImmediate(() => seen.push('immediate'));
  setTimeout(() => seen.push('timer'), 0);
  atTurnEnd(() => seen.push('turn end'));
  seen.push('sync');
  await done;
  assert.deepEqual(seen.slice(0, 2), ['sync', 'turn end']);
  assert.ok(seen.includes('immediate') && seen.includes('timer'));
});

test('functions run in the order they were scheduled, interleaved with queueMicrotask in FIFO order', async () => {
  const seen: number[] = [];
  atTurnEnd(() => seen.push(1));
  queueMicrotask(() => seen.push(2));
  atTurnEnd(() => {
    seen.push(3);
    // Scheduled while the queue runs: still before the loop moves on.
    atTurnEnd(() => seen.push(5));
  });
  queueMicrotask(() => seen.push(4));
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
});
