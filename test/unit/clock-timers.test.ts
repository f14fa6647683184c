// ManualClock's timers (pkg/clock/clock.ts): one-shot and periodic timers fire during advance() in time order, each
// seeing its own due time; timers set or cancelled by a timer take effect within the same advance().

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, after, every, type Clock } from '../../pkg/clock/clock.js';
import { waitFor } from './helpers/wait.js';

test('one-shot and periodic timers interleave in time order, each run seeing its due time', () => {
  const clock = new ManualClock(1000);
  const runs: string[] = [];
  every(clock, 100, () => runs.push(`tick@${clock.now()}`));
  after(clock, 250, () => runs.push(`once@${clock.now()}`));
  after(clock, 100, () => runs.push(`early@${clock.now()}`)); // due with the first tick, set after it: runs after it
  // Due with the second tick, set before that tick was re-armed (at 1100): runs before it.
  after(clock, 200, () => runs.push(`set-first@${clock.now()}`));
  clock.advance(350);
  assert.deepEqual(runs, ['tick@1100', 'early@1100', 'set-first@1200', 'tick@1200', 'once@1250', 'tick@1300']);
  assert.equal(clock.now(), 1350, 'the clock ends where it was told to');
});

test('a periodic timer fires once per period passed, over several advances and in one long one', () => {
  const clock = new ManualClock();
  let n = 0;
  every(clock, 30, () => n++);
  for (let i = 0; i < 10; i++) clock.advance(10); // t = 100: due at 30, 60, 90
  assert.equal(n, 3);
  clock.advance(10_000); // due at 120 ... 10080
  assert.equal(n, 3 + 333);
});

test('a timer set by a timer runs in the same advance when it is due by its end, and not before its time', () => {
  const clock = new ManualClock();
  const runs: string[] = [];
  after(clock, 10, () => {
    runs.push(`outer@${clock.now()}`);
    after(clock, 0, () => runs.push(`zero@${clock.now()}`));
    after(clock, 50, () => runs.push(`later@${clock.now()}`));
    every(clock, 20, () => runs.push(`child-tick@${clock.now()}`));
  });
  clock.advance(55);
  assert.deepEqual(runs, ['outer@10', 'zero@10', 'child-tick@30', 'child-tick@50']);
  clock.advance(5);
  assert.deepEqual(runs.slice(4), ['later@60']);
});

test('cancel during advance: a periodic timer cancelling itself, and a timer cancelling another one due later', () => {
  const clock = new ManualClock();
  const runs: string[] = [];
  let fired = 0;
  const stop = every(clock, 10, () => {
    fired++;
    if (fired === 3) stop();
  });
  let cancelVictim = (): void => {};
  after(clock, 15, () => {
    runs.push('killer');
    cancelVictim();
  });
  cancelVictim = after(clock, 16, () => runs.push('victim'));
  clock.advance(1000);
  assert.equal(fired, 3, 'the periodic timer stopped at its third run');
  assert.deepEqual(runs, ['killer']);
  assert.equal(clock.pending, 0, 'nothing left armed');
});

test('a cancelled periodic timer stays cancelled, and a zero period does not hold advance() in one instant', () => {
  const clock = new ManualClock();
  let n = 0;
  const cancel = every(clock, 5, () => n++);
  clock.advance(12);
  cancel();
  clock.advance(100);
  assert.equal(n, 2);
  let z = 0;
  const cancelZero = every(clock, 0, () => z++);
  clock.advance(3);
  cancelZero();
  assert.equal(z, 3, 'a zero period counts as 1 ms');
});

test('a clock without timers of its own gets real ones from the after()/every() helpers', async () => {
  const bare: Clock = { now: () => performance.now() };
  let ticks = 0;
  let once = 0;
  const cancel = every(bare, 5, () => ticks++);
  after(bare, 10, () => once++);
  // The helpers' real timers are unref'd: waitFor's ref'd ones keep the test alive meanwhile. Awaited, not slept on:
  // a loop that wakes late from a fixed 60 ms wait runs the interval once and then the wait's own timer.
  await waitFor(() => ticks >= 2 && once >= 1, { what: () => `2 real ticks and the one-shot (${ticks}, ${once})` });
  // Four more ticks (~20 ms, two of the one-shot's periods) before asking whether it ran once: a one-shot that repeats
  // has run again by then.
  const ticksAtOnce = ticks;
  await waitFor(() => ticks >= ticksAtOnce + 4, { what: () => `4 more real ticks (${ticks - ticksAtOnce})` });
  cancel();
  assert.equal(once, 1);
});

test('a clock with one-shot timers but no periodic ones runs every() on its own after(), not on real time', async () => {
  const manual = new ManualClock(0);
  const armed: number[] = [];
  const onlyAfter: Clock = {
    now: () => manual.now(),
    after: (ms, fn) => {
      armed.push(ms);
      return manual.after(ms, fn);
    },
  };
  const runs: number[] = [];
  const cancel = every(onlyAfter, 5, () => {
    runs.push(manual.now());
    if (runs.length === 4) cancel();
  });
  // Real time passes, the clock does not: nothing may run.
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(runs, [], 'no run on real time');
  manual.advance(12);
  assert.deepEqual(runs, [5, 10], 'once per period of the clock');
  manual.advance(100);
  assert.deepEqual(runs, [5, 10, 15, 20], 'a run may cancel its own timer');
  assert.equal(manual.pending, 0, 'nothing left armed');
  assert.ok(armed.every((ms) => ms === 5));
});
