import assert from 'node:assert/strict';
import { test } from 'node:test';

import { OncePerTurn } from '../../pkg/schedule/once-per-turn.js';

// pkg/schedule/once-per-turn.ts: the first take() of a turn is true, the others false until the turn's microtasks ran.

test('one take per turn is let through, and the next turn lets one through again', async () => {
  const once = new OncePerTurn();
  const turn = (): boolean[] => Array.from({ length: 5 }, () => once.take());
  assert.deepEqual(turn(), [true, false, false, false, false]);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(turn(), [true, false, false, false, false]);
  // The turn ends at the microtask checkpoint: a take queued behind it belongs to the next one.
  await Promise.resolve();
  assert.equal(once.take(), true);
});
