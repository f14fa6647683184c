import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { feedbackFromFirstCall } from '../../pkg/launch/eager-feedback.js';

// The daemon turns V8's lazy feedback allocation off before it starts, so code that runs a few times per process (a
// first contact) runs with inline caches. Checked in a child node (V8's flags are per process), which prints the
// function with a V8 intrinsic: a function without its vector shows "No feedback vector".

const EAGER = fileURLToPath(new URL('../../pkg/launch/eager-feedback.js', import.meta.url));

/** Whether a function called once, after feedbackFromFirstCall() if `eager`, has its feedback vector. */
function hasFeedbackAfterOneCall(eager: boolean): boolean {
  const script = `
    import { feedbackFromFirstCall } from ${JSON.stringify(EAGER)};
    if (${eager}) feedbackFromFirstCall([], {});
    function once(o) { return o.x + 1; }
    once({ x: 1 });
    %DebugPrint(once);
  `;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const line = r.stdout.split('\n').find((l) => l.includes('feedback vector:'));
  assert.ok(line !== undefined, `no feedback vector line in %DebugPrint's output:\n${r.stdout}`);
  return !line.includes('No feedback vector');
}

test('after feedbackFromFirstCall a function called once has its feedback vector; with V8 default it has none', () => {
  assert.equal(
    hasFeedbackAfterOneCall(false),
    false,
    'V8 already allocates at the first call: the check proves nothing',
  );
  assert.equal(hasFeedbackAfterOneCall(true), true);
});

test('feedbackFromFirstCall leaves the flags alone in the code-cache training run and when node is given the flag', () => {
  assert.equal(feedbackFromFirstCall([], { MESH_WRITE_CODE_CACHE: '1' }), false);
  assert.equal(feedbackFromFirstCall(['--lazy-feedback-allocation'], {}), false);
  assert.equal(feedbackFromFirstCall(['--no-lazy_feedback_allocation'], {}), false);
  assert.equal(
    feedbackFromFirstCall([], { NODE_OPTIONS: '--max-old-space-size=512 --lazy-feedback-allocation' }),
    false,
  );
});

test("node's modules a daemon loads later are loaded before the flag is set, while their code cache still fits", () => {
  // A flag set at run time changes V8's flag hash: a module first loaded after it compiles from source.
  const script = `
    import { feedbackFromFirstCall, DAEMON_BUILTINS } from ${JSON.stringify(EAGER)};
    const loaded = (id) => process.moduleLoadList.includes('NativeModule ' + id);
    const before = DAEMON_BUILTINS.filter(loaded);
    feedbackFromFirstCall([], {});
    process.stdout.write(JSON.stringify({ before, after: DAEMON_BUILTINS.filter(loaded), all: DAEMON_BUILTINS }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  const { before, after, all } = JSON.parse(r.stdout) as Record<string, string[]>;
  assert.notDeepEqual(before, all, 'a fresh node already has them all: the check proves nothing');
  assert.deepEqual(after, all);
});
