import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { PENDING_QUEUE_LIMIT } from '../../pkg/handshake/pending.js';
import { MessageType } from '../../pkg/header/header.js';
import { sameAddr } from '../../pkg/udp/addr.js';
import { connect, TestMesh, type TestNode } from './helpers/mesh.js';
import { headerOf, isType, udpPacket, udpPayloadText } from './helpers/packets.js';
import { writeStage1 } from './helpers/stage1.js';
import { advanceFor, advanceUntil } from './helpers/wait.js';

// The handshake machine inside real in-process nodes: Noise IX over a MemoryNetwork, packets in and out of
// MemoryTun devices, short handshake timers on simulated time (one ManualClock): nothing sleeps.

const A = '10.99.0.1';
const B = '10.99.0.2';
const FAST = { handshakes: { try_interval: '20ms', retries: 3 } };

async function pair(t: { after(fn: () => unknown): void }, config: Record<string, unknown> = FAST) {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], clock, config });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], clock, config });
  return { clock, mesh, a, b };
}

function stage1Sent(n: TestNode): Uint8Array[] {
  return n.memUdp!.sent.filter((s) => isType(s.packet, MessageType.Handshake, 0, 1)).map((s) => s.packet);
}

function stage2Sent(n: TestNode): Uint8Array[] {
  return n.memUdp!.sent.filter((s) => isType(s.packet, MessageType.Handshake, 0, 2)).map((s) => s.packet);
}

/**
 * A crash of `a` (node a at A): its close tunnel never reaches anybody. The restarted node, a2, has the same
 * certificate and address.
 */
async function crashAndRestart(mesh: TestMesh, clock: ManualClock, a: TestNode): Promise<TestNode> {
  mesh.net.drop = (p, src) => sameAddr(src, a.addr) && isType(p, MessageType.CloseTunnel);
  await a.stop();
  mesh.net.drop = () => false;
  return mesh.node({ vpnIp: A, name: 'a2', cert: a.cert, peers: [B], clock, config: FAST });
}

test('two nodes complete a handshake and an IPv4 packet crosses the tunnel both ways', async (t) => {
  const { clock, a, b } = await pair(t);
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'ping from a' }));
  await advanceUntil(clock, () => b.tun.written.length === 1, { what: 'the packet at b' });
  assert.equal(udpPayloadText(b.tun.written[0]), 'ping from a');

  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'pong from b' }));
  await advanceUntil(clock, () => a.tun.written.length === 1, { what: 'the reply at a' });
  assert.equal(udpPayloadText(a.tun.written[0]), 'pong from b');

  const ab = a.tunnelTo(b)!;
  const ba = b.tunnelTo(a)!;
  assert.equal(ab.initiator, true);
  assert.equal(ba.initiator, false);
  assert.equal(ab.remoteIndex, ba.localIndex);
  assert.equal(ba.remoteIndex, ab.localIndex);
  assert.ok(sameAddr(ab.remote, b.addr) && sameAddr(ba.remote, a.addr));
  // Each side knows the other's certificate as it was signed, public key included.
  assert.equal(ab.fingerprint, b.cert.fingerprint);
  assert.equal(ba.fingerprint, a.cert.fingerprint);
  assert.equal(ab.certName, 'b');
  assert.equal(a.node.counters.get('handshakes', 'ok'), 1);
  assert.equal(b.node.counters.get('handshakes', 'ok'), 1);
  assert.equal(a.node.handshakes.pending.size, 0);
});

test('packets sent while the handshake is pending are queued, bounded at 100, and delivered in order once it completes', async (t) => {
  const { clock, a, b } = await pair(t);
  // inject() is synchronous and datagrams are delivered on a later microtask: all 150 arrive while pending.
  for (let i = 0; i < 150; i++) a.tun.inject(udpPacket({ src: A, dst: B, payload: `packet ${i}` }));
  assert.equal(a.node.handshakes.pending.get(b.vpnIp)?.queue.length, PENDING_QUEUE_LIMIT);
  assert.equal(a.node.counters.get('drops', 'pending-queue-full'), 50);

  await advanceUntil(clock, () => b.tun.written.length === PENDING_QUEUE_LIMIT, { what: '100 packets at b' });
  await advanceFor(clock, 50);
  assert.equal(b.tun.written.length, PENDING_QUEUE_LIMIT, 'nothing beyond the queue limit arrives');
  assert.deepEqual(
    b.tun.written.map(udpPayloadText),
    Array.from({ length: PENDING_QUEUE_LIMIT }, (_, i) => `packet ${i}`),
  );
});

