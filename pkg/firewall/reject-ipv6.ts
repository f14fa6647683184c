// The `action: reject` answer to an IPv6 packet (see reject.ts for IPv4): a TCP RST for TCP, an ICMPv6
// destination unreachable (RFC 4443 3.1) for everything else, addressed to the refused packet's source from
// its destination, read through the same extension header walk as the verdict (packet-ipv6.ts).
//
// IPv6 header of the reply (40 bytes): version 6, traffic class 0, flow label 0, payload length, next header
// (6 or 58), hop limit 64, source = their destination, destination = their source.
//
// TCP RST (20 bytes) as reject.ts draws it, sequence numbers as Linux's nf_reject sets them; its checksum
// covers the IPv6 pseudo-header (RFC 8200 8.1: source, destination, upper-layer length, next header).
//
// ICMPv6 destination unreachable:
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------+---------------+-------------------------------+
//  |    type 1     |     code      |   checksum (pseudo-header)    |
//  +---------------+---------------+-------------------------------+
//  |                            unused                             |
//  +---------------------------------------------------------------+
//  |   the refused packet from its first byte, at most 1000 bytes  |
//  +---------------------------------------------------------------+
// Code 1 (administratively prohibited) for every protocol, as Nebula 1.11 answers (mesh's IPv4 reject keeps its
// older port unreachable for UDP; a mixed network sees one IPv6 answer). At most 1000 bytes are quoted, as Nebula
// 1.11 does, so the reply (at most 1048 bytes) stays below
// the IPv6 minimum MTU of 1280 and inside any tunnel MTU, and is never more than 48 bytes longer than the
// packet it answers.
//
// No reply to: a chain the firewall would not judge, non-first fragments, TCP RSTs, ICMPv6 error messages
// (types 0-127, RFC 4443 2.4 e.1; Nebula 1.11 only skips 1-4), and packets from the unspecified or a multicast
// address or to a multicast address (RFC 4443 2.4 e.2/e.3; Nebula 1.11 answers those).

import { finishChecksum, onesSum } from './checksum.js';
import { PROTO_ICMPV6, PROTO_TCP } from './constants.js';
import { IPV6_HEADER_LEN, walkIpv6Chain, type Ipv6Chain } from './packet-ipv6.js';
import { tcpResetInto, TCP_HEADER_LEN } from './tcp-reset.js';

const ICMPV6_HEADER_LEN = 8;
const ICMPV6_DEST_UNREACHABLE = 1;
const ICMPV6_CODE_ADMIN_PROHIBITED = 1;
/** ICMPv6 types below this are error messages (RFC 4443 2.1). */
const ICMPV6_FIRST_INFO_TYPE = 128;
/** Bytes of the refused packet an ICMPv6 unreachable quotes at most (Nebula 1.11's figure). */
export const ICMPV6_MAX_QUOTE = 1000;

const chain: Ipv6Chain = { protocol: 0, offset: 0, fragment: false };

export function buildRejectReply6(packet: Uint8Array): Uint8Array | null {
  if (packet.length < IPV6_HEADER_LEN || packet[0] >>> 4 !== 6) return null;
  if (walkIpv6Chain(packet, chain) !== null || chain.fragment) return null;
  if (!isUnicastSource(packet, 8) || packet[24] === 0xff) return null;
  const { protocol, offset } = chain;
  if (protocol === PROTO_TCP) return tcpReset6(packet, offset);
  if (protocol === PROTO_ICMPV6 && (packet.length <= offset || packet[offset] < ICMPV6_FIRST_INFO_TYPE)) return null;
  return icmpv6Unreachable(packet, ICMPV6_CODE_ADMIN_PROHIBITED);
}

function tcpReset6(packet: Uint8Array, offset: number): Uint8Array | null {
  const out = new Uint8Array(IPV6_HEADER_LEN + TCP_HEADER_LEN);
  // The segment ends where the payload length says, or where the bytes do if they are fewer.
  const end = Math.min(IPV6_HEADER_LEN + ((packet[4] << 8) | packet[5]), packet.length);
  if (!tcpResetInto(out, IPV6_HEADER_LEN, packet, offset, end)) return null;
  writeIpv6Header(out, packet, PROTO_TCP);
  setChecksum(out, PROTO_TCP, IPV6_HEADER_LEN + 16);
  return out;
}

function icmpv6Unreachable(packet: Uint8Array, code: number): Uint8Array {
  const quoted = Math.min(packet.length, ICMPV6_MAX_QUOTE);
  const out = new Uint8Array(IPV6_HEADER_LEN + ICMPV6_HEADER_LEN + quoted);
  writeIpv6Header(out, packet, PROTO_ICMPV6);
  out[IPV6_HEADER_LEN] = ICMPV6_DEST_UNREACHABLE;
  out[IPV6_HEADER_LEN + 1] = code;
  out.set(packet.subarray(0, quoted), IPV6_HEADER_LEN + ICMPV6_HEADER_LEN);
  setChecksum(out, PROTO_ICMPV6, IPV6_HEADER_LEN + 2);
  return out;
}

function writeIpv6Header(out: Uint8Array, packet: Uint8Array, nextHeader: number): void {
  const payload = out.length - IPV6_HEADER_LEN;
  out[0] = 0x60;
  out[4] = payload >>> 8;
  out[5] = payload & 0xff;
  out[6] = nextHeader;
  out[7] = 64;
  out.set(packet.subarray(24, 40), 8);
  out.set(packet.subarray(8, 24), 24);
}

/** The upper-layer checksum at `at`, over the IPv6 pseudo-header and everything after the fixed header. */
function setChecksum(out: Uint8Array, nextHeader: number, at: number): void {
  const length = out.length - IPV6_HEADER_LEN;
  const pseudo = onesSum(out, 8, 40, Math.floor(length / 0x10000) + (length & 0xffff) + nextHeader);
  const sum = finishChecksum(onesSum(out, IPV6_HEADER_LEN, out.length, pseudo));
  out[at] = sum >>> 8;
  out[at + 1] = sum & 0xff;
}

/** Not :: and not multicast (ff00::/8): an address one node answers for. */
function isUnicastSource(buf: Uint8Array, offset: number): boolean {
  if (buf[offset] === 0xff) return false;
  for (let i = 0; i < 16; i++) if (buf[offset + i] !== 0) return true;
  return false;
}
