import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';

import { capYoungGeneration } from '../../pkg/daemon/young-generation.js';

// The daemon keeps V8's young generation at its start-up size: a burst of surviving allocations (what a burst of
// handshakes looks like to the heap) must not grow it.

const newSpaceBytes = (): number =>
  getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? -1;

test('after capYoungGeneration a burst of long-lived allocations does not grow the young generation', () => {
  const before = newSpaceBytes();
  assert.ok(before > 0);
  capYoungGeneration();
  const kept: unknown[] = [];
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 20_000; i++) kept.push({ i, list: [i] });
    if (kept.length > 200_000) kept.splice(0, 100_000);
  }
  assert.ok(kept.length > 0);
  // Uncapped, this loop grows it from 1 to 32 MiB; capped it stays at its first size (both semi-spaces once used).
  assert.ok(newSpaceBytes() <= 2 * before, `young generation grew from ${before} to ${newSpaceBytes()} bytes`);
});
