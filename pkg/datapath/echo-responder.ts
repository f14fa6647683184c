// With tun.disabled there is no interface to deliver to, but a host should still answer `ping` on its overlay
// addresses (a lighthouse in the README's quickstart runs that way), as Nebula's disabled device does: an ICMP echo
// request (IPv4) or ICMPv6 echo request (IPv6, type 128) that passed the inbound firewall is turned into its echo
// reply (type 0 / 129), which then travels the inside pipeline like any packet read from a TUN (outbound firewall,
// the tunnel, UDP). The reply is the request's size and goes only back through the tunnel it came from, so it can
// make us send no more than we were sent. Unlike Nebula, checksums are verified first, and an IPv6 request to a
// multicast group or behind extension headers gets no reply (docs/ipv6.md).

import { finishChecksum, internetChecksum, onesSum } from '../firewall/checksum.js';

const ICMP = 1;
const ECHO_REQUEST = 8;
const ECHO_REPLY = 0;
const ICMPV6 = 58;
const ECHO_REQUEST_V6 = 128;
const ECHO_REPLY_V6 = 129;
const IPV6_HLEN = 40;
const REPLY_TTL = 64;

/** The echo reply for an unfragmented ICMP (IPv4) or ICMPv6 (IPv6) echo request, or null for anything else. */
export function icmpEchoReply(packet: Uint8Array): Uint8Array | null {
  if (packet.length === 0) return null;
  const version = packet[0] >> 4;
  if (version === 4) return icmp4EchoReply(packet);
  if (version === 6) return icmp6EchoReply(packet);
  return null;
}

function icmp4EchoReply(packet: Uint8Array): Uint8Array | null {
  if (packet.length < 20) return null;
  const ihl = (packet[0] & 0x0f) * 4;
  const total = (packet[2] << 8) | packet[3];
  if (ihl < 20 || total < ihl + 8 || total > packet.length || packet[9] !== ICMP) return null;
  // A fragment (more fragments, or an offset) is not a whole request: the kernel would reassemble first.
  if ((((packet[6] & 0x3f) << 8) | packet[7]) !== 0) return null;
  if (packet[ihl] !== ECHO_REQUEST || packet[ihl + 1] !== 0) return null;
  if (internetChecksum(packet, ihl, total) !== 0) return null;

  const reply = Uint8Array.from(packet.subarray(0, total));
  reply.set(packet.subarray(16, 20), 12);
  reply.set(packet.subarray(12, 16), 16);
  reply[8] = REPLY_TTL;
  reply[10] = 0;
  reply[11] = 0;
  const ipSum = internetChecksum(reply, 0, ihl);
  reply[10] = ipSum >> 8;
  reply[11] = ipSum & 0xff;
  reply[ihl] = ECHO_REPLY;
  reply[ihl + 2] = 0;
  reply[ihl + 3] = 0;
  const icmpSum = internetChecksum(reply, ihl, total);
  reply[ihl + 2] = icmpSum >> 8;
  reply[ihl + 3] = icmpSum & 0xff;
  return reply;
}

/** The ICMPv6 checksum of packet[40, 40 + length) (RFC 4443 2.3: over the IPv6 pseudo-header too). */
function icmp6Checksum(packet: Uint8Array, length: number): number {
  const pseudo = onesSum(packet, 8, IPV6_HLEN) + Math.floor(length / 0x10000) + (length & 0xffff) + ICMPV6;
  return finishChecksum(onesSum(packet, IPV6_HLEN, IPV6_HLEN + length, pseudo));
}

function icmp6EchoReply(packet: Uint8Array): Uint8Array | null {
  if (packet.length < IPV6_HLEN + 8) return null;
  const length = (packet[4] << 8) | packet[5];
  // Straight behind the fixed header only: an extension header (a fragment among them) fails closed.
  if (packet[6] !== ICMPV6 || length < 8 || IPV6_HLEN + length > packet.length) return null;
  // A reply must come from a unicast address, and a group's is not ours to pick (RFC 4443 4.2).
  if (packet[24] === 0xff) return null;
  if (packet[IPV6_HLEN] !== ECHO_REQUEST_V6 || packet[IPV6_HLEN + 1] !== 0) return null;
  if (icmp6Checksum(packet, length) !== 0) return null;

  const reply = Uint8Array.from(packet.subarray(0, IPV6_HLEN + length));
  reply.set(packet.subarray(24, 40), 8);
  reply.set(packet.subarray(8, 24), 24);
  reply[7] = REPLY_TTL;
  reply[IPV6_HLEN] = ECHO_REPLY_V6;
  reply[IPV6_HLEN + 2] = 0;
  reply[IPV6_HLEN + 3] = 0;
  const sum = icmp6Checksum(reply, length);
  reply[IPV6_HLEN + 2] = sum >> 8;
  reply[IPV6_HLEN + 3] = sum & 0xff;
  return reply;
}
