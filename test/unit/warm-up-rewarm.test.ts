import assert from 'node:assert/strict';
import { constants, PerformanceObserver, type NodeGCPerformanceDetail, type PerformanceEntry } from 'node:perf_hooks';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import type { Clock } from '../../pkg/clock/clock.js';
import { ProcessMajorGcs, type MajorGcs } from '../../pkg/daemon/major-gcs.js';
import {
  REWARM_AFTER_MAJOR_GCS,
  REWARM_COUNTER,
  REWARM_MIN_INTERVAL_MS,
  REWARM_QUIET_MS,
  scheduleRewarm,
} from '../../pkg/daemon/warm-up-rewarm.js';
import { WARM_UP_GIVE_UP_MS, WarmUpTimedOut, type RealDataPath } from '../../pkg/daemon/warm-up-schedule.js';
import { fakeWarmUpHost, type FakeWarmUpHost } from './helpers/warm-up-host.js';
import { waitFor } from './helpers/wait.js';

// The warm-up's second phase (pkg/daemon/warm-up-rewarm.ts): the throwaway first contact run again once V8 may have
// discarded the bytecode the first run warmed (after major GCs), at most once per interval, when the data path is
// quiet, never in the middle of traffic unless it never pauses.

/** Major GCs the test fires by hand. */
class FakeGcs implements MajorGcs {
  readonly listeners = new Set<() => void>();
  onMajorGc(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  fire(n = 1): void {
    for (let i = 0; i < n; i++) for (const l of [...this.listeners]) l();
  }
}

interface Rewarm {
  host: FakeWarmUpHost;
  gcs: FakeGcs;
  /** When each run started, what it yielded to, and how to end it (runs stay pending until ended). */
  runs: Array<{ at: number; yieldTo: RealDataPath; end: (e?: Error) => void }>;
  cancel: () => void;
}

function rewarm(): Rewarm {
  const host = fakeWarmUpHost();
  const gcs = new FakeGcs();
  const runs: Rewarm['runs'] = [];
  const run = (clock: Clock, yieldTo: RealDataPath): Promise<void> =>
    new Promise((resolve, reject) => {
      runs.push({ at: clock.now(), yieldTo, end: (e) => (e ? reject(e) : resolve()) });
    });
  const cancel = scheduleRewarm(host, gcs, run);
  return { host, gcs, runs, cancel };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('the re-warm waits for its interval and its major GCs, then runs once the data path is quiet', async () => {
  const s = rewarm();
  // An idle node: no major GC, no re-warm, however long it runs, and no timer meanwhile.
  s.host.clock.advance(REWARM_MIN_INTERVAL_MS * 3);
  assert.equal(s.runs.length, 0);
  assert.equal(s.host.clock.pending, 0, 'no timer while no GC came');
  s.gcs.fire(REWARM_AFTER_MAJOR_GCS - 1);
  s.host.clock.advance(REWARM_MIN_INTERVAL_MS);
  assert.equal(s.runs.length, 0, 'one GC short');
  s.gcs.fire();
  const at = s.host.clock.now();
  assert.deepEqual(
    s.runs.map((r) => r.at),
    [at],
    'quiet since ever: at once',
  );
  // GCs while it runs do not start another.
  s.gcs.fire(REWARM_AFTER_MAJOR_GCS * 2);
  s.host.clock.advance(REWARM_MIN_INTERVAL_MS);
  assert.equal(s.runs.length, 1);
  s.runs[0].end();
  await turn();
  assert.deepEqual(s.host.counters.snapshot()[REWARM_COUNTER], { done: 1 });

  // The count and the interval start again when a run ends: GCs soon after wait for the interval's end.
  const endedAt = s.host.clock.now();
  s.host.clock.advance(1000);
  s.gcs.fire(REWARM_AFTER_MAJOR_GCS - 1);
  assert.equal(s.host.clock.pending, 0, 'the GCs during the run count for nothing');
  s.gcs.fire();
  s.host.clock.advance(REWARM_MIN_INTERVAL_MS - 1000 - 1);
  assert.equal(s.runs.length, 1, 'not within the interval');
  s.host.clock.advance(1);
  assert.deepEqual(
    s.runs.map((r) => r.at),
    [at, endedAt + REWARM_MIN_INTERVAL_MS],
  );
  s.runs[1].end();
  await turn();
  s.cancel();
  assert.equal(s.gcs.listeners.size, 0, 'no listener left behind');
  assert.equal(s.host.clock.pending, 0, 'no timer left behind');
});

test('a due re-warm pauses while real packets flow and starts once they paused REWARM_QUIET_MS', () => {
  const s = rewarm();
  s.host.clock.advance(REWARM_MIN_INTERVAL_MS);
  // Pings every 100 ms for 5 s: nothing starts in between (the first run's 50 ms quiet would have).
  for (let t = 0; t < 5000; t += 100) {
    s.host.tunnels.traffic.lastRecvAt = s.host.clock.now();
    if (t === 0) s.gcs.fire(REWARM_AFTER_MAJOR_GCS);
    s.host.clock.advance(100);
    assert.equal(s.runs.length, 0, `ran at ${s.host.clock.now()} ms while traffic flowed`);
  }
  const last = s.host.tunnels.traffic.lastRecvAt;
  s.host.clock.advance(last + REWARM_QUIET_MS - s.host.clock.now() - 1);
  assert.equal(s.runs.length, 0);
  s.host.clock.advance(1);
  assert.deepEqual(
    s.runs.map((r) => r.at),
    [last + REWARM_QUIET_MS],
  );
  // Its steps yield to real packets (warm-up-pacer.ts reads this).
  s.host.tunnels.traffic.lastSendAt = s.host.clock.now();
  assert.equal(s.runs[0].yieldTo.quietFor(1), false);
  s.cancel();
});

test('on a data path that never pauses the re-warm skips its round at the give-up; cancelled, it never runs', () => {
  const s = rewarm();
  s.host.clock.advance(REWARM_MIN_INTERVAL_MS);
  s.host.tunnels.traffic.lastRecvAt = s.host.clock.now();
  s.gcs.fire(REWARM_AFTER_MAJOR_GCS);
  const dueAt = s.host.clock.now();
  for (let t = 0; t <= WARM_UP_GIVE_UP_MS + 1000; t += 100) {
    s.host.tunnels.traffic.lastRecvAt = s.host.clock.now();
    s.host.clock.advance(100);
  }
  // Unlike the first run it does not run without waiting for quiet: a busy node would get that every interval.
  assert.equal(s.runs.length, 0, 'no run while the data path never paused');
  assert.deepEqual(s.host.counters.snapshot()[REWARM_COUNTER], { skipped: 1 });
  assert.equal(s.host.clock.pending, 0, 'no timer after the skipped round');
  // Tried again after the interval from the skip; the GCs it saw still count (the code did not run), so one more
  // GC is enough, and this time the data path pauses.
  const skippedAt = dueAt + WARM_UP_GIVE_UP_MS;
  s.gcs.fire();
  s.host.clock.advance(skippedAt + REWARM_MIN_INTERVAL_MS - s.host.clock.now() - 1);
  assert.equal(s.runs.length, 0, 'not within the interval after the skip');
  s.host.clock.advance(1);
  assert.deepEqual(
    s.runs.map((r) => r.at),
    [skippedAt + REWARM_MIN_INTERVAL_MS],
  );
  s.host.tunnels.traffic.lastSendAt = s.host.clock.now();
  assert.equal(s.runs[0].yieldTo.quietFor(1), false, 'its steps yield to real packets');
  s.cancel();

  const c = rewarm();
  c.host.clock.advance(REWARM_MIN_INTERVAL_MS);
  c.host.tunnels.traffic.lastRecvAt = c.host.clock.now();
  c.gcs.fire(REWARM_AFTER_MAJOR_GCS);
  c.cancel();
  c.host.clock.advance(WARM_UP_GIVE_UP_MS * 2);
  assert.equal(c.runs.length, 0);
  assert.equal(c.host.clock.pending, 0, 'no timer left behind');
  assert.equal(c.gcs.listeners.size, 0, 'no listener left behind');
});

test('a tunnel install (a real first contact) starts the count again and drops a waiting re-warm', async () => {
  const s = rewarm();
  s.host.clock.advance(REWARM_MIN_INTERVAL_MS);
  // Between GCs: the count starts again, so the interval passes with no run and no timer.
  s.gcs.fire(REWARM_AFTER_MAJOR_GCS - 1);
  s.host.tunnels.install();
  s.gcs.fire();
  s.host.clock.advance(REWARM_MIN_INTERVAL_MS);
  assert.equal(s.runs.length, 0, 'the GCs before the install counted');
  assert.equal(s.host.clock.pending, 0);
  // Waiting for a quiet data path: dropped, nothing runs when it goes quiet.
  s.host.tunnels.traffic.lastRecvAt = s.host.clock.now();
  s.gcs.fire(REWARM_AFTER_MAJOR_GCS - 1);
  assert.equal(s.host.clock.pending, 1, 'waits for quiet');
  s.host.tunnels.install();
  s.host.clock.advance(REWARM_QUIET_MS * 2);
  assert.equal(s.runs.length, 0, 'a re-warm waiting for quiet still ran');
  assert.equal(s.host.clock.pending, 0, 'no timer left after the install');
  // Running: it runs to its end (it cannot be stopped midway), and the next waits for the interval from there.
  s.gcs.fire(REWARM_AFTER_MAJOR_GCS);
  assert.equal(s.runs.length, 1);
  s.host.tunnels.install();
  s.gcs.fire(REWARM_AFTER_MAJOR_GCS);
  assert.equal(s.runs.length, 1, 'a second run beside the running one');
  s.runs[0].end();
  await turn();
  // Waiting for the interval's end: dropped too.
  s.host.clock.advance(1000);
  s.gcs.fire(REWARM_AFTER_MAJOR_GCS);
  assert.equal(s.host.clock.pending, 1, 'waits for the interval');
  s.host.tunnels.install();
  assert.equal(s.host.clock.pending, 0, 'the wait for the interval left after the install');
  s.host.clock.advance(REWARM_MIN_INTERVAL_MS);
  assert.equal(s.runs.length, 1);
  s.cancel();
  assert.equal(s.host.tunnels.installed.size, 0, 'no install listener left behind');
});

test("the re-warm's outcomes are counted apart from the first run's, and it is tried again after a failure", async () => {
  const s = rewarm();
  const outcomes: Array<[string, Error | undefined]> = [
    ['timed-out', new WarmUpTimedOut(2000)],
    ['failed', new Error('no descriptors left')],
    ['done', undefined],
  ];
  for (const [i, [, error]] of outcomes.entries()) {
    s.host.clock.advance(REWARM_MIN_INTERVAL_MS);
    s.gcs.fire(REWARM_AFTER_MAJOR_GCS);
    assert.equal(s.runs.length, i + 1);
    s.runs[i].end(error);
    await turn();
  }
  assert.deepEqual(s.host.counters.snapshot(), { [REWARM_COUNTER]: { 'timed-out': 1, failed: 1, done: 1 } });
  assert.equal(s.host.logged.filter((l) => l.includes('Warm-up did not complete')).length, 2, s.host.logged.join('\n'));
  s.cancel();
});

test(
  'ProcessMajorGcs tells its listeners after major GCs, never after scavenges alone, and stops once none is left',
  {
    timeout: 20_000,
  },
  async (t) => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void; // a forced GC is a full mark-compact
    // The oracle: perf_hooks' own report of every GC, by kind (its entries arrive a turn or so after the GC).
    const kinds = { major: 0, minor: 0 };
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = (entry as PerformanceEntry & { detail?: NodeGCPerformanceDetail }).detail?.kind;
        if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) kinds.major++;
        if (kind === constants.NODE_PERFORMANCE_GC_MINOR) kinds.minor++;
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    t.after(() => observer.disconnect());
    const gcs = new ProcessMajorGcs();
    let seen = 0;
    const off = gcs.onMajorGc(() => seen++);
    // Short-lived garbage: scavenges, and no major GC unless V8 decides on one (then it may be told).
    let kept: number[] = [];
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 5000; i++) kept = new Array<number>(16).fill(i);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(kept.length > 0 && kinds.minor > 0, `scavenges ran (${kinds.minor})`);
    assert.ok(seen <= kinds.major, `told ${seen} times after ${kinds.major} major GCs and ${kinds.minor} scavenges`);
    for (let i = 0; i < 3; i++) {
      const before = seen;
      gc();
      await waitFor(() => seen > before, { timeoutMs: 2000, what: () => `major GC ${i} told` });
    }
    off();
    const before = seen;
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(seen, before, 'none after its listener left');
  },
);
