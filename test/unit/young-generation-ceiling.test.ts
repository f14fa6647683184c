import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

import { CEILING_FLOOR, MAX_SEMI_SPACE, semiSpaceCeiling } from '../../pkg/daemon/young-generation-ceiling.js';

// ceilYoungGeneration (pkg/daemon/young-generation-ceiling.ts) lets V8 grow the young generation up to a ceiling
// that scales with the heap, never below a floor of 8 MB semi-spaces, and holds it there.

const MiB = 1 << 20;

test('the semi-space ceiling is a twelfth of the heap in use, a power of two from 8 to 16 MB', () => {
  // The floor: a join starts on a small heap, and its scavenges at 1-4 MB cost ~75% more a handshake.
  assert.equal(CEILING_FLOOR, 8 * MiB);
  assert.equal(semiSpaceCeiling(0), 8 * MiB);
  assert.equal(semiSpaceCeiling(13 * MiB), 8 * MiB);
  // A lighthouse at 10k nodes (~60 MB of heap) and at 40k (~160 MB).
  assert.equal(semiSpaceCeiling(60 * MiB), 8 * MiB);
  assert.equal(semiSpaceCeiling(96 * MiB), 8 * MiB);
  assert.equal(semiSpaceCeiling(97 * MiB), 16 * MiB);
  assert.equal(semiSpaceCeiling(160 * MiB), 16 * MiB);
  assert.equal(semiSpaceCeiling(4096 * MiB), 16 * MiB);
});

/** How a burst reaches the ceiling in burstInChild: turns of the event loop, and datagrams within a turn. */
interface Burst {
  ceiled: boolean;
  ballastMiB: number;
  /** Rounds of 5000 surviving objects (~520 KB) in one turn of the event loop. */
  roundsPerTurn: number;
  /** Datagrams per round (each a share of the round's objects), reported in receive batches of 64; 0 for none. */
  datagramsPerRound: number;
}

/**
 * In a process of its own (the growth factor is global to V8): the young generation's size before, the largest seen
 * over a burst of surviving allocations after `ballastMiB` of heap was taken by one long-lived array, and the largest
 * the ceiling allowed: twice semiSpaceCeiling of the most heap in use seen where the ceiling may check (each receive
 * batch's end, each turn). The heap in use counts dead objects of the old generation until a full collection, so the
 * ceiling moves within a burst.
 */
function burstInChild(b: Burst): { before: number; peak: number; allowed: number } {
  const url = JSON.stringify(new URL('../../pkg/daemon/young-generation-ceiling.js', import.meta.url).href);
  const script = `
    const { getHeapStatistics } = await import('node:v8');
    const { ceilYoungGeneration, semiSpaceCeiling, youngGenerationBytes } = await import(${url});
    const ballast = new Array(${b.ballastMiB} * 131072).fill(0.5);
    const before = youngGenerationBytes();
    let mostUsed = 0;
    const noteHeap = () => (mostUsed = Math.max(mostUsed, getHeapStatistics().used_heap_size));
    let batchEnd = (count) => {};
    let inBatch = 0;
    const received = () => {
      if (++inBatch < 64) return;
      inBatch = 0;
      batchEnd(64);
      noteHeap();
    };
    const ceiling = ${b.ceiled} ? ceilYoungGeneration({ onBatchEnd: (cb) => (batchEnd = cb) }) : { stop() {} };
    const perDatagram = ${b.datagramsPerRound} > 0 ? Math.ceil(5000 / ${b.datagramsPerRound}) : 5001;
    const kept = [];
    let peak = before;
    for (let round = 0; round < 150; round++) {
      for (let i = 0; i < 5000; i++) {
        kept.push({ i, list: [i] });
        if (i % perDatagram === perDatagram - 1) received();
      }
      if (kept.length > 60000) kept.splice(0, 30000);
      peak = Math.max(peak, youngGenerationBytes());
      noteHeap();
      if (round % ${b.roundsPerTurn} === ${b.roundsPerTurn} - 1) await new Promise((resolve) => setImmediate(resolve));
      noteHeap();
    }
    ceiling.stop();
    const allowed = 2 * semiSpaceCeiling(mostUsed);
    console.log(JSON.stringify({ before, peak, allowed, ballast: ballast.length }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out.trim()) as { before: number; peak: number; allowed: number };
}

test('on a small heap the young generation grows in a burst to the floor and no further', () => {
  // A few tens of MB of heap (the burst's survivors, ~60k objects, and dead ones not yet collected): a ceiling of
  // 8 MB semi-spaces (the floor), below V8's own 16. One round a turn, no datagrams: the 'gc' observer alone holds it.
  const ceiled = burstInChild({ ceiled: true, ballastMiB: 0, roundsPerTurn: 1, datagramsPerRound: 0 });
  assert.equal(ceiled.allowed, 2 * CEILING_FLOOR);
  // It grew to the floor (a ceiling that followed this small heap alone would stop it at 2-4 MB)...
  assert.ok(ceiled.peak >= 2 * CEILING_FLOOR, `grew from ${ceiled.before} to ${ceiled.peak} bytes only`);
  // ...and no further.
  assert.ok(ceiled.peak <= ceiled.allowed, `grew from ${ceiled.before} to ${ceiled.peak} bytes (${ceiled.allowed})`);
  // Without it V8 grows it past that in the same burst (to its own limit): the test above can fail.
  const free = burstInChild({ ceiled: false, ballastMiB: 0, roundsPerTurn: 1, datagramsPerRound: 0 });
  assert.ok(free.peak > free.allowed, `without a ceiling it grew to ${free.peak} bytes only (${free.allowed})`);
});

test("a burst within one turn stays under the ceiling: the lighthouse's receive path checks it each batch's end", () => {
  // 50 rounds (~26 MB surviving) in each turn, as 100 datagrams a round (~5 KB of survivors each, half a stage 1's on
  // a lighthouse), in receive batches of 64: the 'gc' observer runs only between turns, so alone it lets V8 grow past
  // the floor, to its limit.
  const ceiled = burstInChild({ ceiled: true, ballastMiB: 0, roundsPerTurn: 50, datagramsPerRound: 100 });
  assert.ok(ceiled.peak <= ceiled.allowed, `grew to ${ceiled.peak} bytes within turns (${ceiled.allowed})`);
  // The same turns with no datagram reported: the test above can fail.
  const unchecked = burstInChild({ ceiled: true, ballastMiB: 0, roundsPerTurn: 50, datagramsPerRound: 0 });
  assert.ok(unchecked.peak > unchecked.allowed, `unchecked turns grew to ${unchecked.peak} bytes only`);
});

test('on a large heap the young generation grows past the floor, up to V8 16 MB semi-spaces', () => {
  // 200 MB of heap calls for 16 MB semi-spaces (V8's own limit on a 64-bit machine with 2 GB or more of memory).
  const ceiled = burstInChild({ ceiled: true, ballastMiB: 200, roundsPerTurn: 1, datagramsPerRound: 0 });
  assert.ok(ceiled.peak > 2 * CEILING_FLOOR, `grew from ${ceiled.before} to ${ceiled.peak} bytes only`);
  assert.ok(ceiled.peak <= 2 * MAX_SEMI_SPACE, `grew from ${ceiled.before} to ${ceiled.peak} bytes`);
});
