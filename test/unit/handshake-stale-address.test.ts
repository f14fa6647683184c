import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { MessageType } from '../../pkg/header/header.js';
import { addrKey, sameAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { TestMesh, VPN_PREFIX, type TestNode } from './helpers/mesh.js';
import { isType, udpPacket, udpPayloadText } from './helpers/packets.js';
import { makeHostCert } from './helpers/pki.js';

// Stage 1 goes to every known address of the peer at once. When one of them is stale and another valid host now
// answers there first, its stage 2 is refused (wrong overlay IP, or a certificate we refuse), and the real peer's
// stage 2 arriving right after must still complete the handshake: the refused reply is read on a fork of the Noise
// state, so it uses nothing up. Time is simulated (one ManualClock) and must not move at all.

const A = '10.99.0.1';
const X = '10.99.0.2';
const C = '10.99.0.3';
/** Nebula's defaults: without the fix the handshake would wait for retransmits and a timeout (5.5 s and more). */
const NEBULA_TIMING = { handshakes: { try_interval: '100ms', retries: 10 } };

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * a knows two addresses for X: the stale one (now the other host's) and x's own. Stage 1 goes to both in address
 * order, so the lower stale address answers first: its stage 2 reaches a before x's.
 */
async function staleFirst(
  t: { after(fn: () => unknown): void },
  c: (mesh: TestMesh, clock: ManualClock, at: UdpAddr) => Promise<TestNode>,
) {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  const x = await mesh.node({
    vpnIp: X,
    name: 'x',
    underlay: { address: '198.51.100.200', port: 4242 },
    clock,
    config: NEBULA_TIMING,
  });
  const stale = await c(mesh, clock, { address: '198.51.100.100', port: 4242 });
  const a = await mesh.node({
    vpnIp: A,
    name: 'a',
    staticHostMap: { [X]: [addrKey(stale.addr), addrKey(x.addr)] },
    clock,
    config: NEBULA_TIMING,
  });
  return { clock, mesh, a, x, stale };
}

async function firstPacketCrosses(clock: ManualClock, a: TestNode, x: TestNode, stale: TestNode): Promise<void> {
  const started = clock.now();
  a.tun.inject(udpPacket({ src: A, dst: X, payload: 'for x' }));
  await settle();
  const stage2From = (n: TestNode) =>
    n.memUdp!.sent.filter((s) => sameAddr(s.to, a.addr) && isType(s.packet, MessageType.Handshake, 0, 2));
  assert.equal(stage2From(stale).length, 1, 'the stale address answered');
  assert.equal(stage2From(x).length, 1, 'x answered, once');
  assert.equal(x.tun.written.length, 1, `the queued packet reached x\n${a.logs.join('\n')}`);
  assert.equal(udpPayloadText(x.tun.written[0]), 'for x');
  assert.equal(clock.now() - started, 0, 'no simulated time passed: no retransmit was needed');
  assert.ok(a.tunnelTo(x)?.initiator);
  assert.equal(a.node.handshakes.pending.size, 0);
  assert.equal(a.node.counters.get('drops', 'handshake-already-complete'), 0);
  x.tun.inject(udpPacket({ src: X, dst: A, payload: 'back' }));
  await settle();
  assert.equal(udpPayloadText(a.tun.written.at(-1)!), 'back');
}

test("another valid host answering first from a stale address does not spoil the handshake: the real peer's stage 2 completes it at once", async (t) => {
  const { clock, a, x, stale } = await staleFirst(t, (mesh, clock, at) =>
    mesh.node({ vpnIp: C, name: 'c', underlay: at, clock, config: NEBULA_TIMING }),
  );
  await firstPacketCrosses(clock, a, x, stale);
  assert.equal(a.node.counters.get('drops', 'handshake-wrong-host'), 1);
  assert.ok(a.logs.some((l) => l.includes('Incorrect host responded to handshake') && l.includes(`haveVpnIp=${C}`)));
  assert.equal(stale.node.hostmap.size, 0, 'a told c to close the tunnel c answered with');
});

test("a blocklisted host answering first from a stale address does not spoil the handshake: the real peer's stage 2 completes it at once", async (t) => {
  const { clock, a, x, stale } = await staleFirst(t, (mesh, clock, at) => {
    // x's previous certificate, revoked and still in use on x's old address.
    const revoked = makeHostCert(mesh.ca, { name: 'x (revoked)', ip: `${X}/${VPN_PREFIX}` });
    return mesh.node({ vpnIp: X, name: 'revoked', cert: revoked, underlay: at, clock, config: NEBULA_TIMING });
  });
  a.node.caPool().setBlocklist([stale.cert.fingerprint]);
  await firstPacketCrosses(clock, a, x, stale);
  assert.equal(a.node.counters.get('drops', 'handshake-invalid'), 1);
  assert.ok(
    a.logs.some((l) => l.includes('Invalid handshake stage 2') && l.includes('blocked')),
    a.logs.join('\n'),
  );
  assert.equal(a.tunnelTo(x)!.fingerprint, x.cert.fingerprint, "the tunnel is x's, not the revoked certificate's");
});
