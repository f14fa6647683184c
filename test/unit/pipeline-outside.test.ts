import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock, type Clock } from '../../pkg/clock/clock.js';
import { handleUdpPacket, RECV_ERROR_PROOF_WAIT_MS, ROAMING_SUPPRESS_MS } from '../../pkg/datapath/outside.js';
import { sealForTunnel, sendOnTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { encodeHeader, HEADER_LEN, MessageType } from '../../pkg/header/header.js';
import { sameAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { seededRandom } from './firewall-fixtures.js';
import { connect, TestMesh, type TestNode } from './helpers/mesh.js';
import { headerOf, isType, udpPacket, udpPayloadText } from './helpers/packets.js';
import { sleep, waitFor } from './helpers/wait.js';

// The outside pipeline (UDP -> TUN) of a real node, fed datagrams from a peer's real tunnel state and from
// strangers: what is dropped, what is answered, and that only authenticated packets change anything.

const A = '10.99.0.1';
const B = '10.99.0.2';

async function tunnel(
  t: { after(fn: () => unknown): void },
  opts: { clockA?: Clock; clockB?: Clock; configB?: Record<string, unknown> } = {},
) {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], clock: opts.clockA });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], clock: opts.clockB, config: opts.configB });
  await connect(a, b);
  const ab = a.tunnelTo(b)!;
  const ba = b.tunnelTo(a)!;
  /** A socket at a new underlay address, collecting what it receives. */
  const stranger = (last: number) => {
    const udp = mesh.net.bind(`203.0.113.${last}`, 4242);
    const received: Buffer[] = [];
    udp.onPacket((p) => received.push(Buffer.from(p)));
    return { udp, addr: udp.addr, received };
  };
  return { mesh, a, b, ab, ba, stranger };
}

function drops(n: TestNode): number {
  return Object.values(n.node.counters.snapshot().drops ?? {}).reduce((x, y) => x + y, 0);
}

function dataFor(a: TestNode, b: TestNode, payload: string): Uint8Array {
  return udpPacket({ src: a.vpnIpText, dst: b.vpnIpText, payload });
}

async function settle(): Promise<void> {
  await sleep(20);
}

test('an inner packet whose source IP is not in the peer certificate is dropped by the inbound firewall', async (t) => {
  const { a, b, ab } = await tunnel(t);
  const written = b.tun.written.length;
  // a's own outbound firewall would refuse it first ('local-not-ours'), so it goes straight onto the tunnel.
  sendOnTunnel(a.node, ab, MessageType.Message, 0, udpPacket({ src: '10.99.0.50', dst: B, payload: 'spoofed' }));
  await waitFor(() => b.node.counters.get('drops', 'firewall-in-remote-not-in-cert') === 1, {
    what: 'the firewall drop',
  });
  assert.equal(b.node.firewall().dropCounts.get('remote-not-in-cert'), 1);
  assert.equal(b.tun.written.length, written);

  sendOnTunnel(a.node, ab, MessageType.Message, 0, dataFor(a, b, 'genuine'));
  await waitFor(() => b.tun.written.length === written + 1, { what: 'the genuine packet' });
});

test('a packet that fails to decrypt is counted and changes nothing, even from a new address', async (t) => {
  const { a, b, ab, ba, stranger } = await tunnel(t);
  const evil = stranger(66);
  const packet = sealForTunnel(ab, MessageType.Message, 0, dataFor(a, b, 'held back'));
  const tampered = Buffer.from(packet);
  tampered[tampered.length - 1] ^= 0x01;
  const state = {
    remote: ba.remote,
    lastRecvAt: ba.lastRecvAt,
    packetsIn: ba.packetsIn,
    written: b.tun.written.length,
  };

  evil.udp.send(tampered, b.addr);
  await waitFor(() => b.node.counters.get('drops', 'outside-decrypt') === 1, { what: 'the decrypt drop' });
  assert.ok(sameAddr(ba.remote, state.remote), 'no roaming to the unauthenticated source');
  assert.equal(b.node.counters.get('roams'), 0);
  assert.equal(ba.lastRecvAt, state.lastRecvAt);
  assert.equal(ba.packetsIn, state.packetsIn);
  assert.equal(b.tun.written.length, state.written);
  assert.equal(evil.received.length, 0, 'nothing is answered');

  // The counter was not used up by the forgery: the genuine packet with it still gets through.
  a.memUdp!.send(packet, b.addr);
  await waitFor(() => b.tun.written.length === state.written + 1, { what: 'the genuine packet' });
  assert.equal(udpPayloadText(b.tun.written.at(-1)!), 'held back');
});

