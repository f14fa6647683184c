// The fuzz helper itself: runs replay from their seed, a failure names the seed and the iteration, a slow input
// fails as a hang, and the mutators stay within their length bound.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ASYNC_MAX_ITERATION_MS,
  mutate,
  mutateDatagram,
  mutateProto,
  mutateText,
  Rand,
  runFuzz,
  runFuzzAsync,
  varintBytes,
} from './helpers/fuzz.js';

test('a fuzz run is a function of its seed', () => {
  const draw = (): number[] => {
    const seen: number[] = [];
    runFuzz('replay', { iterations: 50, ms: 1000, seed: 42 }, (r) => void seen.push(r.int(1 << 30)));
    return seen;
  };
  assert.deepEqual(draw(), draw());
});

test('a failure names the fuzz, the iteration and the seed to replay it with', () => {
  assert.throws(
    () =>
      runFuzz('named', { iterations: 100, ms: 1000, seed: 7 }, (_r, i) => {
        if (i === 3) throw new Error('boom');
      }),
    (e: Error) =>
      /fuzz named: failed at iteration 3 of seed 0x7 \(replay with MESH_FUZZ_SEED=7\).*boom/s.test(e.message),
  );
});

test('an input that takes longer than the per-iteration limit fails as a hang', () => {
  assert.throws(
    () =>
      runFuzz('slow', { iterations: 2, ms: 1000, seed: 1, maxIterationMs: 5 }, () => {
        const until = performance.now() + 20;
        while (performance.now() < until);
      }),
    /a hang or a super-linear path/,
  );
});

test('an iteration stalled without using CPU (as when a loaded machine deschedules the process) is not a hang', () => {
  // Atomics.wait blocks the thread as a descheduled process is blocked: wall time passes, CPU time does not.
  const blocked = new Int32Array(new SharedArrayBuffer(4));
  const stats = runFuzz('stalled', { iterations: 2, ms: 1000, seed: 1, maxIterationMs: 5 }, () => {
    Atomics.wait(blocked, 0, 0, 30);
  });
  assert.equal(stats.iterations, 2);
});

test('an async body (socket and timer waits) is allowed longer per iteration than a synchronous one', async () => {
  assert.ok(ASYNC_MAX_ITERATION_MS >= 5000);
  // 600 ms is over runFuzz's 500 ms default and well under the async default.
  const stats = await runFuzzAsync(
    'waits',
    { iterations: 1, ms: 10_000, seed: 1 },
    () => new Promise((resolve) => setTimeout(resolve, 600)),
  );
  assert.equal(stats.iterations, 1);
});

test('a stalled machine makes a fuzz loop slower, not shorter than its floor of iterations', async () => {
  // Each iteration outlasts the whole 1 ms budget, as on a loaded machine: the floor still runs, the cap still holds.
  const stall = (): void => {
    const until = performance.now() + 3;
    while (performance.now() < until);
  };
  assert.equal(runFuzz('floor', { iterations: 100, minIterations: 5, ms: 1, seed: 1 }, stall).iterations, 5);
  assert.equal(runFuzz('no floor', { iterations: 100, ms: 1, seed: 1 }, stall).iterations, 1);
  assert.equal(runFuzz('capped', { iterations: 3, minIterations: 5, ms: 1, seed: 1 }, stall).iterations, 3);
  const slow = await runFuzzAsync(
    'floor',
    { iterations: 100, minIterations: 4, ms: 1, seed: 1 },
    () => new Promise((resolve) => setTimeout(resolve, 3)),
  );
  assert.equal(slow.iterations, 4);
});

test('mutators stay within their bounds and keep protobuf framing consistent', () => {
  const r = new Rand(3);
  const sample = Uint8Array.from([0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x10, 0x05]);
  for (let i = 0; i < 2000; i++) {
    assert.ok(mutate(r, sample, [sample], 8, 64).length <= 64);
    assert.ok(mutateProto(r, sample, [sample]).length <= 4096 + 64);
    assert.ok(mutateText(r, 'a: 1\nb: [2]\n', 6, 100).length <= 100);
  }
  assert.deepEqual([...varintBytes(300n)], [0xac, 0x02]);
  assert.deepEqual([...varintBytes(1n, 3)], [0x81, 0x80, 0x00]);
});

test('mutating a Buffer sample never changes the sample (a Buffer slice is a view)', () => {
  const original = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
  const sample = Buffer.from(original);
  const r = new Rand(99);
  for (let i = 0; i < 2000; i++) {
    mutate(r, sample, [sample]);
    mutateDatagram(r, sample, [sample]);
  }
  assert.deepEqual(sample, original);
});
