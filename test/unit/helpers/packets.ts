// Inner IPv4 packets for the TUN side and a look at outer datagrams for the UDP side.

import { internetChecksum } from '../../../pkg/firewall/checksum.js';
import { parseHeader, type Header, type MessageType } from '../../../pkg/header/header.js';
import { parseIpv4 } from '../../../pkg/ip/ipv4.js';

export interface UdpPacketSpec {
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  /** Payload bytes, or a string (UTF-8). */
  payload?: Uint8Array | string;
}

/** A well-formed IPv4/UDP packet (header checksum set; UDP checksum 0, which IPv4 allows). */
export function udpPacket(spec: UdpPacketSpec): Uint8Array {
  const payload =
    typeof spec.payload === 'string' ? new TextEncoder().encode(spec.payload) : (spec.payload ?? new Uint8Array(0));
  const out = new Uint8Array(28 + payload.length);
  const v = new DataView(out.buffer);
  out[0] = 0x45;
  v.setUint16(2, out.length);
  out[8] = 64;
  out[9] = 17;
  v.setUint32(12, parseIpv4(spec.src));
  v.setUint32(16, parseIpv4(spec.dst));
  v.setUint16(10, internetChecksum(out, 0, 20));
  v.setUint16(20, spec.srcPort ?? 40000);
  v.setUint16(22, spec.dstPort ?? 9000);
  v.setUint16(24, 8 + payload.length);
  out.set(payload, 28);
  return out;
}

/** The UDP payload of an IPv4/UDP packet as text. */
/** An ICMP echo request (type 8) or reply (type 0) of 28 bytes, checksums filled in. */
export function icmpEcho(src: string, dst: string, type: 8 | 0, seq = 0): Uint8Array {
  const out = new Uint8Array(28);
  const v = new DataView(out.buffer);
  out[0] = 0x45;
  v.setUint16(2, out.length);
  out[8] = 64;
  out[9] = 1;
  v.setUint32(12, parseIpv4(src));
  v.setUint32(16, parseIpv4(dst));
  v.setUint16(10, internetChecksum(out, 0, 20));
  out[20] = type;
  v.setUint16(24, 7);
  v.setUint16(26, seq);
  v.setUint16(22, internetChecksum(out, 20, 28));
  return out;
}

/** Whether an IPv4 packet is an ICMP echo of `type` (8 request, 0 reply). */
export function isIcmpEcho(packet: Uint8Array, type: 8 | 0): boolean {
  return packet.length >= 28 && packet[9] === 1 && packet[20] === type;
}

export function udpPayloadText(packet: Uint8Array): string {
  const ihl = (packet[0] & 0x0f) * 4;
  return new TextDecoder().decode(packet.subarray(ihl + 8));
}

export function headerOf(datagram: Uint8Array): Header {
  const h = parseHeader(datagram);
  if (!h) throw new Error(`datagram of ${datagram.length} bytes has no header`);
  return h;
}

/** Whether a datagram carries this message type (and subtype, and for handshakes the stage in the counter). */
export function isType(datagram: Uint8Array, type: MessageType, subtype?: number, counter?: number): boolean {
  const h = parseHeader(datagram);
  return (
    h !== null &&
    h.type === type &&
    (subtype === undefined || h.subtype === subtype) &&
    (counter === undefined || h.counter === counter)
  );
}
