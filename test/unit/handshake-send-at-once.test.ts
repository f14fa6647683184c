import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { MessageType } from '../../pkg/header/header.js';
import { PUNCH_SETTLE_MS } from '../../pkg/punchy/nat-punch.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import type { LocalNetwork } from '../../pkg/punchy/punch-needed.js';
import { addrKey, sameAddr, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { A_VPN_IP as A, B_VPN_IP as B, LH_ADDR, lighthousePair } from './helpers/lighthouse-pair.js';
import type { TestNode } from './helpers/mesh.js';
import { isType, udpPacket } from './helpers/packets.js';
import { waitFor } from './helpers/wait.js';

// A cold tunnel's first packet waits out several round trips (the lighthouse query, stage 1 and 2, the packet and
// its answer); each datagram that starts one is handed to the socket as soon as it is built, not at the end of the
// turn that built it (batched UDP sends, pkg/udp/batch-conn.ts); a stage 1 waiting for a punch leaves when it settled.
// The memory socket delivers at once; its flush() here only records which datagrams a flush would have handed over.

const B_ADDR = udpAddr('192.168.7.2', 4242);
const LAN: LocalNetwork[] = [{ address: '192.168.7.1', prefixLength: 24 }];

interface Flush {
  /** How many datagrams the socket had been given when flush() was called. */
  sent: number;
  /** Whether the node had a pending handshake to the other node then (its stage 1 was built). */
  handshakeBuilt: boolean;
}

async function lab(t: { after(fn: () => unknown): void }, bAddr = B_ADDR) {
  const clock = new ManualClock(1_000_000);
  const { a, b } = await lighthousePair(t, clock, { underlay: bAddr, localNetworks: LAN });
  return { clock, a, b, aFlushes: recordFlushes(a, B), bFlushes: recordFlushes(b, A) };
}

function recordFlushes(n: TestNode, peer: string): Flush[] {
  const flushes: Flush[] = [];
  const udp = n.memUdp!;
  Object.assign(udp, {
    flush: () =>
      flushes.push({ sent: udp.sent.length, handshakeBuilt: n.node.handshakes.pending.has(parseIpv4(peer)) }),
  });
  return flushes;
}

/** The last datagram the socket had been given when `f` was called. */
function lastBefore(n: TestNode, f: Flush): { packet: Uint8Array; to: UdpAddr } {
  return n.memUdp!.sent[f.sent - 1];
}

async function firstPacket(a: TestNode, b: TestNode): Promise<void> {
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'first' }));
  await waitFor(() => b.tun.written.length > 0, {
    timeoutMs: 1000,
    what: () => `the first packet at b\n${a.logs.join('\n')}`,
  });
}

test('the lighthouse query for an unknown peer is handed to the socket before stage 1 is built', async (t) => {
  const { a, b, aFlushes } = await lab(t);
  await firstPacket(a, b);
  const first = aFlushes[0];
  assert.ok(first, 'a flushed its sends');
  const d = lastBefore(a, first);
  assert.ok(
    sameAddr(d.to, LH_ADDR) && isType(d.packet, MessageType.LightHouse),
    'the query is the datagram flushed first',
  );
  assert.equal(first.handshakeBuilt, false, 'flushed before the handshake and its stage 1 were built');
});

test("stage 1 is handed to the socket as soon as the lighthouse's answer names the peer", async (t) => {
  const { a, b, aFlushes } = await lab(t);
  await firstPacket(a, b);
  const stage1 = aFlushes.filter((f) => {
    const d = lastBefore(a, f);
    return sameAddr(d.to, B_ADDR) && isType(d.packet, MessageType.Handshake, 0, 1);
  });
  assert.equal(stage1.length, 1, 'one flush right after stage 1 to the LAN address');
});

test('the responder hands stage 2 to the socket before the rest of the turn', async (t) => {
  const { a, b, bFlushes } = await lab(t);
  await firstPacket(a, b);
  const sent = b.memUdp!.sent;
  const stage2At = sent.findIndex((d) => isType(d.packet, MessageType.Handshake, 0, 2));
  assert.ok(stage2At >= 0, 'b sent stage 2');
  // a's first packet proved the candidate before its test request fell due (candidate-test-requests.ts).
  assert.equal(
    sent.findIndex((d) => isType(d.packet, MessageType.Test, 0)),
    -1,
    'b sent no test request',
  );
  assert.ok(
    bFlushes.some((f) => f.sent === stage2At + 1),
    'a flush came right after stage 2',
  );
});

test('the packets that waited for the handshake are handed to the socket as soon as stage 2 is read', async (t) => {
  const { a, b, aFlushes } = await lab(t);
  await firstPacket(a, b);
  const sent = a.memUdp!.sent;
  const dataAt = sent.findIndex((d) => sameAddr(d.to, B_ADDR) && isType(d.packet, MessageType.Message, 0));
  assert.ok(dataAt >= 0, 'a sent the queued packet to b');
  assert.ok(
    aFlushes.some((f) => f.sent === dataAt + 1),
    'a flush came right after the queued packet',
  );
});

test('stage 1 to a NATed address leaves the moment its punch settled, not at the next retransmit tick', async (t) => {
  const bPublic = udpAddr('203.0.113.2', 4242);
  const { clock, a } = await lab(t, bPublic);
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'first' }));
  await waitFor(() => a.node.handshakes.pending.get(parseIpv4(B))?.tried.has(addrKey(bPublic)) === true, {
    timeoutMs: 1000,
    what: "the lighthouse's answer at a (b's address punched)",
  });
  const stage1 = (): number =>
    a.memUdp!.sent.filter((d) => sameAddr(d.to, bPublic) && isType(d.packet, MessageType.Handshake, 0, 1)).length;
  clock.advance(PUNCH_SETTLE_MS - 1);
  assert.equal(stage1(), 0, 'not before the settle');
  // No real time passes here: the retransmit ticker (a real 25 ms interval) cannot have sent it.
  clock.advance(1);
  assert.equal(stage1(), 1, 'sent when the settle ended');
});