test('a replayed packet is dropped without a recv_error (the sender has the tunnel)', async (t) => {
  const { a, b, ab } = await tunnel(t);
  const packet = sealForTunnel(ab, MessageType.Message, 0, dataFor(a, b, 'once'));
  a.memUdp!.send(packet, b.addr);
  await waitFor(() => b.tun.written.length === 2, { what: 'the first copy' });
  const sentBefore = b.memUdp!.sent.length;

  a.memUdp!.send(packet, b.addr);
  await waitFor(() => b.node.counters.get('drops', 'outside-replay') === 1, { what: 'the replay drop' });
  await settle();
  assert.equal(b.tun.written.length, 2, 'delivered once');
  const recvErrors = b.memUdp!.sent.slice(sentBefore).filter((s) => isType(s.packet, MessageType.RecvError));
  assert.equal(recvErrors.length, 0, 'a replayer cannot draw recv_errors that would make the sender drop its tunnel');
});

test('forged recv_errors from the peer address do not tear down a tunnel whose peer answers', async (t) => {
  const clock = new ManualClock(1_000_000);
  const { a, b, ab } = await tunnel(t, { clockA: clock });
  const forged = Buffer.alloc(HEADER_LEN);
  encodeHeader(forged, 0, MessageType.RecvError, 0, ab.remoteIndex, 0);
  const sentBefore = a.memUdp!.sent.length;
  const answersBefore = ab.packetsIn;
  for (let i = 0; i < 5; i++) handleUdpPacket(a.node, forged, b.addr);
  // The recv_error costs one test request to b (rate-limited: five forgeries, one request), and b's answer comes back.
  await waitFor(() => ab.packetsIn > answersBefore, { what: "b's answer to the test request" });
  const tests = a.memUdp!.sent.slice(sentBefore).filter((s) => isType(s.packet, MessageType.Test));
  assert.equal(tests.length, 1, 'one test request for five forged recv_errors');

  // Past the proof wait: the answer proved the tunnel alive, so no replacement handshake starts.
  clock.advance(RECV_ERROR_PROOF_WAIT_MS + 1);
  await settle();
  const handshakes = a.memUdp!.sent.slice(sentBefore).filter((s) => isType(s.packet, MessageType.Handshake));
  assert.equal(handshakes.length, 0, 'no replacement handshake for a tunnel whose peer answered');
  assert.equal(a.tunnelTo(b), ab, 'the tunnel is still the same one');
  assert.ok(!a.logs.some((l) => l.includes('Peer lost the tunnel')));
});

test('a recv_error whose test request goes unanswered starts a replacement handshake after the proof wait', async (t) => {
  const clock = new ManualClock(1_000_000);
  const { mesh, a, b, ab } = await tunnel(t, { clockA: clock });
  const forged = Buffer.alloc(HEADER_LEN);
  encodeHeader(forged, 0, MessageType.RecvError, 0, ab.remoteIndex, 0);
  mesh.net.drop = (_p, from, to) => sameAddr(from, b.addr) && sameAddr(to, a.addr);
  const sentBefore = a.memUdp!.sent.length;
  handleUdpPacket(a.node, forged, b.addr);
  await settle();
  const stage1 = () => a.memUdp!.sent.slice(sentBefore).filter((s) => isType(s.packet, MessageType.Handshake)).length;
  assert.equal(stage1(), 0, 'nothing before the proof wait ends');
  clock.advance(RECV_ERROR_PROOF_WAIT_MS + 1);
  await waitFor(() => stage1() > 0, { what: 'the replacement handshake' });
});

test('a packet for an unknown index is answered with recv_error naming that index', async (t) => {
  const { b, stranger } = await tunnel(t);
  const evil = stranger(7);
  const packet = Buffer.alloc(HEADER_LEN + 40, 0xab);
  encodeHeader(packet, 0, MessageType.Message, 0, 0xdeadbeef, 9);
  evil.udp.send(packet, b.addr);
  await waitFor(() => evil.received.length === 1, { what: 'the recv_error' });
  const h = headerOf(evil.received[0]);
  assert.equal(h.type, MessageType.RecvError);
  assert.equal(h.remoteIndex, 0xdeadbeef);
  assert.equal(evil.received[0].length, HEADER_LEN);
  assert.equal(b.node.counters.get('drops', 'outside-unknown-index'), 1);
});

test('with listen.send_recv_error never, an unknown index gets no answer', async (t) => {
  const { b, stranger } = await tunnel(t, { configB: { listen: { send_recv_error: 'never' } } });
  const evil = stranger(8);
  const packet = Buffer.alloc(HEADER_LEN + 40);
  encodeHeader(packet, 0, MessageType.Message, 0, 0xdeadbeef, 9);
  evil.udp.send(packet, b.addr);
  await waitFor(() => b.node.counters.get('drops', 'outside-unknown-index') === 1, { what: 'the drop' });
  await settle();
  assert.equal(evil.received.length, 0);
});

