// `action: reject` on IPv6 (pkg/firewall/reject-ipv6.ts): the bytes of the TCP RST and the ICMPv6 unreachable,
// checksums checked by upperChecksum6 (an independent byte-pair sum in the fixtures), and when no reply is due.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import { Firewall, parseFirewallRules } from '../../pkg/firewall/firewall.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { ICMPV6, TCP, UDP, ipv6Packet, peer, upperChecksum6 } from './firewall-fixtures.js';

const US = 'fd00::1';
const THEM = 'fd00::2';
const them = peer({ ip: THEM });
const fw = new Firewall(parseFirewallRules({ inbound_action: 'reject' }), {
  clock: new ManualClock(),
  vpnNetworks: [parseIpPrefix('fd00::1/64')],
});

function u16(buf: Uint8Array, at: number): number {
  return (buf[at] << 8) | buf[at + 1];
}
function u32(buf: Uint8Array, at: number): number {
  return new DataView(buf.buffer, buf.byteOffset).getUint32(at);
}

/** The reply's IPv6 header: version 6, no class or label, payload length, next header, hop limit 64, addresses swapped. */
function assertReplyHeader(reply: Uint8Array, original: Uint8Array, nextHeader: number): void {
  assert.deepEqual([...reply.subarray(0, 4)], [0x60, 0, 0, 0]);
  assert.equal(u16(reply, 4), reply.length - 40, 'payload length');
  assert.equal(reply[6], nextHeader);
  assert.equal(reply[7], 64);
  assert.deepEqual(reply.subarray(8, 24), original.subarray(24, 40));
  assert.deepEqual(reply.subarray(24, 40), original.subarray(8, 24));
}

function refusedReply(packet: Uint8Array): Uint8Array | null {
  assert.equal(fw.filter(packet, true, them), 'no-rule');
  return fw.rejectReply(packet, true);
}

test('a refused IPv6 TCP SYN gets a RST+ACK acknowledging it, its checksum over the IPv6 pseudo-header', () => {
  const syn = ipv6Packet({
    src: THEM,
    dst: US,
    proto: TCP,
    srcPort: 40000,
    dstPort: 22,
    seq: 0xfffffff0,
    tcpFlags: 0x02,
    ext: [{ type: 60 }],
  });
  const reply = refusedReply(syn);
  assert.ok(reply);
  assert.equal(reply.length, 60);
  assertReplyHeader(reply, syn, TCP);
  assert.deepEqual([u16(reply, 40), u16(reply, 42)], [22, 40000]);
  assert.equal(u32(reply, 44), 0, 'sequence 0');
  assert.equal(u32(reply, 48), 0xfffffff1, 'ack = their sequence + SYN');
  assert.equal(reply[52], 5 << 4);
  assert.equal(reply[53], 0x14, 'RST+ACK');
  assert.equal(u16(reply, 56), upperChecksum6(reply, 40, TCP), 'TCP checksum');
});

test('a refused IPv6 TCP segment with ACK and payload gets a bare RST with their ack as sequence', () => {
  const seg = ipv6Packet({
    src: THEM,
    dst: US,
    proto: TCP,
    srcPort: 40000,
    dstPort: 22,
    seq: 5,
    ack: 0xabcdef01,
    tcpFlags: 0x18,
    payload: 100,
  });
  const reply = refusedReply(seg);
  assert.ok(reply);
  assert.equal(u32(reply, 44), 0xabcdef01);
  assert.equal(u32(reply, 48), 0);
  assert.equal(reply[53], 0x04, 'RST');
  assert.equal(u16(reply, 56), upperChecksum6(reply, 40, TCP));
  const fin = ipv6Packet({
    src: THEM,
    dst: US,
    proto: TCP,
    srcPort: 40000,
    dstPort: 22,
    seq: 5,
    tcpFlags: 0x01,
    payload: 100,
  });
  assert.equal(u32(refusedReply(fin)!, 48), 5 + 100 + 1, 'ack = sequence + payload + FIN');
});

test('refused UDP and everything else but TCP gets ICMPv6 administratively prohibited (as Nebula 1.11), quoting the packet', () => {
  const udp = ipv6Packet({ src: THEM, dst: US, proto: UDP, srcPort: 5000, dstPort: 53, payload: 20 });
  const reply = refusedReply(udp);
  assert.ok(reply);
  assert.equal(reply.length, 40 + 8 + udp.length);
  assertReplyHeader(reply, udp, ICMPV6);
  assert.deepEqual([reply[40], reply[41]], [1, 1], 'destination unreachable, administratively prohibited');
  assert.equal(u32(reply, 44), 0, 'unused');
  assert.deepEqual(reply.subarray(48), udp, 'the refused packet, whole');
  assert.equal(u16(reply, 42), upperChecksum6(reply, 40, ICMPV6), 'ICMPv6 checksum');
  const ping = ipv6Packet({ src: THEM, dst: US, proto: ICMPV6, icmpType: 128 });
  const prohibited = refusedReply(ping)!;
  assert.deepEqual([prohibited[40], prohibited[41]], [1, 1], 'administratively prohibited');
  assert.equal(u16(prohibited, 42), upperChecksum6(prohibited, 40, ICMPV6));
});

test('an ICMPv6 unreachable quotes at most 1000 bytes, so it never exceeds 1048 bytes (below the 1280 minimum MTU)', () => {
  const big = ipv6Packet({ src: THEM, dst: US, proto: UDP, srcPort: 1, dstPort: 2, payload: 8000 });
  const reply = refusedReply(big)!;
  assert.equal(reply.length, 1048);
  assert.deepEqual(reply.subarray(48), big.subarray(0, 1000));
  assert.equal(u16(reply, 42), upperChecksum6(reply, 40, ICMPV6));
  const small = ipv6Packet({ src: THEM, dst: US, proto: 47 });
  assert.equal(refusedReply(small)!.length, small.length + 48, 'at most 48 bytes more than the packet');
});

test('no reply to ICMPv6 errors, RSTs, non-first fragments, unjudgeable chains, multicast or unspecified ends', () => {
  const none = (packet: Uint8Array, why: string) => assert.equal(fw.rejectReply(packet, true), null, why);
  for (const type of [1, 2, 3, 4, 127])
    none(ipv6Packet({ src: THEM, dst: US, proto: ICMPV6, icmpType: type }), `ICMPv6 error type ${type}`);
  none(ipv6Packet({ src: THEM, dst: US, proto: TCP, tcpFlags: 0x04 }), 'a RST');
  none(ipv6Packet({ src: THEM, dst: US, proto: UDP, ext: [{ type: 44, fragOffset: 3 }] }), 'a non-first fragment');
  none(ipv6Packet({ src: THEM, dst: US, proto: UDP, ext: [{ type: 60 }, { type: 0 }] }), 'hop-by-hop not first');
  none(ipv6Packet({ src: 'ff02::1', dst: US, proto: UDP }), 'from multicast');
  none(ipv6Packet({ src: '::', dst: US, proto: UDP }), 'from the unspecified address');
  none(ipv6Packet({ src: THEM, dst: 'ff02::1', proto: UDP }), 'to multicast');
  none(ipv6Packet({ src: THEM, dst: US, proto: TCP }).subarray(0, 40 + 19), 'a TCP header cut short');
  assert.notEqual(
    fw.rejectReply(ipv6Packet({ src: THEM, dst: US, proto: ICMPV6, icmpType: 128 }), true),
    null,
    'echo request: informational',
  );
});
