import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import { internetChecksum, onesSum, finishChecksum } from '../../pkg/firewall/checksum.js';
import { Firewall, parseFirewallRules } from '../../pkg/firewall/firewall.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { ICMP, TCP, UDP, ipv4Packet, peer } from './firewall-fixtures.js';

const fw = new Firewall(parseFirewallRules({ inbound_action: 'reject' }), {
  clock: new ManualClock(),
  localNets: [{ ip: parseIpv4('10.1.0.1'), mask: 0xffffffff }],
});

function u16(buf: Uint8Array, at: number): number {
  return (buf[at] << 8) | buf[at + 1];
}
function u32(buf: Uint8Array, at: number): number {
  return new DataView(buf.buffer, buf.byteOffset).getUint32(at);
}

/** Checks the IPv4 header of a reply: addresses swapped, sane fields, valid checksum. */
function assertReplyHeader(reply: Uint8Array, original: Uint8Array, protocol: number): void {
  assert.equal(reply[0], 0x45);
  assert.equal(u16(reply, 2), reply.length);
  assert.equal(reply[8], 64);
  assert.equal(reply[9], protocol);
  assert.deepEqual(reply.subarray(12, 16), original.subarray(16, 20));
  assert.deepEqual(reply.subarray(16, 20), original.subarray(12, 16));
  assert.equal(internetChecksum(reply, 0, 20), 0, 'IP header checksum verifies');
}

function tcpChecksumVerifies(reply: Uint8Array): boolean {
  const pseudo = onesSum(reply, 12, 20, TCP + (reply.length - 20));
  return finishChecksum(onesSum(reply, 20, reply.length, pseudo)) === 0;
}

test('actionFor reports the configured action per direction', () => {
  assert.equal(fw.actionFor(true), 'reject');
  assert.equal(fw.actionFor(false), 'drop');
});

test('a refused TCP SYN gets a RST+ACK acknowledging the SYN, with valid checksums', () => {
  const syn = ipv4Packet({
    src: '10.1.0.2',
    dst: '10.1.0.1',
    proto: TCP,
    srcPort: 40000,
    dstPort: 22,
    seq: 0xfffffff0,
    tcpFlags: 0x02,
  });
  assert.equal(fw.filter(syn, true, peer({ ip: '10.1.0.2' })), 'no-rule');
  const reply = fw.rejectReply(syn, true);
  assert.ok(reply);
  assert.equal(reply.length, 40);
  assertReplyHeader(reply, syn, TCP);
  assert.deepEqual([u16(reply, 20), u16(reply, 22)], [22, 40000]);
  assert.equal(u32(reply, 24), 0, 'sequence 0');
  assert.equal(u32(reply, 28), 0xfffffff1, 'acknowledges seq + SYN');
  assert.equal(reply[32] >>> 4, 5);
  assert.equal(reply[33], 0x14, 'RST|ACK');
  assert.ok(tcpChecksumVerifies(reply));
});

test('a refused TCP segment with payload is acknowledged past its data', () => {
  const data = ipv4Packet({
    src: '10.1.0.2',
    dst: '10.1.0.1',
    proto: TCP,
    srcPort: 1,
    dstPort: 2,
    seq: 100,
    tcpFlags: 0x08 | 0x01,
    payload: 30,
  });
  const reply = fw.rejectReply(data, true)!;
  assert.equal(u32(reply, 28), 100 + 30 + 1, 'seq + length + FIN');
  assert.ok(tcpChecksumVerifies(reply));
});

test('a refused TCP segment carrying ACK gets a bare RST whose sequence is that ack', () => {
  const ack = ipv4Packet({
    src: '10.1.0.2',
    dst: '10.1.0.1',
    proto: TCP,
    srcPort: 1,
    dstPort: 2,
    seq: 5,
    ack: 0xabcdef01,
    tcpFlags: 0x10,
  });
  const reply = fw.rejectReply(ack, true)!;
  assert.equal(u32(reply, 24), 0xabcdef01);
  assert.equal(u32(reply, 28), 0);
  assert.equal(reply[33], 0x04);
  assert.ok(tcpChecksumVerifies(reply));
});

test('a refused UDP datagram gets ICMP port unreachable quoting its header and 8 bytes', () => {
  const udp = ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: UDP, srcPort: 5000, dstPort: 53, payload: 100 });
  const reply = fw.rejectReply(udp, true)!;
  assertReplyHeader(reply, udp, ICMP);
  assert.equal(reply.length, 20 + 8 + 28);
  assert.deepEqual([reply[20], reply[21]], [3, 3]);
  assert.deepEqual(reply.subarray(28), udp.subarray(0, 28));
  assert.equal(internetChecksum(reply, 20), 0, 'ICMP checksum verifies');
});

test('a refused ping or other protocol gets ICMP administratively prohibited', () => {
  for (const proto of [ICMP, 47]) {
    const packet = ipv4Packet({ src: '10.1.0.1', dst: '10.1.0.2', proto, srcPort: 1, dstPort: 2 });
    const reply = fw.rejectReply(packet, false)!;
    assertReplyHeader(reply, packet, ICMP);
    assert.deepEqual([reply[20], reply[21]], [3, 13]);
    assert.equal(internetChecksum(reply, 20), 0);
  }
});

test('a short packet is quoted only as far as it goes', () => {
  const packet = ipv4Packet({ src: '10.1.0.1', dst: '10.1.0.2', proto: ICMP }).subarray(0, 22);
  const reply = fw.rejectReply(packet, false)!;
  assert.equal(reply.length, 20 + 8 + 22);
  assert.equal(internetChecksum(reply, 20), 0, 'odd-length body still verifies');
});

test('no reply to RSTs, ICMP errors, non-first fragments, broadcast/multicast or unparsable packets', () => {
  const cases: Array<[string, Uint8Array]> = [
    ['RST', ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: TCP, srcPort: 1, dstPort: 2, tcpFlags: 0x04 })],
    ['ICMP unreachable', ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: ICMP, icmpType: 3 })],
    ['ICMP time exceeded', ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: ICMP, icmpType: 11 })],
    ['fragment', ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: UDP, fragOffset: 20 })],
    ['to multicast', ipv4Packet({ src: '10.1.0.2', dst: '224.0.0.251', proto: UDP, srcPort: 5353, dstPort: 5353 })],
    ['to broadcast', ipv4Packet({ src: '10.1.0.2', dst: '255.255.255.255', proto: UDP, srcPort: 68, dstPort: 67 })],
    ['from 0.0.0.0', ipv4Packet({ src: '0.0.0.0', dst: '10.1.0.1', proto: UDP, srcPort: 68, dstPort: 67 })],
    [
      'truncated TCP',
      ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: TCP, srcPort: 1, dstPort: 2 }).subarray(0, 30),
    ],
    ['garbage', new Uint8Array([0x60, 1, 2])],
  ];
  for (const [name, packet] of cases) assert.equal(fw.rejectReply(packet, true), null, name);
});
