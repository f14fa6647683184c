import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { test } from 'node:test';

import { ManualClock, systemClock } from '../../pkg/clock/clock.js';
import { warmUp } from '../../pkg/daemon/warm-up.js';
import {
  scheduleWarmUp,
  WARM_UP_FALLBACK_MS,
  WARM_UP_GIVE_UP_MS,
  WARM_UP_IDLE_MS,
  WARM_UP_COUNTER,
  WARM_UP_QUIET_MS,
  WarmUpTimedOut,
  type RealDataPath,
} from '../../pkg/daemon/warm-up-schedule.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { connect, TestMesh } from './helpers/mesh.js';
import { FakeTunnels, fakeWarmUpHost } from './helpers/warm-up-host.js';
import { waitFor } from './helpers/wait.js';

// The daemon's warm-up (issue 19): one in-process first contact through a lighthouse between throwaway nodes, so the
// first real one runs code V8 has seen. It must complete, send nothing the real node sees and leave nothing in it.

test(
  'the warm-up completes a handshake and data both ways, and leaves no state or handle in a running node',
  { timeout: 20_000 },
  async (t) => {
    // The real nodes on a ManualClock: none of their own timers runs while the warm-up does, so any change is its.
    const mesh = new TestMesh(t, { clock: new ManualClock() });
    const a = await mesh.node({ vpnIp: '10.99.0.1', name: 'a', peers: ['10.99.0.2'] });
    const b = await mesh.node({ vpnIp: '10.99.0.2', name: 'b', peers: ['10.99.0.1'] });
    await connect(a, b);
    const before = {
      counters: [a, b].map((n) => JSON.stringify(n.node.counters.snapshot())),
      tunnels: [a, b].map((n) => [...n.node.hostmap.hosts()].length),
      delivered: mesh.net.delivered,
      written: a.tun.written.length + b.tun.written.length,
      resources: process.getActiveResourcesInfo().sort().join(','),
      descriptors: readdirSync('/proc/self/fd').length,
    };
    // Resolves only once every packet crossed the throwaway tunnel both ways (on its own ManualClock, whose timers
    // tell whether the throwaway nodes were stopped: a stopped node keeps none).
    const warmClock = new ManualClock();
    await warmUp(warmClock);
    // A path-health probe timer (400 ms, one shot) outlives a node's stop; periodic timers would not run out.
    warmClock.advance(1000);
    assert.equal(warmClock.pending, 0, 'the throwaway nodes are stopped and the timeout cancelled');
    assert.equal(mesh.net.delivered, before.delivered, "nothing was sent on the real nodes' network");
    assert.deepEqual(
      [a, b].map((n) => JSON.stringify(n.node.counters.snapshot())),
      before.counters,
    );
    assert.deepEqual(
      [a, b].map((n) => [...n.node.hostmap.hosts()].length),
      before.tunnels,
    );
    assert.equal(a.tun.written.length + b.tun.written.length, before.written);
    // An Immediate a stopping node queued (CI at 95e9603 saw two left as warmUp resolved) runs out within a turn or
    // two; a handle, timer or re-arming Immediate the warm-up left stays, and fails this after 1 s.
    const resources = (): string => process.getActiveResourcesInfo().sort().join(',');
    await waitFor(() => resources() === before.resources, {
      timeoutMs: 1000,
      what: () => `the active resources of before the warm-up (${before.resources}), now ${resources()}`,
    });
    // Its sockets and TUN socketpairs are closed: the warm-up runs on the daemon's real I/O classes.
    assert.equal(readdirSync('/proc/self/fd').length, before.descriptors, 'no descriptor left open');
  },
);

test('the throwaway nodes run on sockets and socketpairs, the I/O classes of a daemon, not in-memory twins', async () => {
  // In-memory twins made V8 throw out the data path's optimized code ("wrong map") when real traffic had run first.
  const sockets = (): number =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
      } catch {
        return false; // closed meanwhile
      }
    }).length;
  const before = sockets();
  let most = before;
  let running = true;
  const run = warmUp(systemClock).finally(() => (running = false));
  for (let i = 0; i < 5000 && running; i++) {
    most = Math.max(most, sockets());
    await new Promise((resolve) => setImmediate(resolve));
  }
  await run;
  // Three UDP sockets and three socketpairs (two ends each) at once, all closed again.
  assert.ok(most - before >= 9, `at most ${most - before} sockets of the warm-up open at once`);
  assert.equal(sockets(), before);
});

test('the warm-up costs bounded CPU when its code has run before (the daemon has run its start-up)', async () => {
  await warmUp(systemClock);
  const cpu = process.cpuUsage();
  await warmUp(systemClock);
  const used = process.cpuUsage(cpu);
  // Measured ~11 ms on a loaded 2-core machine; the bound leaves room for load, not for a runaway loop.
  assert.ok((used.user + used.system) / 1000 < 200, `warm-up took ${(used.user + used.system) / 1000} ms CPU`);
});

