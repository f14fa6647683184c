import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { QuietGate, WARM_UP_YIELD_MS } from '../../pkg/daemon/warm-up-pacer.js';

// Where the warm-up waits before each step it drives (pkg/daemon/warm-up-pacer.ts): a later event-loop turn, and none
// while the real data path is busy.

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a step passes on a later turn when the real path is quiet, and waits while it is busy', async () => {
  const clock = new ManualClock();
  let busy = false;
  const gate = new QuietGate(clock, { quietFor: () => !busy });
  let passed = 0;
  void gate.pass().then(() => passed++);
  assert.equal(passed, 0, 'never in the same turn: real I/O gets its turn first');
  await turn();
  await turn();
  assert.equal(passed, 1);

  busy = true;
  void gate.pass().then(() => passed++);
  await turn();
  await turn();
  clock.advance(WARM_UP_YIELD_MS * 5);
  await turn();
  assert.equal(passed, 1, 'no step while real packets flow');
  busy = false;
  clock.advance(WARM_UP_YIELD_MS - 1);
  await turn();
  assert.equal(passed, 1, 'looked at again only after WARM_UP_YIELD_MS');
  clock.advance(1);
  await turn();
  assert.equal(passed, 2);
  assert.equal(clock.pending, 0, 'no timer left once passed');
});

test('a closed gate lets no step through and arms nothing', async () => {
  const clock = new ManualClock();
  const gate = new QuietGate(clock, { quietFor: () => false });
  let passed = 0;
  void gate.pass().then(() => passed++);
  await turn();
  assert.equal(clock.pending, 1, 'waiting for the real path');
  gate.close();
  assert.equal(clock.pending, 0);
  void gate.pass().then(() => passed++);
  clock.advance(WARM_UP_YIELD_MS * 10);
  await turn();
  await turn();
  assert.equal(passed, 0);
  assert.equal(clock.pending, 0);
});
