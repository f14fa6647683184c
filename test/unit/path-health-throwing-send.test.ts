import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { DEFAULT_UNANSWERED_MS, GIVE_UP_MS, PathHealth } from '../../pkg/datapath/path-health.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';

// A send that throws inside the detector's timer (the daemon's last resort logs it and keeps serving) must not stop
// the detector: each phase keeps its timer whatever its side effect does.

test('a probe whose send throws still leads to suspect and give-up on time', () => {
  const clock = new ManualClock(10_000);
  const host = { lastRecvAt: 10_000 } as HostInfo;
  const events: string[] = [];
  const health = new PathHealth({
    clock,
    isCurrent: () => true,
    probe: () => {
      events.push(`probe@${clock.now()}`);
      throw new Error('send failed');
    },
    suspect: () => events.push(`suspect@${clock.now()}`),
    giveUp: () => events.push(`give-up@${clock.now()}`),
  });
  const thrown: string[] = [];
  clock.advance(5);
  // 10 Hz pings into a dead path for 3 s; the timer's exception escapes advance() as it would escape a real timer.
  for (let i = 0; i < 30; i++) {
    health.sent(host);
    try {
      clock.advance(100);
    } catch (e) {
      thrown.push((e as Error).message);
    }
  }
  const t0 = 10_005;
  assert.ok(thrown.length >= 1 && thrown.every((m) => m === 'send failed'), 'the probe threw');
  assert.equal(events[0], `probe@${t0 + DEFAULT_UNANSWERED_MS}`);
  // The suspect phase's own probes throw too (path-health.test checks when they go out).
  assert.deepEqual(events.filter((e) => !e.startsWith('probe@')).slice(0, 2), [
    `suspect@${t0 + 2 * DEFAULT_UNANSWERED_MS}`,
    `give-up@${t0 + 2 * DEFAULT_UNANSWERED_MS + GIVE_UP_MS}`,
  ]);
});
