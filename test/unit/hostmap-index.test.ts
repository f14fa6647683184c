import assert from 'node:assert/strict';
import { test } from 'node:test';

import { HostMap } from '../../pkg/hostmap/hostmap.js';

// Local indexes (HostMap.allocateIndex) are random non-zero 32-bit numbers, as Nebula's: the remote index field of
// every header, where 0 means "none yet" in a stage 1.

test('allocateIndex draws non-zero indexes over the whole 32-bit range', () => {
  const hostmap = new HostMap();
  let topBitSet = 0;
  for (let i = 0; i < 4000; i++) {
    const idx = hostmap.allocateIndex();
    assert.ok(Number.isInteger(idx) && idx >= 1 && idx <= 0xffffffff, `index ${idx}`);
    if (idx >= 0x8000_0000) topBitSet++;
  }
  // Half of them, give or take: 4000 fair draws stay within 1700-2300 but for odds below 1e-18.
  assert.ok(topBitSet > 1700 && topBitSet < 2300, `${topBitSet} of 4000 with the top bit set`);
});
