import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayWindow, REPLAY_WINDOW } from '../../pkg/replay/replay-window.js';
import { seededRandom } from './helpers/seeded-random.js';

test('a new window has already seen counters 0, 1 and 2, and accepts 3', () => {
  const w = new ReplayWindow();
  for (const c of [0, 1, 2]) {
    assert.equal(w.check(c), false, `counter ${c}`);
    assert.equal(w.update(c), false, `counter ${c}`);
  }
  assert.equal(w.check(3), true);
  assert.equal(w.update(3), true);
  assert.equal(w.highestCounter, 3);
});

test('a counter is accepted once and its replay is refused', () => {
  const w = new ReplayWindow();
  assert.equal(w.update(5), true);
  assert.equal(w.check(5), false);
  assert.equal(w.update(5), false);
});

test('check does not mark anything', () => {
  const w = new ReplayWindow();
  assert.equal(w.check(10), true);
  assert.equal(w.check(10), true);
  assert.equal(w.highestCounter, 2);
  assert.equal(w.update(10), true);
});

test('out-of-order counters inside the window are accepted once each', () => {
  const w = new ReplayWindow();
  assert.equal(w.update(100), true);
  for (const c of [99, 3, 50, 98]) assert.equal(w.update(c), true, `counter ${c}`);
  for (const c of [99, 3, 50, 98, 100]) assert.equal(w.update(c), false, `replayed ${c}`);
});

test('the window spans the 1024 counters ending at the highest', () => {
  const w = new ReplayWindow();
  const top = 5000;
  assert.equal(w.update(top), true);
  assert.equal(w.check(top - REPLAY_WINDOW + 1), true, 'oldest counter still inside');
  assert.equal(w.check(top - REPLAY_WINDOW), false, 'first counter outside');
  assert.equal(w.update(top - REPLAY_WINDOW), false);
  assert.equal(w.update(top - REPLAY_WINDOW + 1), true);
});

test('a forward jump clears the slots it skips, so those counters stay acceptable', () => {
  const w = new ReplayWindow();
  for (let c = 3; c <= 1030; c++) assert.equal(w.update(c), true);
  // 1031..1999 were never seen; their ring slots held counters 7..975, which were.
  assert.equal(w.update(2000), true);
  for (const c of [1031, 1500, 1999]) assert.equal(w.check(c), true, `skipped ${c}`);
  // Counters from before the jump that are still inside the window keep their marks.
  assert.equal(w.check(1000), false);
  assert.equal(w.check(1030), false);
  assert.equal(w.check(976), false, 'outside the window now');
});

test('a jump of 1024 or more forgets everything before it', () => {
  const w = new ReplayWindow();
  assert.equal(w.update(3), true);
  assert.equal(w.update(3 + REPLAY_WINDOW), true);
  assert.equal(w.check(3), false, 'now too old');
  assert.equal(w.check(4), true, 'inside the new window, never seen');
  assert.equal(w.update(1_000_000_000_000), true);
  assert.equal(w.check(1_000_000_000_000 - 1), true);
  assert.equal(w.check(1_000_000_000_000 - REPLAY_WINDOW), false);
});

test('counters above 2^32 index the ring correctly', () => {
  const w = new ReplayWindow();
  const base = 2 ** 40;
  assert.equal(w.update(base), true);
  assert.equal(w.update(base + 1), true);
  assert.equal(w.update(base - 1), true);
  assert.equal(w.update(base - 1), false);
  assert.equal(w.check(base + 2), true);
  // highest is base + 1, so the window is (base + 1 - 1024, base + 1].
  assert.equal(w.check(base + 2 - REPLAY_WINDOW), true);
  assert.equal(w.check(base + 1 - REPLAY_WINDOW), false);
});

/** The window's rules stated with a Set: accept when above the highest, or inside the window and unseen. */
class SetModel {
  private readonly seen = new Set<number>([0, 1, 2]);
  private highest = 2;
  check(c: number): boolean {
    return c > this.highest || (c > this.highest - REPLAY_WINDOW && !this.seen.has(c));
  }
  update(c: number): boolean {
    if (!this.check(c)) return false;
    this.seen.add(c);
    if (c > this.highest) this.highest = c;
    return true;
  }
}

test('agrees with a Set-based model on thousands of random counter sequences', () => {
  const sequences = 3000;
  const length = 300;
  for (let seed = 1; seed <= sequences; seed++) {
    const rand = seededRandom(seed);
    const int = (n: number) => Math.floor(rand() * n);
    const w = new ReplayWindow();
    const model = new SetModel();
    const history: number[] = [];
    let top = 2;
    for (let step = 0; step < length; step++) {
      let c: number;
      const kind = rand();
      if (kind < 0.35)
        c = top + 1 + int(4); // in order, small gaps
      else if (kind < 0.55)
        c = top - int(REPLAY_WINDOW + 40); // late, around the window's edge
      else if (kind < 0.7 && history.length > 0)
        c = history[int(history.length)]; // duplicate
      else if (kind < 0.8)
        c = top + 1 + int(3 * REPLAY_WINDOW); // jump, sometimes past the window
      else if (kind < 0.85)
        c = top + REPLAY_WINDOW - 2 + int(5); // jump right at 1024
      else if (kind < 0.88)
        c = int(2 ** 52); // anywhere, far above 2^32 (headroom left below 2^53)
      else c = int(8); // very old, including the pre-marked counters
      if (c < 0) c = 0;
      const expected = model.check(c);
      assert.equal(w.check(c), expected, `seed ${seed} step ${step}: check(${c})`);
      assert.equal(w.update(c), model.update(c), `seed ${seed} step ${step}: update(${c})`);
      if (expected) {
        history.push(c);
        if (c > top) top = c;
      }
    }
  }
});