test('a retransmitted stage 1 is answered with the byte-identical cached stage 2', async (t) => {
  const { mesh, a, b } = await pair(t);
  let dropped = 0;
  mesh.net.drop = (packet, src) => {
    if (sameAddr(src, b.addr) && isType(packet, MessageType.Handshake, 0, 2) && dropped === 0) {
      dropped++;
      return true;
    }
    return false;
  };
  await connect(a, b);

  const stage1 = stage1Sent(a);
  const stage2 = stage2Sent(b);
  assert.ok(stage1.length >= 2, 'a retransmitted stage 1');
  assert.deepEqual(stage1[1], stage1[0], 'a retransmit repeats the same bytes');
  assert.ok(stage2.length >= 2, 'b answered the retransmit');
  for (const s of stage2) assert.deepEqual(s, stage2[0], 'every answer is the cached stage 2');
  assert.equal(b.node.counters.get('handshakes', 'ok'), 1, 'b completed the handshake once');
  assert.ok(b.node.counters.get('handshakes', 'retransmit-answered') >= 1);
  assert.equal(b.node.hostmap.size, 1);
});

test('the responder drops its stage-1/stage-2 copies once the initiator has sent an authenticated packet', async (t) => {
  const { clock, a, b } = await pair(t);
  await connect(a, b);
  const atB = b.tunnelTo(a)!;
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'first data' }));
  // The second at b: connect()'s packet was the first.
  await advanceUntil(clock, () => b.tun.written.length === 2, { what: 'the packet at b' });
  assert.equal(atB.stage1, undefined);
  assert.equal(atB.stage2Packet, undefined);
  // A late copy of the completed handshake's stage 1 is no new tunnel: it is too old and draws a test request.
  b.node.handshakes.handleStage1(stage1Sent(a)[0], { from: a.addr, reply: () => undefined });
  assert.equal(b.tunnelTo(a), atB);
  assert.equal(b.node.counters.get('drops', 'handshake-too-old'), 1);
});

test('a stage 1 from an existing peer with an older handshake Time is ignored as too old and answered with a test request', async (t) => {
  const { clock, a, b } = await pair(t);
  await connect(a, b);
  const before = b.tunnelTo(a)!;

  // A genuine stage 1 from a's key and certificate, but with a Time older than the one of the tunnel.
  const id = a.node.identity();
  const { packet: stage1 } = writeStage1({
    cipher: a.config.cipher,
    staticKey: id.privateKey,
    cert: id.handshakeCert,
    initiatorIndex: 12345,
    time: 1n,
  });
  const sentBefore = b.memUdp!.sent.length;
  const testsAnsweredByA = (): number => a.memUdp!.sent.filter((s) => isType(s.packet, MessageType.Test, 1)).length;
  const answeredBefore = testsAnsweredByA();
  a.memUdp!.send(stage1, b.addr);

  await advanceUntil(clock, () => b.node.counters.get('drops', 'handshake-too-old') === 1, {
    what: 'the too-old drop',
  });
  assert.ok(b.logs.some((l) => l.includes('Handshake too old')));
  const sent = b.memUdp!.sent.slice(sentBefore);
  assert.equal(
    sent.filter((s) => isType(s.packet, MessageType.Handshake)).length,
    0,
    'no stage 2 for an old handshake',
  );
  const test = sent.find((s) => isType(s.packet, MessageType.Test, 0));
  assert.ok(test, 'b sent a test request over the existing tunnel');
  assert.equal(headerOf(test.packet).remoteIndex, before.remoteIndex);
  await advanceUntil(clock, () => testsAnsweredByA() > answeredBefore, { what: "a's test reply" });
  assert.equal(b.tunnelTo(a), before, 'the existing tunnel is kept');
  assert.equal(b.node.counters.get('handshakes', 'ok'), 1);
});

