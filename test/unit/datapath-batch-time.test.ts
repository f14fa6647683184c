import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { flushOpened, handleUdpPacket } from '../../pkg/datapath/outside.js';
import { sealForTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { MessageType } from '../../pkg/header/header.js';
import { connect, TestMesh } from './helpers/mesh.js';
import { udpPacket } from './helpers/packets.js';

// The data path reads the clock once per batch (docs/state-machines.md, "Data path time"): the packets of one
// received batch, or of one TUN read, share one time for lastRecvAt and the firewall's conntrack, and a later batch
// sees the later time.

const A = '10.99.0.1';
const B = '10.99.0.2';
const BATCH = 32;
/** Reads a batch may make whatever its size: the batch's own, and a few per tunnel (the seal batch's accounting). */
const READS_PER_BATCH = 3;
const START = 1_000_000;

/** A ManualClock that counts its now() calls. */
class CountingClock extends ManualClock {
  reads = 0;
  override now(): number {
    this.reads++;
    return super.now();
  }
}

/** a and b on clocks of their own, the tunnel up; b lets in only the flows it started (any outbound, no inbound). */
async function pair(t: { after(fn: () => unknown): void }) {
  const clockA = new CountingClock(START);
  const clockB = new CountingClock(START);
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], clock: clockA });
  const b = await mesh.node({
    vpnIp: B,
    name: 'b',
    peers: [A],
    clock: clockB,
    config: { firewall: { outbound: [{ port: 'any', proto: 'any', host: 'any' }], inbound: [] } },
  });
  await connect(b, a);
  const ab = a.tunnelTo(b)!;
  const ba = b.tunnelTo(a)!;
  /** A data packet a seals for b, answering b's flow from port 40000 to a's port 7. */
  const answer = (i: number): Buffer =>
    sealForTunnel(
      ab,
      MessageType.Message,
      0,
      udpPacket({ src: A, dst: B, srcPort: 7, dstPort: 40000, payload: `${i}` }),
    );
  return { clockA, clockB, a, b, ab, ba, answer };
}

test('the data packets of one received batch share one clock read, and a later batch sees the later time', async (t) => {
  const { clockB, a, b, ba, answer } = await pair(t);
  // b's flow to a's port 7, which lets a's answers in.
  b.tun.inject(udpPacket({ src: B, dst: A, srcPort: 40000, dstPort: 7, payload: 'ask' }));
  const written = b.tun.written.length;

  const packets = Array.from({ length: BATCH }, (_, i) => answer(i));
  clockB.reads = 0;
  for (const p of packets) handleUdpPacket(b.node, p, a.addr);
  flushOpened(b.node);
  const reads = clockB.reads;
  await new Promise((r) => setImmediate(r));
  assert.equal(b.tun.written.length, written + BATCH, 'the answers pass the conntrack entry b made');
  assert.ok(reads <= READS_PER_BATCH, `${reads} clock reads for a batch of ${BATCH}`);
  assert.equal(ba.lastRecvAt, START);

  // The next batch, within the flow's timeout: its time is the clock's now at its start.
  clockB.advance(60_000);
  handleUdpPacket(b.node, answer(BATCH), a.addr);
  flushOpened(b.node);
  assert.equal(ba.lastRecvAt, START + 60_000);
  assert.equal(b.node.counters.get('drops', 'firewall-in-no-rule'), 0);

  // Past the UDP timeout (3 min) since that packet refreshed the flow: the next batch finds it expired.
  clockB.advance(3 * 60_000 + 1);
  handleUdpPacket(b.node, answer(BATCH + 1), a.addr);
  flushOpened(b.node);
  assert.equal(ba.lastRecvAt, START + 60_000 + 3 * 60_000 + 1, 'authenticated: the tunnel heard from a');
  assert.equal(b.node.counters.get('drops', 'firewall-in-no-rule'), 1);
});

test('the packets of one TUN read share one clock read, and a later read sees the later time', async (t) => {
  const { clockA, a, ab } = await pair(t);
  const toB = (i: number): Uint8Array => udpPacket({ src: A, dst: B, srcPort: 7, dstPort: 40000, payload: `${i}` });
  // a's own flow to b (b drops it inbound: only a's side is looked at here).
  const conntrack = a.node.firewall().conntrackSize;

  clockA.reads = 0;
  a.tun.injectBatch(Array.from({ length: BATCH }, (_, i) => toB(i)));
  const reads = clockA.reads;
  assert.ok(reads <= READS_PER_BATCH, `${reads} clock reads for a TUN read of ${BATCH}`);
  assert.equal(ab.lastSendAt, START);
  assert.equal(a.node.firewall().conntrackSize, conntrack + 1, 'one flow, made at the read');

  // A read after the flows' timeout (3 min) makes the flow afresh, timed from that read: two minutes on it is alive.
  clockA.advance(3 * 60_000 + 1);
  a.node.firewall().sweep();
  assert.equal(a.node.firewall().conntrackSize, 0, 'the flows expired');
  a.tun.injectBatch([toB(BATCH)]);
  assert.equal(ab.lastSendAt, START + 3 * 60_000 + 1);
  clockA.advance(2 * 60_000);
  a.node.firewall().sweep();
  assert.equal(a.node.firewall().conntrackSize, 1, 'the flow made at the later read');
});
