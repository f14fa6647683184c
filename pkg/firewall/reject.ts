// The answer `action: reject` sends back instead of silence (Nebula 1.7's addition): a TCP RST for TCP,
// an ICMP destination unreachable for everything else, addressed to the refused packet's source from its
// destination. The caller sends it back the way the packet came: into the tunnel for an inbound packet,
// to the tun device for an outbound one.
//
// IPv4 header of the reply (20 bytes, no options): 0x45, TOS 0, total length, id 0, no flags, TTL 64.
//
// TCP RST (20 bytes, no options), sequence numbers as Linux's nf_reject sets them:
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-------------------------------+-------------------------------+
//  |  source port (their dst port) |  dest port (their src port)   |
//  +-------------------------------+-------------------------------+
//  |  sequence: their ack if they sent ACK, else 0                 |
//  +---------------------------------------------------------------+
//  |  ack: 0 if they sent ACK, else their seq + SYN + FIN + length |
//  +-------+-------+---------------+-------------------------------+
//  |   5   |   0   | RST (+ ACK)   |          window 0             |
//  +-------+-------+---------------+-------------------------------+
//  |           checksum            |        urgent pointer 0       |
//  +-------------------------------+-------------------------------+
//
// ICMP destination unreachable (RFC 792): type 3; code 3 (port unreachable) for UDP, 13 (communication
// administratively prohibited) otherwise; checksum; 4 unused bytes; then the refused packet's IP header and
// the first 8 bytes of its payload.
//
// No reply to: non-first fragments, TCP RSTs, ICMP error messages (RFC 1122 3.2.2), and packets from or to
// broadcast, multicast or 0.0.0.0 addresses. IPv6 packets are answered by reject-ipv6.ts.

import { finishChecksum, internetChecksum, onesSum } from './checksum.js';
import { PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './constants.js';
import { buildRejectReply6 } from './reject-ipv6.js';
import { tcpResetInto, TCP_HEADER_LEN } from './tcp-reset.js';

const IP_HEADER_LEN = 20;

const ICMP_HEADER_LEN = 8;
const ICMP_DEST_UNREACHABLE = 3;
const ICMP_CODE_PORT_UNREACHABLE = 3;
const ICMP_CODE_ADMIN_PROHIBITED = 13;
const ICMP_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);

export function buildRejectReply(packet: Uint8Array): Uint8Array | null {
  if (packet.length > 0 && packet[0] >>> 4 === 6) return buildRejectReply6(packet);
  if (packet.length < IP_HEADER_LEN || packet[0] >>> 4 !== 4) return null;
  const ihl = (packet[0] & 0x0f) << 2;
  if (ihl < IP_HEADER_LEN || packet.length < ihl) return null;
  if (((packet[6] & 0x1f) | packet[7]) !== 0) return null;
  if (!isUnicast(packet, 12) || !isUnicast(packet, 16)) return null;

  const protocol = packet[9];
  if (protocol === PROTO_TCP) return tcpReset(packet, ihl);
  if (protocol === PROTO_ICMP && (packet.length <= ihl || ICMP_ERROR_TYPES.has(packet[ihl]))) return null;
  return icmpUnreachable(packet, ihl, protocol === PROTO_UDP ? ICMP_CODE_PORT_UNREACHABLE : ICMP_CODE_ADMIN_PROHIBITED);
}

function tcpReset(packet: Uint8Array, ihl: number): Uint8Array | null {
  const out = new Uint8Array(IP_HEADER_LEN + TCP_HEADER_LEN);
  const end = Math.min((packet[2] << 8) | packet[3], packet.length);
  if (!tcpResetInto(out, IP_HEADER_LEN, packet, ihl, end)) return null;
  writeIpHeader(out, packet, PROTO_TCP);
  // Pseudo-header: source, destination, zero + protocol, TCP length.
  const pseudo = onesSum(out, 12, 20, PROTO_TCP + TCP_HEADER_LEN);
  new DataView(out.buffer).setUint16(
    IP_HEADER_LEN + 16,
    finishChecksum(onesSum(out, IP_HEADER_LEN, out.length, pseudo)),
  );
  return out;
}

function icmpUnreachable(packet: Uint8Array, ihl: number, code: number): Uint8Array {
  const quoted = Math.min(packet.length, ihl + 8);
  const out = new Uint8Array(IP_HEADER_LEN + ICMP_HEADER_LEN + quoted);
  writeIpHeader(out, packet, PROTO_ICMP);
  const icmp = IP_HEADER_LEN;
  out[icmp] = ICMP_DEST_UNREACHABLE;
  out[icmp + 1] = code;
  out.set(packet.subarray(0, quoted), icmp + ICMP_HEADER_LEN);
  new DataView(out.buffer).setUint16(icmp + 2, internetChecksum(out, icmp));
  return out;
}

function writeIpHeader(out: Uint8Array, packet: Uint8Array, protocol: number): void {
  out[0] = 0x45;
  out[2] = out.length >>> 8;
  out[3] = out.length & 0xff;
  out[8] = 64;
  out[9] = protocol;
  out.set(packet.subarray(16, 20), 12);
  out.set(packet.subarray(12, 16), 16);
  new DataView(out.buffer).setUint16(10, internetChecksum(out, 0, IP_HEADER_LEN));
}

/** Not 0.0.0.0, not multicast (224.0.0.0/4), not the limited broadcast 255.255.255.255. */
function isUnicast(buf: Uint8Array, offset: number): boolean {
  const first = buf[offset];
  if ((first & 0xf0) === 0xe0) return false;
  const all = first | buf[offset + 1] | buf[offset + 2] | buf[offset + 3];
  const every = first & buf[offset + 1] & buf[offset + 2] & buf[offset + 3];
  return all !== 0 && every !== 0xff;
}
