// The tier's refresh and watch intake are spread over turns (pkg/lighthouse/store/refresh-spread.ts,
// docs/lighthouse-tier.md "Capacity"): hosts written together are not all re-written in one tick, no record goes
// longer than ttl/3 plus a tick without a write, and a burst of watch entries lets the event loop run between turns.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  drainInTurns,
  refreshDue,
  refreshTickMs,
  WATCH_ENTRIES_PER_TURN,
  writtenAt,
} from '../../pkg/lighthouse/store/refresh-spread.js';
import { seededRandom } from './helpers/seeded-random.js';

test('hosts written in one instant are re-written over several ticks, each within ttl/3 plus a tick', () => {
  const ttl = 30_000;
  const tick = refreshTickMs(ttl);
  const random = seededRandom(7);
  const hosts = 1000;
  const at = Array.from({ length: hosts }, () => writtenAt(0, ttl, random));
  const lastWrite = new Array<number>(hosts).fill(0);
  let worstAge = 0;
  let busiestTick = 0;
  for (let now = tick; now <= 4 * ttl; now += tick) {
    let written = 0;
    for (let i = 0; i < hosts; i++) {
      if (!refreshDue(at[i], now, ttl)) continue;
      worstAge = Math.max(worstAge, now - lastWrite[i]);
      lastWrite[i] = now;
      at[i] = writtenAt(now, ttl, random);
      written++;
    }
    busiestTick = Math.max(busiestTick, written);
  }
  assert.ok(worstAge <= ttl / 3 + tick, `a record went ${worstAge} ms without a refresh (ttl ${ttl})`);
  assert.ok(worstAge < ttl, 'a live record must never reach the bucket max_age');
  assert.ok(busiestTick <= hosts * 0.6, `one tick re-wrote ${busiestTick} of ${hosts} records`);
});

test('a burst of watch entries is taken in turns: the event loop runs before the burst is done', async () => {
  const total = 1000;
  async function* burst(): AsyncGenerator<number> {
    for (let i = 0; i < total; i++) yield i; // all available at once, as a buffered watch is
  }
  let seen = 0;
  let seenWhenLoopRan = -1;
  setImmediate(() => (seenWhenLoopRan = seen));
  await drainInTurns(burst(), () => void seen++);
  assert.equal(seen, total);
  assert.ok(
    seenWhenLoopRan >= 0 && seenWhenLoopRan <= WATCH_ENTRIES_PER_TURN,
    `the event loop first ran after ${seenWhenLoopRan} of ${total} entries`,
  );
});
