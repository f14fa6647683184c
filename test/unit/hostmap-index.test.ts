import assert from 'node:assert/strict';
import { test } from 'node:test';

import { HostMap, MAX_LOCAL_INDEX } from '../../pkg/hostmap/hostmap.js';

// Local indexes (HostMap.allocateIndex) are random non-zero numbers below 2^31 (Nebula's are 32-bit; any value is
// valid on the wire): the remote index field of every header, where 0 means "none yet" in a stage 1. Below 2^31 V8
// holds them as small integers, which the per-packet hostmap lookup is fast with.

test('allocateIndex draws non-zero indexes over the whole 31-bit range, all small integers to V8', () => {
  const hostmap = new HostMap();
  let topBitSet = 0;
  for (let i = 0; i < 4000; i++) {
    const idx = hostmap.allocateIndex();
    assert.ok(Number.isInteger(idx) && idx >= 1 && idx <= MAX_LOCAL_INDEX, `index ${idx}`);
    // `| 0` keeps a 31-bit number as it is and folds anything from 2^31 up to a negative one.
    assert.equal(idx | 0, idx, `index ${idx} is past 2^31 - 1`);
    if (idx >= 0x4000_0000) topBitSet++;
  }
  // Half of them, give or take: 4000 fair draws stay within 1700-2300 but for odds below 1e-18.
  assert.ok(topBitSet > 1700 && topBitSet < 2300, `${topBitSet} of 4000 with the top bit (2^30) set`);
});
