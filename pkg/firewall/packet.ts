// The IPv4 fields the firewall reads, parsed into a reusable record in local orientation.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-------+-------+---------------+-------------------------------+
//  |version|  IHL  |      TOS      |          total length         |   bytes 0-3
//  +-------+-------+---------------+-----+-------------------------+
//  |        identification         |flags|    fragment offset      |   bytes 4-7
//  +---------------+---------------+-----+-------------------------+
//  |      TTL      |   protocol    |        header checksum        |   bytes 8-11
//  +---------------+---------------+-------------------------------+
//  |                        source address                         |   bytes 12-15
//  +---------------------------------------------------------------+
//  |                      destination address                      |   bytes 16-19
//  +---------------------------------------------------------------+
//  |                 options (IHL * 4 - 20 bytes)                  |
//  +-------------------------------+-------------------------------+
//  |   source port (TCP/UDP/...)   |        destination port       |   bytes IHL*4 .. +3
//  +-------------------------------+-------------------------------+
//
// Like Nebula 1.6.1: the 4 bytes after the header are read as ports for every protocol except ICMP, and
// only in the first fragment; ICMP and non-first fragments get ports 0, which makes both directions of an
// ICMP exchange one flow. Total length and checksum are not checked (the kernel on either end does that).
// IPv6 packets fill the same record (packet-ipv6.ts): `ipv6` set, addresses in `local6`/`remote6`.

import { PROTO_ICMP } from './constants.js';
import type { DropReason } from './drop-reason.js';

export const IPV4_MIN_HEADER_LEN = 20;

/** A packet as the firewall sees it. Local = our side: the source of outbound packets, the destination of inbound. */
export interface FirewallPacket {
  localIp: number;
  remoteIp: number;
  localPort: number;
  remotePort: number;
  protocol: number;
  /** A second or later fragment (fragment offset != 0): it carries no ports. */
  fragment: boolean;
  /**
   * An IPv6 packet: its addresses are in `local6`/`remote6` (four big-endian words each) and `localIp`/`remoteIp`
   * are 0. Absent or false for IPv4. `protocol` is then the upper-layer protocol after the extension headers.
   */
  ipv6?: boolean;
  local6?: Uint32Array;
  remote6?: Uint32Array;
}

/** The record the firewall reuses for every packet, with room for either family (one hidden class). */
export function newFirewallPacket(): FirewallPacket {
  return {
    localIp: 0,
    remoteIp: 0,
    localPort: 0,
    remotePort: 0,
    protocol: 0,
    fragment: false,
    ipv6: false,
    local6: new Uint32Array(4),
    remote6: new Uint32Array(4),
  };
}

/** Fills `out` and returns null, or returns why the bytes are not a packet the firewall can judge. Never throws. */
export function parseIpv4Packet(buf: Uint8Array, incoming: boolean, out: FirewallPacket): DropReason | null {
  if (buf.length < IPV4_MIN_HEADER_LEN) return 'short-packet';
  if (buf[0] >>> 4 !== 4) return 'not-ipv4';
  const ihl = (buf[0] & 0x0f) << 2;
  if (ihl < IPV4_MIN_HEADER_LEN) return 'bad-header';

  const fragment = ((buf[6] & 0x1f) | buf[7]) !== 0;
  const protocol = buf[9];
  const hasPorts = !fragment && protocol !== PROTO_ICMP;
  if (buf.length < (hasPorts ? ihl + 4 : ihl)) return 'short-packet';

  const src = ((buf[12] << 24) | (buf[13] << 16) | (buf[14] << 8) | buf[15]) >>> 0;
  const dst = ((buf[16] << 24) | (buf[17] << 16) | (buf[18] << 8) | buf[19]) >>> 0;
  let srcPort = 0;
  let dstPort = 0;
  if (hasPorts) {
    srcPort = (buf[ihl] << 8) | buf[ihl + 1];
    dstPort = (buf[ihl + 2] << 8) | buf[ihl + 3];
  }

  out.protocol = protocol;
  out.fragment = fragment;
  if (out.ipv6) out.ipv6 = false;
  if (incoming) {
    out.remoteIp = src;
    out.localIp = dst;
    out.remotePort = srcPort;
    out.localPort = dstPort;
  } else {
    out.localIp = src;
    out.remoteIp = dst;
    out.localPort = srcPort;
    out.remotePort = dstPort;
  }
  return null;
}
