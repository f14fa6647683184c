// Two nodes in one process keep their pipeline state apart (pkg/datapath/pipelines.ts): the header being dispatched,
// the open and TUN batches. What one node's pipeline sets off may run another node's pipeline, or its own again,
// synchronously (a TUN write listener, as in a mesh nested inside another), and no datagram may be dispatched by
// another's header.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handleUdpPacket } from '../../pkg/datapath/outside.js';
import { sealForTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { encodeHeader, HEADER_LEN, MessageType } from '../../pkg/header/header.js';
import { MemoryTun } from '../../pkg/tun/memory.js';
import { connect, TestMesh } from './helpers/mesh.js';
import { udpPacket } from './helpers/packets.js';
import { waitFor } from './helpers/wait.js';

const A = '10.99.0.1';
const B = '10.99.0.2';
const C = '10.99.0.3';
/** A full open batch (crypto-batch.ts MAX_RECORDS): delivering it fills a TUN batch, which writes at once. */
const FULL_BATCH = 64;

/** A test request for a tunnel index nobody has: dropped as outside-unknown-index by whoever handles it. */
function strayDatagram(): Buffer {
  const packet = Buffer.alloc(HEADER_LEN + 16);
  encodeHeader(packet, 0, MessageType.Test, 0, 0x7ffffff0, 9);
  return packet;
}

test("a close is dispatched by its own header while the data before it runs another node's pipeline", async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B] });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A] });
  const c = await mesh.node({ vpnIp: C, name: 'c' });
  await connect(a, b);
  const ab = a.tunnelTo(b)!;
  // b's TUN hands a datagram to c's outside pipeline the moment b writes (once).
  let handedOver = false;
  b.tun.onWrite(() => {
    if (handedOver) return;
    handedOver = true;
    handleUdpPacket(c.node, strayDatagram(), a.addr);
  });
  const before = b.tun.written.length;
  // One received batch: a full batch of data, then the close. The close completes the data's batch first; its
  // delivery writes b's TUN, and c's pipeline runs before b dispatches the close.
  for (let i = 0; i < FULL_BATCH; i++)
    handleUdpPacket(b.node, sealForTunnel(ab, MessageType.Message, 0, udpPacket({ src: A, dst: B })), a.addr);
  handleUdpPacket(b.node, sealForTunnel(ab, MessageType.CloseTunnel, 0, new Uint8Array(0)), a.addr);

  assert.ok(handedOver, "c's pipeline ran during b's");
  assert.equal(b.tun.written.length - before, FULL_BATCH, 'the data delivered');
  assert.equal(c.node.counters.get('drops', 'outside-unknown-index'), 1, 'c handled its datagram');
  assert.equal(b.node.counters.get('drops', 'outside-unknown-index'), 0, "b never dispatched by c's header");
  assert.equal(b.tunnelTo(a), undefined, 'b closed the tunnel');
});

test('a close is dispatched by its own header while the data before it runs the same pipeline again', async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B] });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A] });
  await connect(a, b);
  const ab = a.tunnelTo(b)!;
  // b's TUN hands a datagram back to b's own outside pipeline the moment b writes (once).
  let handedOver = false;
  b.tun.onWrite(() => {
    if (handedOver) return;
    handedOver = true;
    handleUdpPacket(b.node, strayDatagram(), a.addr);
  });
  for (let i = 0; i < FULL_BATCH; i++)
    handleUdpPacket(b.node, sealForTunnel(ab, MessageType.Message, 0, udpPacket({ src: A, dst: B })), a.addr);
  handleUdpPacket(b.node, sealForTunnel(ab, MessageType.CloseTunnel, 0, new Uint8Array(0)), a.addr);

  assert.ok(handedOver);
  assert.equal(b.node.counters.get('drops', 'outside-unknown-index'), 1, 'only the stray datagram');
  assert.equal(b.tunnelTo(a), undefined, 'b closed the tunnel');
});

test('a TUN write failure counts on the node that wrote, not on the one that used the device before', async (t) => {
  const mesh = new TestMesh(t);
  const tun = new MemoryTun({ name: 'mem-shared' });
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B, C] });
  const first = await mesh.node({ vpnIp: B, name: 'first', peers: [A], tun });
  await connect(a, first);
  await first.stop(); // closes the device: writing it throws from now on
  const second = await mesh.node({ vpnIp: C, name: 'second', peers: [A], tun });
  a.tun.inject(udpPacket({ src: A, dst: C, payload: 'to a closed device' }));
  await waitFor(() => second.node.counters.get('drops', 'tun-write-failed') === 1, {
    what: () => `drops on second: ${JSON.stringify(second.node.counters.snapshot().drops)}`,
  });
  assert.equal(first.node.counters.get('drops', 'tun-write-failed'), 0);
});
