import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { TIER_PUNCHES_PER_SECOND, TierPunchLimiter } from '../../pkg/lighthouse/store/punch-limit.js';

// The tier's punch budget (pkg/lighthouse/store/punch-limit.ts, docs/lighthouse-tier.md "Bounded punches"): a token
// bucket, so no span lets through more than the burst plus what the rate refilled in it, not even across the edge of
// a second.

test('no burst of twice the budget across a second boundary: 1 ms around it lets through at most the burst', () => {
  const clock = new ManualClock();
  const limiter = new TierPunchLimiter(clock);
  assert.equal(limiter.refusal('10.99.0.1', 'first'), null);
  clock.advance(999);
  let passed = 0;
  for (let i = 0; i < 600; i++) if (limiter.refusal('10.99.0.1', `a${i}`) === null) passed++;
  clock.advance(1);
  for (let i = 0; i < 600; i++) if (limiter.refusal('10.99.0.1', `b${i}`) === null) passed++;
  assert.ok(passed <= TIER_PUNCHES_PER_SECOND + 1, `${passed} let through within 1 ms`);
  assert.ok(passed >= TIER_PUNCHES_PER_SECOND - 1, `${passed}: the budget refilled over the quiet second`);
});

test('under a steady flood the budget holds at its rate: over 5 s at most burst + 5 s of refill', () => {
  const clock = new ManualClock();
  const limiter = new TierPunchLimiter(clock);
  let passed = 0;
  let asker = 0;
  // Four new pairs every millisecond (4000/s), for 5 s of simulated time.
  for (let ms = 0; ms < 5000; ms++) {
    for (let k = 0; k < 4; k++) if (limiter.refusal('10.99.0.1', `n${asker++}`) === null) passed++;
    clock.advance(1);
  }
  assert.ok(passed <= TIER_PUNCHES_PER_SECOND * 6, `${passed} in 5 s`);
  assert.ok(passed >= TIER_PUNCHES_PER_SECOND * 5, `${passed} in 5 s: the rate is a rate, not a cap`);
});
