import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { handleUdpPacket, RECV_ERROR_INTERVAL_MS, RECV_ERROR_PROOF_WAIT_MS } from '../../pkg/datapath/outside.js';
import { encodeHeader, HEADER_LEN, MessageType } from '../../pkg/header/header.js';
import { sameAddr } from '../../pkg/udp/addr.js';
import { connect, TestMesh, type TestNode } from './helpers/mesh.js';
import { isType, udpPacket } from './helpers/packets.js';
import { seededRandom } from './helpers/seeded-random.js';

// recv_error, which anyone who can spoof the peer's address can send, against a peer that really restarted. The
// nodes run on one ManualClock (the memory network delivers on microtasks: zero round trip), so times are
// simulated milliseconds.

const A = '10.99.0.1';
const B = '10.99.0.2';
const NEBULA_TIMING = { handshakes: { try_interval: '100ms', retries: 10 } };

async function pair(t: { after(fn: () => unknown): void }, aConfig: Record<string, unknown> = {}) {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], clock, config: { ...NEBULA_TIMING, ...aConfig } });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], clock, config: NEBULA_TIMING });
  await connect(a, b);
  return { clock, mesh, a, b };
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function recvErrorFor(remoteIndex: number): Buffer {
  const packet = Buffer.alloc(HEADER_LEN);
  encodeHeader(packet, 0, MessageType.RecvError, 0, remoteIndex, 0);
  return packet;
}

function testRequestsTo(from: TestNode, to: TestNode): number {
  return from.memUdp!.sent.filter((s) => sameAddr(s.to, to.addr) && isType(s.packet, MessageType.Test, 0)).length;
}

function started(n: TestNode): number {
  return n.node.counters.get('handshakes', 'started');
}

test('forged recv_errors from the peer address at any rate never interrupt the tunnel: at most one test request a second, no handshake', async (t) => {
  const { clock, a, b } = await pair(t);
  const ab = a.tunnelTo(b)!;
  const ba = b.tunnelTo(a)!;
  const rand = seededRandom(15);
  const startedBefore = started(a);
  const testsBefore = testRequestsTo(a, b);
  const seconds = 10;
  let lastAtB = clock.now();
  let gap = 0;
  // 10 s of a -> b traffic at 10 packets a second; between packets, 0-200 forged recv_errors at random moments.
  for (let step = 1; step <= seconds * 10; step++) {
    const burst = Math.floor(rand() * 200);
    for (let i = 0; i < burst; i++) {
      clock.advance(rand() < 0.1 ? 1 : 0);
      handleUdpPacket(a.node, recvErrorFor(ab.remoteIndex), b.addr);
      if (i % 16 === 0) await settle();
    }
    clock.advance(100 - (clock.now() % 100));
    const atB = b.tun.written.length;
    a.tun.inject(udpPacket({ src: A, dst: B, payload: `a ${step}` }));
    await settle();
    if (b.tun.written.length > atB) lastAtB = clock.now();
    gap = Math.max(gap, clock.now() - lastAtB);
    assert.equal(a.tunnelTo(b), ab, `step ${step}: a's tunnel is still the one in service`);
  }
  assert.equal(gap, 0, 'every packet crossed');
  assert.equal(b.tunnelTo(a), ba, "b's tunnel is still the one in service");
  const tests = testRequestsTo(a, b) - testsBefore;
  assert.ok(tests >= 1, 'the recv_errors did act');
  assert.ok(tests <= seconds * (1000 / RECV_ERROR_INTERVAL_MS) + 1, `${tests} test requests in ${seconds} s`);
  // b answered each test request at once, so no handshake was needed.
  assert.equal(started(a) - startedBefore, 0, 'no handshake');
  assert.equal(a.node.counters.get('tunnels-replaced'), 0);
  assert.equal(b.node.counters.get('tunnels-replaced'), 0);
});

test('a peer restarted on the same address gets its new tunnel from the first recv_error, once its test request went unanswered', async (t) => {
  const { clock, mesh, a, b } = await pair(t);
  const old = a.tunnelTo(b)!;
  // b crashes (its close never reaches a) and comes back with the same certificate and address.
  mesh.net.drop = (p, src) => sameAddr(src, b.addr) && isType(p, MessageType.CloseTunnel);
  await b.stop();
  mesh.net.drop = () => false;
  const b2 = await mesh.node({ vpnIp: B, name: 'b2', cert: b.cert, peers: [A], clock, config: NEBULA_TIMING });

  clock.advance(2000);
  const restartedAt = clock.now();
  let firstAt = -1;
  for (let step = 1; step <= 30 && firstAt < 0; step++) {
    a.tun.inject(udpPacket({ src: A, dst: B, payload: `a ${step}` }));
    await settle();
    await settle();
    if (b2.tun.written.length > 0) firstAt = clock.now();
    else {
      clock.advance(100);
      await settle();
      await settle();
    }
  }
  const recovery = firstAt - restartedAt;
  assert.ok(firstAt >= 0, 'traffic came back within 3 s');
  // The packet that drew the recv_error is lost; the next one, 100 ms later, when the test request has gone
  // unanswered for RECV_ERROR_PROOF_WAIT_MS, takes the new tunnel.
  assert.ok(recovery <= Math.max(100, RECV_ERROR_PROOF_WAIT_MS), `traffic back after ${recovery} simulated ms`);
  assert.notEqual(a.tunnelTo(b2), old, 'the new tunnel replaced the old one');
  assert.equal(a.node.counters.get('tunnels-replaced'), 1);
});

test('listen.accept_recv_error (Nebula 1.11): never ignores recv_errors; private ignores them from public addresses', async (t) => {
  for (const [mode, acted] of [
    ['never', false],
    ['private', false],
    ['always', true],
  ] as const) {
    const { a, b } = await pair(t, { listen: { accept_recv_error: mode } });
    const testsBefore = testRequestsTo(a, b);
    // The test network's underlay addresses are 198.51.100.x, not private.
    handleUdpPacket(a.node, recvErrorFor(a.tunnelTo(b)!.remoteIndex), b.addr);
    await settle();
    assert.equal(testRequestsTo(a, b) - testsBefore, acted ? 1 : 0, mode);
    assert.equal(a.node.counters.get('drops', 'recv-error-not-accepted'), acted ? 0 : 1, mode);
  }
});
