import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { MessageType } from '../../pkg/header/header.js';
import { PUNCH_SETTLE_MS } from '../../pkg/punchy/nat-punch.js';
import { addrKey, sameAddr, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { A_VPN_IP as A, B_VPN_IP as B, lighthousePair } from './helpers/lighthouse-pair.js';
import type { TestNode } from './helpers/mesh.js';
import { isType, udpPacket, udpPayloadText } from './helpers/packets.js';
import { settle, waitFor } from './helpers/wait.js';

// The first packet to a peer that a lighthouse reports: stage 1 goes at once to an address with no NAT of the
// peer's in the way (here: on our own LAN), and only a NATed public address waits PUNCH_SETTLE_MS after its
// low-TTL punch. Simulated time (one ManualClock): the LAN case must complete without the clock moving at all.

async function lab(t: { after(fn: () => unknown): void }, b: { underlay: UdpAddr; advertise: string[] }) {
  const clock = new ManualClock(1_000_000);
  const { mesh, a, b: bn } = await lighthousePair(t, clock, { ...b, localNetworks: [] });
  const punches: UdpAddr[] = [];
  Object.assign(a.memUdp!, { sendWithTtl: (_p: Uint8Array, to: UdpAddr) => punches.push(to) });
  return { clock, mesh, a, b: bn, punches };
}

function stage1To(a: TestNode, to: UdpAddr): number {
  return a.memUdp!.sent.filter((s) => sameAddr(s.to, to) && isType(s.packet, MessageType.Handshake, 0, 1)).length;
}

test('a peer on our own LAN gets stage 1 as soon as the lighthouse answers: the first packet crosses with no simulated time passing', async (t) => {
  const bAddr = udpAddr('192.168.7.2', 4242);
  const { clock, a, b } = await lab(t, { underlay: bAddr, advertise: [] });
  const started = clock.now();
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'first' }));
  await waitFor(() => b.tun.written.length > 0, {
    timeoutMs: 1000,
    what: () => `the first packet at b\n${a.logs.join('\n')}`,
  });
  assert.equal(udpPayloadText(b.tun.written[0]), 'first');
  assert.equal(clock.now() - started, 0, 'no settle was waited');
  assert.equal(stage1To(a, bAddr), 1);
  assert.equal(a.node.counters.get('handshakes', 'stage1-unpunched'), 1);
});

test("a NATed peer's public address is punched first and gets stage 1 only after the settle", async (t) => {
  const bPublic = udpAddr('203.0.113.2', 4242);
  const bPrivate = udpAddr('10.55.0.2', 4242);
  const { clock, a, b, punches } = await lab(t, { underlay: bPublic, advertise: [addrKey(bPrivate)] });
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'first' }));
  await waitFor(() => punches.some((p) => sameAddr(p, bPublic)), {
    timeoutMs: 1000,
    what: 'the low-TTL punch toward b',
  });
  assert.ok(
    punches.some((p) => sameAddr(p, bPrivate)),
    "b's private address on another network is punched too",
  );
  // The handshake ticker runs on the same clock: up to 1 ms before the settle it has ticked, and nothing went.
  clock.advance(PUNCH_SETTLE_MS - 1);
  await settle();
  assert.equal(stage1To(a, bPublic), 0, 'no full-TTL stage 1 before the settle');
  assert.equal(b.tun.written.length, 0);
  clock.advance(1);
  await waitFor(() => b.tun.written.length > 0, {
    timeoutMs: 1000,
    what: () => `the first packet at b\n${a.logs.join('\n')}`,
  });
  assert.equal(stage1To(a, bPublic), 1);
  assert.equal(a.node.counters.get('handshakes', 'stage1-unpunched'), 0);
});

test("a dual-stack peer behind an IPv4 NAT: its reported global IPv6 address gets stage 1 at once, its NAT's address waits", async (t) => {
  const bV4 = udpAddr('203.0.113.2', 4242);
  const bV6 = udpAddr('2001:db8:2::2', 4242);
  const { clock, mesh, a, b, punches } = await lab(t, { underlay: bV4, advertise: ['10.55.0.2:4242', addrKey(bV6)] });
  // b's IPv6 address: another socket into the same node (the lighthouse sees b over IPv4 only).
  mesh.net.bind(bV6.address, bV6.port).onPacket((packet, from) => b.memUdp!.receive(packet, from));
  const started = clock.now();
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'first' }));
  await waitFor(() => b.tun.written.length > 0, {
    timeoutMs: 1000,
    what: () => `the first packet at b\n${a.logs.join('\n')}`,
  });
  assert.equal(clock.now() - started, 0, 'no settle was waited');
  assert.equal(stage1To(a, bV6), 1);
  assert.equal(stage1To(a, bV4), 0, "the NAT's address still waits for its settle");
  assert.ok(
    punches.some((p) => sameAddr(p, bV4)),
    "b's NAT address was punched",
  );
});