test('simultaneous handshakes end with exactly one tunnel on each side, the higher VPN IP as initiator, and traffic flows', async (t) => {
  const { clock, a, b } = await pair(t);
  // Both sides send stage 1 before either datagram is delivered.
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'from a' }));
  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'from b' }));
  assert.equal(stage1Sent(a).length, 1);
  assert.equal(stage1Sent(b).length, 1);

  await advanceUntil(clock, () => a.tun.written.length === 1 && b.tun.written.length === 1, {
    what: 'both packets delivered',
  });
  await advanceFor(clock, 100);
  assert.equal(udpPayloadText(b.tun.written[0]), 'from a');
  assert.equal(udpPayloadText(a.tun.written[0]), 'from b');
  assert.equal(a.node.hostmap.size, 1);
  assert.equal(b.node.hostmap.size, 1);
  assert.equal(a.node.handshakes.pending.size, 0);
  assert.equal(b.node.handshakes.pending.size, 0);
  const ab = a.tunnelTo(b)!;
  const ba = b.tunnelTo(a)!;
  assert.equal(ba.initiator, true, '10.99.0.2 (higher) stays initiator');
  assert.equal(ab.initiator, false);
  assert.equal(ab.remoteIndex, ba.localIndex);
  assert.equal(ba.remoteIndex, ab.localIndex);
  assert.equal(b.node.counters.get('drops', 'handshake-race'), 1, "the higher side ignored the lower side's stage 1");
  assert.equal(a.node.counters.get('handshakes', 'ok'), 1);
  assert.equal(b.node.counters.get('handshakes', 'ok'), 1);

  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'after' }));
  await advanceUntil(clock, () => a.tun.written.length === 2, { what: 'a second packet' });
});

test('handshake retries stop after handshakes.retries and the queued packets are dropped', async (t) => {
  const retries = 2;
  const { clock, mesh, a, b } = await pair(t, { handshakes: { try_interval: '20ms', retries } });
  mesh.net.drop = (_p, src, dst) => sameAddr(src, a.addr) && sameAddr(dst, b.addr);
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'lost' }));
  await advanceUntil(clock, () => a.node.handshakes.pending.size === 0, { what: 'the handshake to give up' });

  assert.equal(stage1Sent(a).length, retries + 1, 'the first attempt and `retries` more');
  assert.equal(a.node.counters.get('handshakes', 'timeout'), 1);
  assert.ok(a.logs.some((l) => l.includes('Handshake timed out') && l.includes('queued=1')));
  await advanceFor(clock, 100);
  assert.equal(stage1Sent(a).length, retries + 1, 'nothing more after giving up');

  // The path opens: a new packet starts a new handshake, and only it arrives.
  mesh.net.drop = () => false;
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'new' }));
  await advanceUntil(clock, () => b.tun.written.length === 1, { what: 'the new packet' });
  await advanceFor(clock, 50);
  assert.deepEqual(b.tun.written.map(udpPayloadText), ['new']);
});

test('a peer that restarts without closing gets a new tunnel that replaces the old one', async (t) => {
  const { clock, mesh, a, b } = await pair(t);
  await connect(a, b);
  const old = b.tunnelTo(a)!;
  const a2 = await crashAndRestart(mesh, clock, a);

  a2.tun.inject(udpPacket({ src: A, dst: B, payload: 'after restart' }));
  await advanceUntil(clock, () => b.tun.written.length === 2, { what: 'the packet from the restarted peer' });
  assert.equal(udpPayloadText(b.tun.written[1]), 'after restart');
  const fresh = b.tunnelTo(a2)!;
  assert.notEqual(fresh, old);
  assert.ok(fresh.handshakeTime > old.handshakeTime, 'the new handshake carries a later Time');
  assert.equal(b.node.counters.get('tunnels-replaced'), 1);
  assert.equal(b.node.hostmap.size, 1);
  assert.equal(b.node.hostmap.byIndex.has(old.localIndex), false, 'the old index is gone');
});

test('after a peer restarts, its first recv_error makes us handshake again while the old tunnel stays in service', async (t) => {
  const { clock, mesh, a, b } = await pair(t);
  await connect(a, b);
  const old = b.tunnelTo(a)!;
  const a2 = await crashAndRestart(mesh, clock, a);

  // b still believes in the old tunnel: a2 answers its packet with recv_error, and b sends a test request and a
  // stage 1 at once. a2 answers only the stage 1, whose stage 2 replaces the old tunnel.
  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'lost on the old tunnel' }));
  await advanceUntil(clock, () => b.tunnelTo(a2) && b.tunnelTo(a2) !== old && a2.tunnelTo(b), {
    what: 'the new tunnel',
  });
  assert.equal(b.node.counters.get('handshakes', 'replacement-started'), 1, 'the first recv_error was enough');
  assert.equal(b.node.counters.get('tunnels-replaced'), 1);
  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'on the new tunnel' }));
  await advanceUntil(clock, () => a2.tun.written.length === 1, { what: 'the packet at the restarted peer' });
  assert.equal(udpPayloadText(a2.tun.written[0]), 'on the new tunnel');
});
