import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LighthouseServerWiring } from '../../pkg/daemon/lighthouse-server-wiring.js';
import type { MeshNode } from '../../pkg/daemon/node.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';
import { MemoryStore } from '../../pkg/lighthouse/store/store.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { ManualClock } from '../../pkg/clock/clock.js';

// The server's flushSends (a query's answer leaves before its punch notification, lighthouse/server.ts) must reach
// the node's socket: without it the answer waits for the turn's end with the rest.

test("the lighthouse server's flushSends hands the node's queued sends to the socket", () => {
  let flushes = 0;
  const node = {
    counters: new Counters(),
    clock: new ManualClock(),
    hostmap: new HostMap(),
    flushSends: () => flushes++,
  } as unknown as MeshNode;
  const wiring = new LighthouseServerWiring(node, new MemoryStore());
  wiring.flushSends();
  assert.equal(flushes, 1);
});
