import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { idleHelperThreads, type ProcessThreads } from '../../pkg/launch/helper-threads.js';
import { loadNativeAddon } from '../../pkg/native/addon.js';

// The daemon puts V8's helper threads at SCHED_IDLE so a packet's wake-up never waits for the process's own compile
// job (pkg/launch/helper-threads.ts). The policy on a recorded thread list, then the real thing in a child node
// (scheduling is per thread and this test's own process should keep its own).

const HELPER_THREADS = fileURLToPath(new URL('../../pkg/launch/helper-threads.js', import.meta.url));

/** A thread list that records which threads were moved and fails for the ids in `errors` with that code. */
function recordedThreads(ids: number[], errors: Record<number, string> = {}): ProcessThreads & { idle: number[] } {
  const idle: number[] = [];
  return {
    idle,
    ids: () => ids,
    setIdle: (tid) => {
      const code = errors[tid];
      if (code !== undefined) throw Object.assign(new Error(code), { code });
      idle.push(tid);
    },
  };
}

test('every thread but the main one goes to SCHED_IDLE', () => {
  const threads = recordedThreads([100, 101, 102, 103]);
  const outcome = idleHelperThreads(100, threads, {});
  assert.deepEqual(threads.idle, [101, 102, 103]);
  assert.deepEqual(outcome, { idled: 3, failed: [], skipped: false });
});

test('MESH_HELPER_THREADS=normal leaves every thread as it is', () => {
  const threads = recordedThreads([100, 101]);
  assert.deepEqual(idleHelperThreads(100, threads, { MESH_HELPER_THREADS: 'normal' }), {
    idled: 0,
    failed: [],
    skipped: true,
  });
  assert.deepEqual(threads.idle, []);
});

test('a thread that exited meanwhile is skipped; any other failure is reported and the rest still move', () => {
  const threads = recordedThreads([100, 101, 102, 103], { 101: 'ESRCH', 102: 'EPERM' });
  const outcome = idleHelperThreads(100, threads, {});
  assert.deepEqual(threads.idle, [103]);
  assert.deepEqual(outcome, { idled: 1, failed: [{ tid: 102, code: 'EPERM' }], skipped: false });
});

test('the addon refuses a thread id that is not one of this process (nothing of another process is changed)', () => {
  const addon = loadNativeAddon();
  // pid 1 is init's main thread: never a thread of this process.
  assert.throws(() => addon.thread_set_idle(1), { code: 'ESRCH' });
  assert.throws(() => addon.thread_set_idle(0), RangeError);
});

/** Scheduling policy of each thread of the child (field 41 of /proc/<pid>/task/<tid>/stat; SCHED_IDLE is 5). */
const POLICIES = `
  import { readdirSync, readFileSync } from 'node:fs';
  const policies = () => Object.fromEntries(readdirSync('/proc/self/task').map((t) => {
    const stat = readFileSync('/proc/self/task/' + t + '/stat', 'utf8');
    return [t, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38])];
  }));
`;

test('in a real node process the main thread keeps its policy and all others are at SCHED_IDLE', () => {
  const script = `${POLICIES}
    import { idleHelperThreads } from ${JSON.stringify(HELPER_THREADS)};
    const before = policies();
    const outcome = idleHelperThreads();
    process.stdout.write(JSON.stringify({ pid: process.pid, before, after: policies(), outcome }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  const { pid, before, after, outcome } = JSON.parse(r.stdout) as {
    pid: number;
    before: Record<string, number>;
    after: Record<string, number>;
    outcome: { idled: number; failed: unknown[] };
  };
  const helpers = Object.keys(after).filter((tid) => Number(tid) !== pid);
  assert.ok(helpers.length >= 4, `node has its platform's worker threads (${helpers.length} threads besides main)`);
  assert.ok(
    helpers.every((tid) => before[tid] === 0),
    'they start at SCHED_OTHER: the check below proves something',
  );
  assert.equal(after[String(pid)], 0, 'the main thread stays at SCHED_OTHER');
  for (const tid of helpers) assert.equal(after[tid], 5, `thread ${tid} is at SCHED_IDLE`);
  assert.deepEqual(outcome.failed, []);
  assert.equal(outcome.idled, helpers.length);
});
