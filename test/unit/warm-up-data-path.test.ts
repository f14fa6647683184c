import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import {
  DATA_PATH_COUNTER,
  DATA_PATH_DELAY_MS,
  DATA_PATH_EXCHANGES,
  DATA_PATH_QUIET_MS,
  DATA_PATH_TIMEOUT_MS,
  ReceiveActivity,
  scheduleDataPathWarmUp,
  type DataPathWarmUp,
} from '../../pkg/daemon/warm-up-data-path.js';
import { WARM_UP_YIELD_MS } from '../../pkg/daemon/warm-up-pacer.js';
import { WARM_UP_GIVE_UP_MS, WarmUpTimedOut, type RealDataPath } from '../../pkg/daemon/warm-up-schedule.js';
import { fakeWarmUpHost, type FakeWarmUpHost } from './helpers/warm-up-host.js';
import { connect, TestMesh } from './helpers/mesh.js';

// The warm-up's data-path run (pkg/daemon/warm-up-data-path.ts): once per process, after the first run ended and a
// delay, once the node received nothing for a while; yields to any real datagram or TUN read; skipped at the give-up.

interface Scheduled {
  host: FakeWarmUpHost;
  /** The real node's receive count, moved by the test as packets would. */
  count: { received: number };
  schedule: DataPathWarmUp;
  runs: Array<{ at: number; yieldTo: RealDataPath; exchanges: number; timeoutMs: number; end: (e?: Error) => void }>;
  /** Ends the first run (the wrapped one), as the first schedule would see it. */
  endFirst: () => Promise<void>;
}

function scheduled(): Scheduled {
  const host = fakeWarmUpHost();
  const count = { received: 0 };
  const runs: Scheduled['runs'] = [];
  const schedule = scheduleDataPathWarmUp(host, count, (clock, yieldTo, exchanges, timeoutMs) => {
    return new Promise((resolve, reject) => {
      runs.push({ at: clock.now(), yieldTo, exchanges, timeoutMs, end: (e) => (e ? reject(e) : resolve()) });
    });
  });
  let endFirst = (): void => {};
  const first = schedule.after(() => new Promise<void>((resolve) => (endFirst = resolve)));
  const ran = first(host.clock, { quietFor: () => true });
  return {
    host,
    count,
    schedule,
    runs,
    endFirst: async () => {
      endFirst();
      await ran;
    },
  };
}

/** Lets the run's settlement handlers run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('the data-path run starts after the first run ended, its delay and a quiet period, once, with its exchanges', async () => {
  const s = scheduled();
  s.host.clock.advance(60_000);
  assert.equal(s.runs.length, 0, 'never before the first run ended');
  await s.endFirst();
  const endedAt = s.host.clock.now();
  s.host.clock.advance(DATA_PATH_DELAY_MS + DATA_PATH_QUIET_MS - 1);
  assert.equal(s.runs.length, 0, 'not before the delay and a whole quiet period');
  s.host.clock.advance(1);
  assert.equal(s.runs.length, 1);
  assert.equal(s.runs[0]!.at, endedAt + DATA_PATH_DELAY_MS + DATA_PATH_QUIET_MS);
  assert.equal(s.runs[0]!.exchanges, DATA_PATH_EXCHANGES);
  assert.equal(s.runs[0]!.timeoutMs, DATA_PATH_TIMEOUT_MS);
  s.runs[0]!.end();
  await settle();
  assert.equal(s.host.counters.get(DATA_PATH_COUNTER, 'done'), 1);
  s.host.clock.advance(10 * 60_000);
  assert.equal(s.runs.length, 1, 'once per process');
});

test('the data-path run waits while the node receives anything, and its steps yield to any real datagram', async () => {
  const s = scheduled();
  await s.endFirst();
  s.host.clock.advance(DATA_PATH_DELAY_MS);
  // A handshake or lighthouse answer every 100 ms for 5 s (no tunnel's traffic moves: the count is all there is).
  for (let t = 0; t < 5000; t += 100) {
    s.count.received++;
    s.host.clock.advance(100);
    assert.equal(s.runs.length, 0, `not while packets arrive (at ${t} ms)`);
  }
  s.host.clock.advance(2 * DATA_PATH_QUIET_MS);
  assert.equal(s.runs.length, 1, 'once the node has been quiet');
  const { yieldTo } = s.runs[0]!;
  assert.equal(yieldTo.quietFor(WARM_UP_YIELD_MS), true);
  s.count.received++;
  assert.equal(yieldTo.quietFor(WARM_UP_YIELD_MS), false, 'a step waits after a real datagram');
  s.host.clock.advance(WARM_UP_YIELD_MS - 1);
  assert.equal(yieldTo.quietFor(WARM_UP_YIELD_MS), false);
  s.host.clock.advance(1);
  assert.equal(yieldTo.quietFor(WARM_UP_YIELD_MS), true, 'and goes on once it has been quiet');
  s.runs[0]!.end(new WarmUpTimedOut(DATA_PATH_TIMEOUT_MS));
  await settle();
  assert.equal(s.host.counters.get(DATA_PATH_COUNTER, 'timed-out'), 1);
});

test('on a node that never pauses the data-path run is skipped at the give-up, never run without yielding', async () => {
  const s = scheduled();
  await s.endFirst();
  // A packet every 50 ms, far past the give-up bound (bounded loop).
  for (let t = 0; t < DATA_PATH_DELAY_MS + WARM_UP_GIVE_UP_MS + 10_000; t += 50) {
    s.count.received++;
    s.host.clock.advance(50);
  }
  assert.equal(s.runs.length, 0);
  assert.equal(s.host.counters.get(DATA_PATH_COUNTER, 'skipped'), 1);
  assert.equal(s.host.clock.pending, 0, 'no timer left once skipped');
  s.host.clock.advance(10 * 60_000);
  assert.equal(s.runs.length, 0, 'and not run later');
});

test('a cancelled data-path schedule never runs', async () => {
  const s = scheduled();
  await s.endFirst();
  s.schedule.cancel();
  s.host.clock.advance(10 * 60_000);
  assert.equal(s.runs.length, 0);
  assert.equal(s.host.clock.pending, 0);
});

test('ReceiveActivity: a change of the count since the last look is activity at that look', () => {
  const clock = new ManualClock(1000);
  const count = { received: 7 };
  const activity = new ReceiveActivity(clock, count);
  assert.equal(activity.quietFor(10), false, 'nothing known before its creation: counted as activity then');
  clock.advance(10);
  assert.equal(activity.quietFor(10), true);
  count.received++;
  clock.advance(100);
  assert.equal(activity.quietFor(10), false);
  clock.advance(10);
  assert.equal(activity.quietFor(10), true);
});

test('a node counts every datagram and TUN packet it receives, handshakes included (what the run yields to)', async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: '10.1.0.1', name: 'a', peers: ['10.1.0.2'] });
  const b = await mesh.node({ vpnIp: '10.1.0.2', name: 'b', peers: ['10.1.0.1'] });
  assert.equal(a.node.received, 0);
  await connect(a, b);
  // a: the packet read from its TUN and the handshake's reply; b: the handshake's first message and the data.
  assert.ok(a.node.received >= 2, `a received ${a.node.received}`);
  assert.ok(b.node.received >= 2, `b received ${b.node.received}`);
});
