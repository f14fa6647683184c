import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { WARM_UP_YIELD_MS, YieldingPacer } from '../../pkg/daemon/warm-up-pacer.js';

// The warm-up's throwaway datagrams (pkg/daemon/warm-up-pacer.ts): one per event-loop turn, in the order sent, and
// none while the real data path is busy.

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('held datagrams arrive in the order sent, one per turn, once the real path is quiet', async () => {
  const clock = new ManualClock();
  let busy = true;
  const pacer = new YieldingPacer(clock, { quietFor: () => !busy });
  const arrived: string[] = [];
  pacer.pace(() => arrived.push('a'));
  await turn();
  assert.deepEqual(arrived.slice(), [], 'nothing arrives while the real path is busy');
  busy = false;
  pacer.pace(() => arrived.push('b'));
  pacer.pace(() => arrived.push('c'));
  await turn();
  assert.deepEqual(arrived.slice(), [], 'a held datagram is not overtaken by a later one');
  clock.advance(WARM_UP_YIELD_MS);
  assert.deepEqual(arrived.slice(), ['a'], 'one datagram per wake-up');
  await turn();
  assert.deepEqual(arrived.slice(), ['a', 'b']);
  await turn();
  assert.deepEqual(arrived.slice(), ['a', 'b', 'c']);
  assert.equal(clock.pending, 0, 'no timer left once the queue is empty');
});

test('a closed pacer drops what it holds and arms nothing', async () => {
  const clock = new ManualClock();
  const pacer = new YieldingPacer(clock, { quietFor: () => false });
  const arrived: string[] = [];
  pacer.pace(() => arrived.push('a'));
  await turn();
  assert.equal(clock.pending, 1, 'waiting for the real path');
  pacer.close();
  pacer.pace(() => arrived.push('b'));
  clock.advance(WARM_UP_YIELD_MS * 10);
  await turn();
  assert.deepEqual(arrived.slice(), []);
  assert.equal(clock.pending, 0);
});
