// punchy.punch on a real MeshNode (pkg/punchy/spread-rounds.ts wired in daemon/node.ts): each tunnel gets one
// keep-alive byte per 10 s interval, and a tunnel closed since the last round gets none.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import { KEEPALIVE_BYTE } from '../../pkg/punchy/punchy.js';
import { sameAddr } from '../../pkg/udp/addr.js';
import { connect, TestMesh } from './helpers/mesh.js';

const A = '10.99.0.1';
const B = '10.99.0.2';
const PUNCH = { punchy: { punch: true } };

test('a node with punchy.punch sends each tunnel one keep-alive per interval, and none once it is closed', async (t) => {
  const mesh = new TestMesh(t);
  const clock = new ManualClock(1_000_000);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], clock, config: PUNCH });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], clock });
  await connect(a, b);
  const keepAlives = (): number =>
    a.memUdp!.sent.filter((s) => s.packet.length === 1 && s.packet[0] === KEEPALIVE_BYTE[0] && sameAddr(s.to, b.addr))
      .length;
  const before = keepAlives();
  for (let i = 0; i < 30; i++) clock.advance(1000);
  // Rounds start 10 s after the node did; 30 s of simulated time hold two or three of them.
  const inThirty = keepAlives() - before;
  assert.ok(inThirty >= 2 && inThirty <= 3, `${inThirty} keep-alives in 30 s`);

  const tunnel = a.tunnelTo(b)!;
  a.node.closeTunnel(tunnel, 'test', false);
  const afterClose = keepAlives();
  for (let i = 0; i < 20; i++) clock.advance(1000);
  assert.equal(keepAlives(), afterClose, 'a closed tunnel gets no keep-alive');
});