test(
  'run again in the same process (the re-warm, warm-up-rewarm.ts), it leaves no descriptor or handle',
  { timeout: 20_000 },
  async () => {
    await warmUp(systemClock);
    const resources = (): string => process.getActiveResourcesInfo().sort().join(',');
    await waitFor(() => !resources().includes('Immediate'), { timeoutMs: 1000, what: resources });
    const before = { resources: resources(), descriptors: readdirSync('/proc/self/fd').length };
    for (let i = 0; i < 3; i++) {
      const clock = new ManualClock();
      await warmUp(clock);
      clock.advance(1000);
      assert.equal(clock.pending, 0, `run ${i}: the throwaway nodes are stopped and the timeout cancelled`);
      assert.equal(readdirSync('/proc/self/fd').length, before.descriptors, `run ${i}: no descriptor left open`);
    }
    await waitFor(() => resources() === before.resources, {
      timeoutMs: 1000,
      what: () => `the active resources of before the runs (${before.resources}), now ${resources()}`,
    });
  },
);

test('no warm-up step starts while the real data path is busy, and it completes once it is quiet', async () => {
  // The throwaway nodes run on this clock; the real data path is the test's switch. Their stop waits ~50 ms of real
  // time, so the loops below give real time too (a few ms per step), bounded.
  const clock = new ManualClock();
  let busy = true;
  let doneAt = -1;
  const run = warmUp(clock, { quietFor: () => !busy }).then(() => (doneAt = clock.now()));
  const step = (ms: number): Promise<void> =>
    new Promise((resolve) =>
      setTimeout(() => {
        clock.advance(ms);
        resolve();
      }, 2),
    );
  // 400 ms of real traffic (simulated), in more real time than an unheld warm-up takes (~100 ms): no throwaway
  // datagram arrives, so it cannot finish.
  for (let i = 0; i < 100; i++) await step(4);
  assert.equal(doneAt, -1, 'the warm-up went on while the real data path was busy');
  busy = false;
  const quietFrom = clock.now();
  for (let i = 0; i < 1000 && doneAt < 0; i++) await step(1);
  await run;
  // Its timeout (2 s of its clock from its start) had not come: it completed rather than gave up.
  assert.ok(doneAt >= quietFrom && doneAt < 2000, `done at ${doneAt} ms`);
  clock.advance(1000);
  assert.equal(clock.pending, 0, 'no timer left behind');
});

interface Scheduled {
  clock: ManualClock;
  tunnels: FakeTunnels;
  counters: Counters;
  /** The node's log lines at info and above. */
  logged: string[];
  /** When the warm-up ran, and what it was told to yield to. */
  runs: number[];
  yieldTo: RealDataPath[];
  cancel: () => void;
}

/** A schedule whose run records when it ran and then ends as `outcome` says (resolves unless it throws). */
function schedule(tunnelsUp = 0, outcome: () => void = () => {}): Scheduled {
  const host = fakeWarmUpHost();
  const { clock, tunnels, counters, logged } = host;
  tunnels.size = tunnelsUp;
  const runs: number[] = [];
  const yieldTo: RealDataPath[] = [];
  const cancel = scheduleWarmUp(host, async (c, path) => {
    runs.push(c.now());
    yieldTo.push(path);
    outcome();
  });
  return { clock, tunnels, counters, logged, runs, yieldTo, cancel };
}

test('the warm-up runs once, a short idle after the first tunnel is installed', () => {
  const s = schedule();
  s.clock.advance(500);
  s.tunnels.install();
  s.clock.advance(WARM_UP_IDLE_MS - 1);
  assert.deepEqual(s.runs, []);
  s.clock.advance(1);
  assert.deepEqual(s.runs, [500 + WARM_UP_IDLE_MS]);
  s.tunnels.install();
  s.clock.advance(WARM_UP_FALLBACK_MS * 2);
  assert.deepEqual(s.runs, [500 + WARM_UP_IDLE_MS], 'once per process');
  assert.equal(s.tunnels.installed.size, 0, 'no listener left behind');
  assert.equal(s.clock.pending, 0, 'no timer left behind');
});

test('without a tunnel the warm-up runs after the fallback delay; cancelled, it never runs', () => {
  const s = schedule();
  s.clock.advance(WARM_UP_FALLBACK_MS - 1);
  assert.deepEqual(s.runs, []);
  s.clock.advance(1);
  assert.deepEqual(s.runs, [WARM_UP_FALLBACK_MS]);

  const c = schedule();
  c.tunnels.install();
  c.cancel();
  c.clock.advance(WARM_UP_FALLBACK_MS * 2);
  assert.deepEqual(c.runs, []);
  assert.equal(c.tunnels.installed.size, 0);
  assert.equal(c.clock.pending, 0);
});

