import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

import { semiSpaceCeiling } from '../../pkg/daemon/young-generation-ceiling.js';

// ceilYoungGeneration (pkg/daemon/young-generation-ceiling.ts) lets V8 grow the young generation up to a ceiling
// that scales with the heap, and holds it there.

const MiB = 1 << 20;

test('the semi-space ceiling is a twelfth of the heap in use, a power of two from 1 to 16 MB', () => {
  assert.equal(semiSpaceCeiling(0), 1 * MiB);
  assert.equal(semiSpaceCeiling(12 * MiB), 1 * MiB);
  assert.equal(semiSpaceCeiling(13 * MiB), 2 * MiB);
  // A lighthouse at 10k nodes (~60 MB of heap) and at 40k (~160 MB).
  assert.equal(semiSpaceCeiling(60 * MiB), 8 * MiB);
  assert.equal(semiSpaceCeiling(160 * MiB), 16 * MiB);
  assert.equal(semiSpaceCeiling(4096 * MiB), 16 * MiB);
});

/**
 * In a process of its own (the growth factor is global to V8): the young generation's size before, and the largest
 * seen over a burst of surviving allocations, after `ballastMiB` of heap was taken by one long-lived array.
 */
function burstInChild(ceiled: boolean, ballastMiB: number): { before: number; peak: number } {
  const url = JSON.stringify(new URL('../../pkg/daemon/young-generation-ceiling.js', import.meta.url).href);
  const script = `
    const { ceilYoungGeneration, youngGenerationBytes } = await import(${url});
    const ballast = new Array(${ballastMiB} * 131072).fill(0.5);
    const before = youngGenerationBytes();
    const stop = ${ceiled ? 'ceilYoungGeneration()' : '() => {}'};
    const kept = [];
    let peak = before;
    // Turns of the event loop between rounds, as a lighthouse's handshakes arrive one datagram at a time.
    for (let round = 0; round < 150; round++) {
      for (let i = 0; i < 5000; i++) kept.push({ i, list: [i] });
      if (kept.length > 60000) kept.splice(0, 30000);
      await new Promise((resolve) => setImmediate(resolve));
      peak = Math.max(peak, youngGenerationBytes());
    }
    stop();
    console.log(JSON.stringify({ before, peak, ballast: ballast.length }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out.trim()) as { before: number; peak: number };
}

test('on a small heap the young generation grows in a burst only to the ceiling', () => {
  // A few MB of heap (the burst's survivors, ~60k objects): 1-4 MB semi-spaces, at most 8 MB of young generation.
  const ceiled = burstInChild(true, 0);
  assert.ok(ceiled.peak > ceiled.before, `did not grow from ${ceiled.before}`);
  assert.ok(ceiled.peak <= 8 * MiB, `grew from ${ceiled.before} to ${ceiled.peak} bytes`);
  // Without it V8 grows it to its own limit (16 MB semi-spaces) in the same burst: the test above can fail.
  const free = burstInChild(false, 0);
  assert.ok(free.peak > 8 * MiB, `without a ceiling it grew from ${free.before} to ${free.peak} bytes only`);
});

test('on a large heap the young generation grows to V8 16 MB semi-spaces', () => {
  const ceiled = burstInChild(true, 200);
  assert.equal(ceiled.peak, 2 * 16 * MiB, `grew from ${ceiled.before} to ${ceiled.peak} bytes`);
});
