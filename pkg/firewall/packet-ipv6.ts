// The IPv6 fields the firewall reads, parsed into the same reusable record as IPv4 (packet.ts), in local
// orientation. The fixed header, then the extension header chain up to the upper-layer protocol:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-------+---------------+---------------------------------------+
//  |version| traffic class |              flow label               |   bytes 0-3
//  +-------+---------------+-------+---------------+---------------+
//  |        payload length         |  next header  |   hop limit   |   bytes 4-7
//  +-------------------------------+---------------+---------------+
//  |                   source address (16 bytes)                   |   bytes 8-23
//  +---------------------------------------------------------------+
//  |                destination address (16 bytes)                 |   bytes 24-39
//  +---------------------------------------------------------------+
//  | extension headers: hop-by-hop (0, only first), routing (43), destination options (60):
//  |   next header, length in 8-byte units not counting the first 8; authentication (51): next header, length
//  |   in 4-byte units minus 2; fragment (44): next header, reserved, offset (13 bits) | res | M, id (8 bytes)
//  +---------------------------------------------------------------+
//  | upper layer: TCP/UDP ports; ICMPv6 type, code, checksum, echo identifier
//
// As Nebula 1.11's IPv6 parser: only those five are walked, anything else
// ends the walk as the upper-layer protocol (ESP, No Next Header, SCTP, Mobility ... then carry no ports and are
// matched only by `proto: any` rules); a non-first fragment (offset != 0) stops the walk with the fragment
// header's next header as protocol and no ports; only TCP and UDP carry ports; ICMPv6 echo request/reply put
// their identifier in remotePort (conntrack only: rules ignore ICMP ports), both directions then are one flow.
// Stricter than Nebula (fails closed, docs/ipv6.md): at most MAX_EXTENSION_HEADERS headers and
// MAX_EXTENSION_BYTES bytes of them, hop-by-hop only right after the fixed header (RFC 8200 4.1), one fragment
// header at most, and every header must lie wholly inside the packet. The hop limit is not judged (the TTL of
// IPv4 is not either). Payload length and checksums are not checked (the kernels on either end do that).

import { PROTO_ICMPV6, PROTO_TCP, PROTO_UDP } from './constants.js';
import type { DropReason } from './drop-reason.js';
import { readWords6 } from './net6.js';
import type { FirewallPacket } from './packet.js';

export const IPV6_HEADER_LEN = 40;
/** RFC 8200 section 4.1 lists at most 7 kinds, destination options twice: 8 is every legal chain. */
export const MAX_EXTENSION_HEADERS = 8;
/** Bytes of extension headers the firewall walks before it refuses the packet. */
export const MAX_EXTENSION_BYTES = 1024;

const NH_HOP_BY_HOP = 0;
const NH_ROUTING = 43;
const NH_FRAGMENT = 44;
const NH_AUTH = 51;
const NH_DEST_OPTS = 60;
const ICMPV6_ECHO_REQUEST = 128;
const ICMPV6_ECHO_REPLY = 129;

/** Where the upper layer starts and which it is, or why the chain cannot be judged. Reused; see walkIpv6Chain. */
export interface Ipv6Chain {
  protocol: number;
  /** Offset of the upper-layer header (of the fragment header for a non-first fragment). */
  offset: number;
  /** A non-first fragment: no upper-layer header in this packet. */
  fragment: boolean;
}

/**
 * Walks the extension headers of the IPv6 packet in `buf` (at least 40 bytes, version 6) into `out`; null, or
 * 'bad-extension-header' for a chain that is truncated, too long, or out of order. Shared with reject.ts so the
 * answer to a packet is computed from the same reading of it as the verdict.
 */
export function walkIpv6Chain(buf: Uint8Array, out: Ipv6Chain): DropReason | null {
  let next = buf[6];
  let offset = IPV6_HEADER_LEN;
  let seenFragment = false;
  for (let count = 0; ; count++) {
    let len: number;
    switch (next) {
      case NH_HOP_BY_HOP:
      case NH_ROUTING:
      case NH_DEST_OPTS:
        if (next === NH_HOP_BY_HOP && count !== 0) return 'bad-extension-header';
        if (buf.length < offset + 2) return 'bad-extension-header';
        len = (buf[offset + 1] + 1) << 3;
        break;
      case NH_AUTH:
        if (buf.length < offset + 2) return 'bad-extension-header';
        len = (buf[offset + 1] + 2) << 2;
        break;
      case NH_FRAGMENT:
        if (seenFragment || buf.length < offset + 8) return 'bad-extension-header';
        seenFragment = true;
        len = 8;
        if (((buf[offset + 2] << 8) | buf[offset + 3]) >>> 3 !== 0) {
          out.protocol = buf[offset];
          out.offset = offset;
          out.fragment = true;
          return null;
        }
        break;
      default:
        out.protocol = next;
        out.offset = offset;
        out.fragment = false;
        return null;
    }
    // A header must lie wholly in the packet, and the walk is bounded in count and bytes.
    if (
      count >= MAX_EXTENSION_HEADERS ||
      offset + len > buf.length ||
      offset + len - IPV6_HEADER_LEN > MAX_EXTENSION_BYTES
    ) {
      return 'bad-extension-header';
    }
    next = buf[offset];
    offset += len;
  }
}

const chain: Ipv6Chain = { protocol: 0, offset: 0, fragment: false };

/** Fills `out` (from newFirewallPacket) and returns null, or returns why the bytes cannot be judged. Never throws. */
export function parseIpv6Packet(buf: Uint8Array, incoming: boolean, out: FirewallPacket): DropReason | null {
  if (buf.length < IPV6_HEADER_LEN) return 'short-packet';
  if (buf[0] >>> 4 !== 6) return 'not-ipv4';
  const bad = walkIpv6Chain(buf, chain);
  if (bad !== null) return bad;
  const { protocol, offset } = chain;
  let srcPort = 0;
  let dstPort = 0;
  let identifier = 0;
  if (!chain.fragment) {
    if (protocol === PROTO_TCP || protocol === PROTO_UDP) {
      if (buf.length < offset + 4) return 'short-packet';
      srcPort = (buf[offset] << 8) | buf[offset + 1];
      dstPort = (buf[offset + 2] << 8) | buf[offset + 3];
    } else if (protocol === PROTO_ICMPV6) {
      if (buf.length < offset + 4) return 'short-packet';
      const type = buf[offset];
      if (type === ICMPV6_ECHO_REQUEST || type === ICMPV6_ECHO_REPLY) {
        if (buf.length < offset + 6) return 'short-packet';
        identifier = (buf[offset + 4] << 8) | buf[offset + 5];
      }
    }
  }

  const local6 = out.local6!;
  const remote6 = out.remote6!;
  out.ipv6 = true;
  out.localIp = 0;
  out.remoteIp = 0;
  out.protocol = protocol;
  out.fragment = chain.fragment;
  if (incoming) {
    readWords6(buf, 8, remote6);
    readWords6(buf, 24, local6);
    out.remotePort = srcPort;
    out.localPort = dstPort;
  } else {
    readWords6(buf, 8, local6);
    readWords6(buf, 24, remote6);
    out.localPort = srcPort;
    out.remotePort = dstPort;
  }
  if (protocol === PROTO_ICMPV6) {
    // Either direction of an echo exchange carries the same identifier: one flow, as Nebula 1.11 keys it.
    out.localPort = 0;
    out.remotePort = identifier;
  }
  return null;
}