test('a tunnel already up when the daemon schedules the warm-up counts as the first one', () => {
  const s = schedule(1);
  s.clock.advance(WARM_UP_IDLE_MS);
  assert.deepEqual(s.runs, [WARM_UP_IDLE_MS]);
  assert.equal(s.tunnels.installed.size, 0);
});

test('the warm-up waits while the data path is busy and runs once it has been quiet for a while', () => {
  const s = schedule();
  s.tunnels.install();
  // Pings every 10 ms from the install on, for a second: the warm-up's stall would delay the ones it overlaps.
  for (let t = 0; t < 1000; t += 10) {
    s.tunnels.traffic[t % 20 === 0 ? 'lastSendAt' : 'lastRecvAt'] = s.clock.now();
    s.clock.advance(10);
    assert.deepEqual(s.runs, [], `ran at ${s.clock.now()} ms while traffic flowed`);
  }
  const last = 990;
  s.clock.advance(last + WARM_UP_QUIET_MS - s.clock.now() - 1);
  assert.deepEqual(s.runs, []);
  s.clock.advance(1);
  assert.deepEqual(s.runs, [last + WARM_UP_QUIET_MS], 'once quiet for WARM_UP_QUIET_MS');
  s.clock.advance(WARM_UP_GIVE_UP_MS * 2);
  assert.equal(s.runs.length, 1);
  assert.equal(s.clock.pending, 0, 'no timer left behind');
});

test('a data path that is never quiet gets the warm-up at the give-up bound, yielding only to the event loop', () => {
  const s = schedule();
  s.tunnels.install();
  // A lighthouse's thousands of updates, or a stream from boot on: a packet every WARM_UP_QUIET_MS / 2.
  const dueAt = WARM_UP_IDLE_MS;
  const busyUntil = dueAt + WARM_UP_GIVE_UP_MS + 1000;
  const step = WARM_UP_QUIET_MS / 2;
  for (let t = 0; t < busyUntil; t += step) {
    s.tunnels.traffic.lastRecvAt = s.clock.now();
    s.clock.advance(step);
    if (s.clock.now() < dueAt + WARM_UP_GIVE_UP_MS) assert.deepEqual(s.runs, [], `ran at ${s.clock.now()} ms`);
  }
  assert.deepEqual(s.runs, [dueAt + WARM_UP_GIVE_UP_MS], 'run once, at the give-up bound');
  assert.equal(s.yieldTo[0].quietFor(WARM_UP_QUIET_MS), true, 'its steps do not wait for a quiet data path');
  s.clock.advance(WARM_UP_GIVE_UP_MS * 2);
  assert.equal(s.runs.length, 1, 'once per process');
  assert.equal(s.clock.pending, 0, 'no timer left behind');
  assert.equal(s.tunnels.installed.size, 0, 'no listener left behind');
});

test('a warm-up run once the data path went quiet yields to it', () => {
  const s = schedule();
  s.tunnels.install();
  s.clock.advance(WARM_UP_IDLE_MS);
  assert.equal(s.runs.length, 1);
  s.tunnels.traffic.lastSendAt = s.clock.now();
  assert.equal(s.yieldTo[0].quietFor(1), false, 'a packet just now: busy');
  s.clock.advance(5);
  assert.equal(s.yieldTo[0].quietFor(5), true);
});

test("the warm-up's outcome is counted on the node's counters, and a failure is logged at info", async () => {
  // A benchmark reads the counter to tell a run with the warm-up from one without (it needs loopback, the addon
  // and six descriptors, and gives up after 2 s).
  const outcomes = [
    { label: 'done', end: (): void => {} },
    {
      label: 'timed-out',
      end: (): void => {
        throw new WarmUpTimedOut(2000);
      },
    },
    {
      label: 'failed',
      end: (): void => {
        throw new Error('the native addon is not built');
      },
    },
  ];
  for (const { label, end } of outcomes) {
    const s = schedule(0, end);
    s.clock.advance(WARM_UP_FALLBACK_MS);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(s.runs.length, 1);
    assert.deepEqual(s.counters.snapshot()[WARM_UP_COUNTER], { [label]: 1 }, `a run that ended ${label}`);
    const failures = s.logged.filter((l) => l.includes('Warm-up did not complete'));
    assert.equal(failures.length, label === 'done' ? 0 : 1, s.logged.join('\n'));
  }
});

test('a warm-up held past its timeout rejects as timed out, which the schedule counts apart from failures', async () => {
  const clock = new ManualClock();
  // A real data path that never goes quiet: no step starts, so only the timeout can end it.
  const run = warmUp(clock, { quietFor: () => false });
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  clock.advance(2000);
  await assert.rejects(run, WarmUpTimedOut);
  clock.advance(1000);
  assert.equal(clock.pending, 0, 'no timer left behind');
});
