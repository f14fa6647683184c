import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';

import { ManualClock } from '../../pkg/clock/clock.js';
import { Logger } from '../../pkg/log/logger.js';
import { NodePortMap, PORTMAP_START_DELAY_MS } from '../../pkg/portmap/node-portmap.js';

// Port mapping starts PORTMAP_START_DELAY_MS after the node, not at once: the node's start is when the first
// tunnel's packets arrive, and loading and running the mapper then delayed that tunnel (cold tunnel, bench/latency.ts).
// The gateway is injected and answers "none", so no mapping request leaves this process.

function nodePortMap(clock: ManualClock, asked: { n: number }): NodePortMap {
  return new NodePortMap({
    clock,
    log: new Logger('error', 'text', () => {}),
    lifetimeSec: 7200,
    localPort: () => 4242,
    seenIp: () => undefined,
    sendUpdate: () => {},
    gateway: async () => {
      asked.n++;
      return null;
    },
  });
}

/** Lets the dynamic imports and promise chains of start() run (bounded). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await tick();
}

test('port mapping is loaded and run only once its start delay has passed', { timeout: 5000 }, async () => {
  const clock = new ManualClock();
  const asked = { n: 0 };
  const pm = nodePortMap(clock, asked);
  const started = pm.start();
  await settle();
  clock.advance(PORTMAP_START_DELAY_MS - 1);
  await settle();
  assert.equal(asked.n, 0, 'the gateway was looked up before the delay');
  assert.equal(pm.report(), null, 'the mapper exists before the delay');
  clock.advance(1);
  await started;
  await settle();
  assert.ok(asked.n >= 1, 'the gateway was not looked up after the delay');
  assert.notEqual(pm.report(), null);
  await pm.stop();
});

test(
  'a node stopped during the start delay never starts port mapping, and start() returns',
  { timeout: 5000 },
  async () => {
    const clock = new ManualClock();
    const asked = { n: 0 };
    const pm = nodePortMap(clock, asked);
    const started = pm.start();
    clock.advance(PORTMAP_START_DELAY_MS / 2);
    await pm.stop();
    await started;
    clock.advance(PORTMAP_START_DELAY_MS * 4);
    await settle();
    assert.equal(asked.n, 0);
    assert.equal(pm.report(), null);
  },
);
