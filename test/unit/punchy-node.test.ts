// punchy.punch on a real MeshNode (pkg/punchy/spread-rounds.ts wired in daemon/node.ts): each tunnel gets one
// keep-alive byte per 10 s interval, and a tunnel closed since the last round gets none; a tunnel that sent to its
// remote within the interval needs none.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { KEEPALIVE_BYTE, PUNCH_INTERVAL_MS, sentToRemoteRecently } from '../../pkg/punchy/punchy.js';
import { addrKey, sameAddr, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { connect, TestMesh, underlayOf } from './helpers/mesh.js';
import { udpPacket } from './helpers/packets.js';

const A = '10.99.0.1';
const B = '10.99.0.2';
const PUNCH = { punchy: { punch: true } };

/** a (with punchy.punch) and b connected on a ManualClock; keepAlives counts a's keep-alive bytes to b. */
async function punchPair(t: TestContext) {
  const mesh = new TestMesh(t);
  const clock = new ManualClock(1_000_000);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], clock, config: PUNCH });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], clock });
  await connect(a, b);
  const keepAlives = (): number =>
    a.memUdp!.sent.filter((s) => s.packet.length === 1 && s.packet[0] === KEEPALIVE_BYTE[0] && sameAddr(s.to, b.addr))
      .length;
  return { clock, a, b, keepAlives };
}

test('a node with punchy.punch sends each tunnel one keep-alive per interval, and none once it is closed', async (t) => {
  const { clock, a, b, keepAlives } = await punchPair(t);
  const before = keepAlives();
  // A turn after each step: b's candidate test request (50 ms after its stage 2) and a's answer cross the
  // in-memory network, as they would between real nodes, so the tunnel is not given up as unanswered.
  for (let i = 0; i < 30; i++) {
    clock.advance(1000);
    await new Promise((resolve) => setImmediate(resolve));
  }
  // Rounds start 10 s after the node did; 30 s of simulated time hold two or three of them.
  const inThirty = keepAlives() - before;
  assert.ok(inThirty >= 2 && inThirty <= 3, `${inThirty} keep-alives in 30 s`);

  const tunnel = a.tunnelTo(b)!;
  a.node.closeTunnel(tunnel, 'test', false);
  const afterClose = keepAlives();
  for (let i = 0; i < 20; i++) clock.advance(1000);
  assert.equal(keepAlives(), afterClose, 'a closed tunnel gets no keep-alive');
});

test('a tunnel that sends to its remote within each interval gets no keep-alive, and gets them again once quiet', async (t) => {
  const { clock, a, b, keepAlives } = await punchPair(t);
  const before = keepAlives();
  // A packet every 5 s keeps the mappings open by itself (a lighthouse's acks do the same).
  for (let i = 0; i < 30; i++) {
    if (i % 5 === 0) {
      a.tun.inject(udpPacket({ src: A, dst: B, payload: `tick ${i}` }));
      // The TUN's read and the seal batch finish in microtasks and callbacks of their own.
      await new Promise((resolve) => setImmediate(resolve));
    }
    clock.advance(1000);
  }
  assert.equal(keepAlives(), before, 'no keep-alive while the tunnel sends');
  assert.equal(a.tunnelTo(b)!.sentTo, a.tunnelTo(b)!.remote);
  for (let i = 0; i < 30; i++) clock.advance(1000);
  const quiet = keepAlives() - before;
  assert.ok(quiet >= 2 && quiet <= 3, `${quiet} keep-alives in 30 quiet s`);
});

test('a send counts for the keep-alive only if it went to the remote the tunnel has now', () => {
  const remote = udpAddr('198.51.100.2', 4242);
  const host = { remote, sentTo: remote, sentToAt: 1000 } as unknown as HostInfo;
  assert.equal(sentToRemoteRecently(host, 1000 + PUNCH_INTERVAL_MS - 1), true);
  assert.equal(sentToRemoteRecently(host, 1000 + PUNCH_INTERVAL_MS), false);
  // Roamed since: the new remote was never sent to.
  host.remote = udpAddr('203.0.113.9', 4242);
  assert.equal(sentToRemoteRecently(host, 1001), false);
  host.remote = null;
  assert.equal(sentToRemoteRecently(host, 1001), false);
});

test('with target_all_remotes a tunnel that sends to its remote still punches its other addresses each interval', async (t) => {
  const mesh = new TestMesh(t);
  const clock = new ManualClock(1_000_000);
  const other = udpAddr('192.0.2.77', 4242);
  const a = await mesh.node({
    vpnIp: A,
    name: 'a',
    clock,
    staticHostMap: { [B]: [addrKey(underlayOf(B)), addrKey(other)] },
    config: { punchy: { punch: true, target_all_remotes: true } },
  });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], clock });
  await connect(a, b);
  const punchesTo = (to: UdpAddr): number =>
    a.memUdp!.sent.filter((s) => s.packet.length === 1 && s.packet[0] === KEEPALIVE_BYTE[0] && sameAddr(s.to, to))
      .length;
  const before = { remote: punchesTo(b.addr), other: punchesTo(other) };
  for (let i = 0; i < 30; i++) {
    if (i % 5 === 0) {
      a.tun.inject(udpPacket({ src: A, dst: B, payload: `tick ${i}` }));
      await new Promise((resolve) => setImmediate(resolve));
    }
    clock.advance(1000);
  }
  assert.equal(punchesTo(b.addr), before.remote, 'the remote in use was sent to: no keep-alive there');
  const others = punchesTo(other) - before.other;
  assert.ok(others >= 2 && others <= 3, `${others} keep-alives to the other address in 30 s`);
});
