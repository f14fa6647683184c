// The order in which a received batch of data packets is finished (pkg/datapath/open-batch.ts, outside.ts
// openedData/account): every packet's fate first (replay window, roaming, firewall), then the TUN write, then the
// statistics, so a lone packet reaches the kernel without waiting for the bookkeeping. What decides a packet's fate
// or where a reply goes must still come before the write.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { OpenBatch, type OpenOutcomes } from '../../pkg/datapath/open-batch.js';
import { handleUdpPacket } from '../../pkg/datapath/outside.js';
import { sealForTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { HEADER_LEN, MessageType } from '../../pkg/header/header.js';
import { sameAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { connect, connectedPair, TestMesh } from './helpers/mesh.js';
import { udpPacket, udpPayloadText } from './helpers/packets.js';
import { waitFor } from './helpers/wait.js';

const A = '10.99.0.1';
const B = '10.99.0.2';

test('an open batch decides every record, then writes, then accounts the accepted ones, in order', async (t) => {
  const { a, ba, ab } = await connectedPair(t);
  const steps: string[] = [];
  const outcomes: OpenOutcomes = {
    opened(_host, plaintext) {
      const text = plaintext === null ? null : udpPayloadText(plaintext);
      steps.push(`opened ${text}`);
      if (text === 'throws') throw new Error('boom');
      return text !== null && text !== 'refused';
    },
    decided: () => steps.push('decided'),
    accounted: (_host, length) => steps.push(`accounted ${length}`),
    failed: (err) => steps.push(`failed ${(err as Error).message}`),
  };
  const batch = new OpenBatch(outcomes);
  const seal = (payload: string): Buffer =>
    sealForTunnel(ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload }));
  const forged = Buffer.from(seal('forged'));
  forged[forged.length - 1]! ^= 1;
  const packets = [seal('one'), forged, seal('refused'), seal('throws'), seal('three')];
  for (const p of packets) batch.add(ba, p, p.readUInt32BE(8) * 2 ** 32 + p.readUInt32BE(12), a.addr);
  assert.deepEqual(steps, [], 'nothing before the batch ends');
  batch.flush();
  const plaintextLength = (p: Buffer): number => p.length - HEADER_LEN - 16;
  assert.deepEqual(steps, [
    'opened one',
    'opened null',
    'opened refused',
    'opened throws',
    'failed boom',
    'opened three',
    'decided',
    `accounted ${plaintextLength(packets[0]!)}`,
    `accounted ${plaintextLength(packets[4]!)}`,
  ]);
});

test("a batch's packets reach the TUN before its statistics, after the replay check, roaming and the firewall", async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B] });
  const b = await mesh.node({
    vpnIp: B,
    name: 'b',
    peers: [A],
    config: { firewall: { inbound_action: 'reject' } },
  });
  await connect(a, b);
  const ab = a.tunnelTo(b)!;
  const ba = b.tunnelTo(a)!;
  const moved = mesh.net.bind('198.51.100.201', 4242);
  const atWrite: Array<{ payload: string; packetsIn: number; remote: UdpAddr | null }> = [];
  b.tun.onWrite((p) => atWrite.push({ payload: udpPayloadText(p), packetsIn: ba.packetsIn, remote: ba.remote }));
  const packetsIn = ba.packetsIn;
  const bytesIn = ba.bytesIn;
  const sentBefore = b.memUdp!.sent.length;

  const roamed = sealForTunnel(ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload: 'roamed' }));
  // Not from an address of a's certificate: the firewall rejects it, and its reply must go where a now is.
  const spoofed = sealForTunnel(ab, MessageType.Message, 0, udpPacket({ src: '10.99.0.50', dst: B, payload: 'x' }));
  const after = sealForTunnel(ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload: 'after' }));
  // One batch, as from one recvmmsg: a roams, a packet the firewall rejects, a replay of the first, a last one.
  for (const p of [roamed, spoofed, roamed, after]) handleUdpPacket(b.node, p, moved.addr);
  await waitFor(() => atWrite.length >= 2, { what: 'the two packets delivered' });

  assert.deepEqual(
    atWrite.map((w) => w.payload),
    ['roamed', 'after'],
    'neither the rejected packet nor the replay is written',
  );
  for (const w of atWrite) {
    assert.equal(w.packetsIn, packetsIn, 'the statistics follow the write');
    assert.ok(w.remote !== null && sameAddr(w.remote, moved.addr), 'the tunnel roamed before the write');
  }
  assert.equal(ba.packetsIn, packetsIn + 3, 'the rejected packet is counted as received, the replay is not');
  const plaintexts = roamed.length + spoofed.length + after.length - 3 * (HEADER_LEN + 16);
  assert.equal(ba.bytesIn, bytesIn + plaintexts);
  assert.equal(b.node.counters.get('roams'), 1);
  assert.equal(b.node.counters.get('drops', 'outside-replay'), 1);
  assert.equal(b.node.counters.get('drops', 'firewall-in-remote-not-in-cert'), 1);

  await waitFor(() => b.memUdp!.sent.length > sentBefore, { what: 'the reject reply' });
  const sent = b.memUdp!.sent.slice(sentBefore);
  assert.ok(
    sent.every((s) => sameAddr(s.to, moved.addr)),
    `the reject reply goes to the roamed address, not ${sent.map((s) => `${s.to.address}:${s.to.port}`).join(' ')}`,
  );
});

test("a packet whose delivery throws is still counted as received: liveness reads the tunnel's statistics", async (t) => {
  const mesh = new TestMesh(t);
  mesh.expectEscapedErrors();
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B] });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A] });
  await connect(a, b);
  const ab = a.tunnelTo(b)!;
  const ba = b.tunnelTo(a)!;
  const firewall = b.node.firewall();
  const filter = firewall.filter.bind(firewall);
  firewall.filter = (packet, ...rest) => {
    if (udpPayloadText(packet) === 'throws') throw new Error('firewall bug');
    return filter(packet, ...rest);
  };
  const written: string[] = [];
  b.tun.onWrite((p) => written.push(udpPayloadText(p)));
  const packetsIn = ba.packetsIn;
  const exceptions = b.node.counters.get('drops', 'outside-exception') ?? 0;
  // One batch, as from one recvmmsg.
  for (const payload of ['one', 'throws', 'two']) {
    const p = sealForTunnel(ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload }));
    handleUdpPacket(b.node, p, a.addr);
  }
  await waitFor(() => written.length >= 2, { what: 'the two other packets delivered' });
  assert.deepEqual(written, ['one', 'two']);
  assert.equal(ba.packetsIn, packetsIn + 3, 'all three authenticated packets counted as received');
  assert.equal((b.node.counters.get('drops', 'outside-exception') ?? 0) - exceptions, 1);
});
