// The keep-alives spread over their interval (pkg/punchy/spread-rounds.ts): no tick visits more than its share,
// every item present at a round's start is visited exactly once per interval, and a few items still take one tick.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import { SpreadRounds } from '../../pkg/punchy/spread-rounds.js';

function world(count: number, perTick = 64) {
  const clock = new ManualClock(1000);
  const items = new Set<number>(Array.from({ length: count }, (_, i) => i));
  const visits: Array<{ at: number; item: number }> = [];
  const rounds = new SpreadRounds<number>({
    clock,
    intervalMs: 10_000,
    perTick,
    items: () => items,
    visit: (item) => visits.push({ at: clock.now(), item }),
  });
  return { clock, items, visits, rounds };
}

function perTime(visits: Array<{ at: number }>): Map<number, number> {
  const m = new Map<number, number>();
  for (const v of visits) m.set(v.at, (m.get(v.at) ?? 0) + 1);
  return m;
}

test('10k items: at most 100 visits per tick, each item once per interval, spread over the whole interval', () => {
  const { clock, visits, rounds } = world(10_000);
  rounds.start();
  clock.advance(9_999);
  assert.equal(visits.length, 0, 'the first round starts one interval after start');
  clock.advance(1); // round 1 starts at t = 11000
  clock.advance(9_999);
  assert.equal(visits.length, 10_000);
  const ticks = perTime(visits);
  assert.equal(ticks.size, 100, '100 ticks (the 100 ms floor) carry the 10k');
  assert.ok(Math.max(...ticks.values()) <= 100, `largest tick ${Math.max(...ticks.values())}`);
  assert.equal(new Set(visits.map((v) => v.item)).size, 10_000, 'each item exactly once');
  const times = [...ticks.keys()].sort((a, b) => a - b);
  assert.equal(times[0], 11_000);
  assert.ok(times[times.length - 1] >= 20_800, 'the last slice goes out near the end of the interval');
  // The next round visits each again, one interval later.
  clock.advance(10_000);
  assert.equal(visits.length, 20_000);
  const first = new Map<number, number>();
  for (const v of visits.slice(0, 10_000)) first.set(v.item, v.at);
  for (const v of visits.slice(10_000)) assert.equal(v.at - first.get(v.item)!, 10_000, `item ${v.item}`);
  rounds.stop();
});

test('a few items take one tick per interval, as the single pass did', () => {
  const { clock, visits, rounds } = world(30);
  rounds.start();
  clock.advance(30_000);
  const ticks = perTime(visits);
  assert.deepEqual(
    [...ticks],
    [
      [11_000, 30],
      [21_000, 30],
      [31_000, 30],
    ],
  );
  rounds.stop();
});

test('medium counts keep each tick at or under perTick; items added mid-round wait for the next round', () => {
  const { clock, items, visits, rounds } = world(1000, 64);
  rounds.start();
  clock.advance(10_000);
  items.add(5000);
  clock.advance(9_999);
  const ticks = perTime(visits);
  assert.equal(ticks.size, 16);
  assert.ok(Math.max(...ticks.values()) <= 64);
  assert.equal(visits.length, 1000);
  assert.ok(!visits.some((v) => v.item === 5000));
  clock.advance(10_000);
  assert.equal(visits.length, 2001);
  assert.ok(
    visits.some((v) => v.item === 5000),
    'the new item is in the next round',
  );
  rounds.stop();
});

test('stop ends the rounds; a visitor that throws does not end the schedule', () => {
  const clock = new ManualClock(0);
  let visits = 0;
  const rounds = new SpreadRounds<number>({
    clock,
    intervalMs: 1000,
    minTickMs: 100,
    perTick: 1,
    items: () => [1, 2, 3],
    visit: (i) => {
      visits++;
      if (i === 2) throw new Error('boom');
    },
  });
  rounds.start();
  // A throw ends ManualClock.advance at the throwing timer, so step on by the clock's own time (bounded).
  for (let i = 0; i < 100 && clock.now() < 3900; i++) {
    try {
      clock.advance(100);
    } catch {
      // the throw reaches the timer, as it would reach node's timer task
    }
  }
  assert.equal(visits, 9, 'three rounds of three despite the throws');
  rounds.stop();
  clock.advance(5000);
  assert.equal(visits, 9);
});
