// Liveness traffic between a node and its lighthouse at Nebula's real settings (lighthouse.interval 60 s,
// connection_alive_interval 5 s, pending_deletion_interval 10 s), simulated on a ManualClock for 10 minutes, the
// nodes' own timers (updates, liveness checks every second) running on it. The node's
// update and the lighthouse's ack answer each other, so no check needs a test request; before, the ack scheduled a
// check on the lighthouse that nothing after it passed, and the two traded test requests every few seconds
// (docs/state-machines.md, "Liveness").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import { MessageType } from '../../pkg/header/header.js';
import { TestMesh } from './helpers/mesh.js';
import { isType } from './helpers/packets.js';
import { advanceFor, advanceUntil } from './helpers/wait.js';

const LH = '10.99.0.1';
const N = '10.99.0.2';

test('a node and its lighthouse send no liveness test requests in 10 minutes of updates every 60 s', async (t) => {
  const mesh = new TestMesh(t);
  const clock = new ManualClock(1_000_000);
  const lh = await mesh.node({
    vpnIp: LH,
    name: 'lh',
    clock,
    tun: null,
    config: { lighthouse: { am_lighthouse: true } },
  });
  const n = await mesh.node({
    vpnIp: N,
    name: 'n',
    peers: [LH],
    clock,
    config: { lighthouse: { hosts: [LH], interval: 60 } },
  });
  await advanceUntil(clock, () => n.tunnelTo(lh) !== undefined && lh.tunnelTo(n) !== undefined, {
    what: 'the lighthouse tunnel',
  });
  const tests = (x: typeof n): number => x.memUdp!.sent.filter((s) => isType(s.packet, MessageType.Test, 0)).length;
  const updates = (): number => n.node.counters.get('lighthouse', 'update-sent');
  // Counted from 10 s in: a new tunnel's first seconds carry a test request of their own (not liveness).
  await advanceFor(clock, 10_000, 100);
  const before = { n: tests(n), lh: tests(lh), updates: updates() };
  await advanceFor(clock, 600_000, 100);
  assert.equal(updates() - before.updates, 10, 'the node updated the lighthouse every 60 s on its own');
  assert.ok(n.tunnelTo(lh) && lh.tunnelTo(n), 'the tunnel stays up');
  const sent = { n: tests(n) - before.n, lh: tests(lh) - before.lh };
  assert.deepEqual(sent, { n: 0, lh: 0 }, 'test requests in minutes 0-10');
});