test('short and garbage datagrams of every length 0..100 and every type never throw and are each counted', async (t) => {
  const { a, b, stranger } = await tunnel(t);
  const from: UdpAddr = stranger(9).addr;
  const random = seededRandom(0x5eed);
  const before = drops(b);
  let sent = 0;
  for (let length = 0; length <= 100; length++) {
    for (let type = 0; type < 16; type++) {
      const g = Buffer.alloc(length);
      for (let i = 0; i < length; i++) g[i] = Math.floor(random() * 256);
      if (length > 0) g[0] = 0x10 | type;
      // Half the handshake-typed ones look like a real stage 1 or stage 2 so that they reach the Noise layer.
      if (type === MessageType.Handshake && length >= HEADER_LEN && length % 2 === 0)
        encodeHeader(g, 0, MessageType.Handshake, 0, 0, 1 + (length % 4) / 2);
      assert.doesNotThrow(() => handleUdpPacket(b.node, g, from), `length ${length} type ${type}`);
      sent++;
    }
  }
  assert.equal(drops(b) - before, sent, 'each datagram is one counted drop');
  assert.equal(b.node.counters.get('drops', 'outside-exception'), 0);
  assert.equal(b.node.hostmap.size, 1);

  await connect(a, b, 'still working');
});

test('closeTunnel with a bad tag closes nothing, and an authenticated one closes the tunnel', async (t) => {
  const { a, b, ab, ba } = await tunnel(t);
  const forged = Buffer.alloc(HEADER_LEN + 16, 0x42);
  encodeHeader(forged, 0, MessageType.CloseTunnel, 0, ab.remoteIndex, ab.sendCounter + 1);
  a.memUdp!.send(forged, b.addr);
  await waitFor(() => b.node.counters.get('drops', 'outside-decrypt') === 1, {
    what: 'the forged close to be dropped',
  });
  assert.equal(b.tunnelTo(a), ba, 'the tunnel survives a forged close (Nebula 1.6.1 would tear it down)');
  assert.equal(b.node.counters.get('tunnels-closed', 'peer-closed'), 0);

  a.memUdp!.send(sealForTunnel(ab, MessageType.CloseTunnel, 0, new Uint8Array(0)), b.addr);
  await waitFor(() => b.tunnelTo(a) === undefined, { what: 'the tunnel to close' });
  assert.equal(b.node.counters.get('tunnels-closed', 'peer-closed'), 1);
  assert.equal(b.node.hostmap.byIndex.has(ba.localIndex), false);
});

test('a test request gets a test reply carrying the same payload', async (t) => {
  const { mesh, a, b, ab } = await tunnel(t);
  const replies: Uint8Array[] = [];
  mesh.net.drop = (packet, src) => {
    if (sameAddr(src, b.addr) && isType(packet, MessageType.Test, 1)) replies.push(Uint8Array.from(packet));
    return false;
  };
  const payload = new TextEncoder().encode('are you there?');
  a.memUdp!.send(sealForTunnel(ab, MessageType.Test, 0, payload), b.addr);
  await waitFor(() => replies.length === 1, { what: 'the test reply' });
  const h = headerOf(replies[0]);
  assert.equal(h.remoteIndex, ab.localIndex);
  const opened = ab.keys.recv.open(h.counter, replies[0].subarray(HEADER_LEN), replies[0].subarray(0, HEADER_LEN));
  assert.deepEqual(opened && new Uint8Array(opened), payload);
});

test('roaming follows authenticated packets from a new address, and flapping back is ignored for 2 s', async (t) => {
  const clock = new ManualClock(1_000_000);
  const { mesh, a, b, ab, ba } = await tunnel(t, { clockB: clock });
  const moved = mesh.net.bind('198.51.100.201', 4242);
  const sendFrom = (udp: { send(p: Uint8Array, to: UdpAddr): void }): void =>
    udp.send(sealForTunnel(ab, MessageType.Test, 0, new Uint8Array(0)), b.addr);

  sendFrom(moved);
  await waitFor(() => b.node.counters.get('roams') === 1, { what: 'the roam' });
  assert.ok(sameAddr(ba.remote, moved.addr));
  assert.ok(b.logs.some((l) => l.includes('Host roamed to new udp ip/port')));

  // A packet still in flight from the old address: accepted, but no flap back.
  const packetsIn = ba.packetsIn;
  sendFrom(a.memUdp!);
  await waitFor(() => ba.packetsIn === packetsIn + 1, { what: 'the in-flight packet' });
  assert.ok(sameAddr(ba.remote, moved.addr), 'within 2 s the old address does not win back');
  assert.equal(b.node.counters.get('roams'), 1);

  clock.advance(ROAMING_SUPPRESS_MS + 1);
  sendFrom(a.memUdp!);
  await waitFor(() => b.node.counters.get('roams') === 2, { what: 'the roam back' });
  assert.ok(sameAddr(ba.remote, a.addr));
});

test('an unauthenticated datagram with a valid index from a new address does not move the tunnel', async (t) => {
  const { b, ab, ba, stranger } = await tunnel(t);
  const evil = stranger(10);
  const remote = ba.remote;
  const forged = Buffer.alloc(HEADER_LEN + 60, 0x11);
  encodeHeader(forged, 0, MessageType.Message, 0, ab.remoteIndex, ab.sendCounter + 5);
  evil.udp.send(forged, b.addr);
  await waitFor(() => b.node.counters.get('drops', 'outside-decrypt') === 1, { what: 'the drop' });
  assert.ok(sameAddr(ba.remote, remote));
  assert.equal(b.node.counters.get('roams'), 0);
});
