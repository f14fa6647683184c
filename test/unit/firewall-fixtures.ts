// Packet and peer builders shared by the firewall tests.

import { internetChecksum } from '../../pkg/firewall/checksum.js';
import { firewallPeerAddresses, type FirewallPeer } from '../../pkg/firewall/firewall.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { parseVpnIp, vpnIpBytes } from '../../pkg/ip/vpn-ip.js';

export const TCP = 6;
export const UDP = 17;
export const ICMP = 1;
export const ICMPV6 = 58;

export interface PacketSpec {
  src: string;
  dst: string;
  proto: number;
  srcPort?: number;
  dstPort?: number;
  /** In 8-byte units; non-zero makes a non-first fragment. */
  fragOffset?: number;
  moreFragments?: boolean;
  tcpFlags?: number;
  seq?: number;
  ack?: number;
  icmpType?: number;
  payload?: number;
  /** Bytes of IP options (a multiple of 4). */
  options?: number;
}

/** A well-formed IPv4 packet (header checksum set) with a TCP, UDP, ICMP or opaque payload. */
export function ipv4Packet(spec: PacketSpec): Uint8Array {
  const ihl = 20 + (spec.options ?? 0);
  const fragment = (spec.fragOffset ?? 0) !== 0;
  let l4: Uint8Array;
  if (fragment) l4 = new Uint8Array(spec.payload ?? 8);
  else if (spec.proto === TCP) l4 = tcpSegment(spec);
  else if (spec.proto === UDP) l4 = udpDatagram(spec);
  else if (spec.proto === ICMP) l4 = icmpMessage(spec);
  else {
    l4 = new Uint8Array(4 + (spec.payload ?? 0));
    portsInto(l4, spec);
  }
  const out = new Uint8Array(ihl + l4.length);
  const v = new DataView(out.buffer);
  out[0] = 0x40 | (ihl >>> 2);
  v.setUint16(2, out.length);
  v.setUint16(4, 0x1234);
  v.setUint16(6, ((spec.moreFragments ? 1 : 0) << 13) | (spec.fragOffset ?? 0));
  out[8] = 64;
  out[9] = spec.proto;
  v.setUint32(12, parseIpv4(spec.src));
  v.setUint32(16, parseIpv4(spec.dst));
  v.setUint16(10, internetChecksum(out, 0, ihl));
  out.set(l4, ihl);
  return out;
}

function portsInto(buf: Uint8Array, spec: PacketSpec): void {
  const v = new DataView(buf.buffer);
  v.setUint16(0, spec.srcPort ?? 0);
  v.setUint16(2, spec.dstPort ?? 0);
}

function tcpSegment(spec: PacketSpec): Uint8Array {
  const out = new Uint8Array(20 + (spec.payload ?? 0));
  portsInto(out, spec);
  const v = new DataView(out.buffer);
  v.setUint32(4, spec.seq ?? 1000);
  v.setUint32(8, spec.ack ?? 0);
  out[12] = 5 << 4;
  out[13] = spec.tcpFlags ?? 0x02;
  v.setUint16(14, 65535);
  return out;
}

function udpDatagram(spec: PacketSpec): Uint8Array {
  const out = new Uint8Array(8 + (spec.payload ?? 0));
  portsInto(out, spec);
  new DataView(out.buffer).setUint16(4, out.length);
  return out;
}

function icmpMessage(spec: PacketSpec): Uint8Array {
  const out = new Uint8Array(8 + (spec.payload ?? 0));
  out[0] = spec.icmpType ?? 8;
  out[5] = 1;
  new DataView(out.buffer).setUint16(2, internetChecksum(out));
  return out;
}

export interface PeerSpec {
  ip: string;
  name?: string;
  groups?: string[];
  issuer?: string;
  caName?: string;
  /** Extra cert IPs beyond `ip`. */
  ips?: string[];
  subnets?: string[];
}

export const CA_SHA = 'a'.repeat(64);
export const CA_NAME = 'Test CA';

/** A FirewallPeer as the handshake would derive it from a certificate; addresses and subnets of either family. */
export function peer(spec: PeerSpec): FirewallPeer {
  const addrs = [spec.ip, ...(spec.ips ?? [])].map(parseVpnIp);
  return {
    ...firewallPeerAddresses(addrs, (spec.subnets ?? []).map(parseIpPrefix)),
    name: spec.name ?? 'peer',
    groups: new Set(spec.groups ?? []),
    issuer: spec.issuer ?? CA_SHA,
    caName: spec.caName ?? CA_NAME,
  };
}

/** An IPv6 extension header for ipv6Packet: its type and the length of its body after the 2 leading bytes. */
export interface ExtHeader {
  type: 0 | 43 | 60 | 51 | 44;
  /** hop-by-hop/routing/destination: total length in 8-byte units minus 1; AH: in 4-byte units minus 2. Default 0. */
  lengthField?: number;
  /** Fragment header only: offset in 8-byte units (non-zero = non-first fragment), M flag. */
  fragOffset?: number;
  moreFragments?: boolean;
}

export interface Packet6Spec {
  src: string;
  dst: string;
  /** The upper-layer protocol (last next header). */
  proto: number;
  srcPort?: number;
  dstPort?: number;
  ext?: ExtHeader[];
  hopLimit?: number;
  tcpFlags?: number;
  seq?: number;
  ack?: number;
  icmpType?: number;
  identifier?: number;
  /** Upper-layer bytes after the header (TCP, UDP, ICMPv6) or after the ports (other protocols). */
  payload?: number;
}

function extLength(e: ExtHeader): number {
  if (e.type === 44) return 8;
  if (e.type === 51) return ((e.lengthField ?? 1) + 2) * 4;
  return ((e.lengthField ?? 0) + 1) * 8;
}

/** A well-formed IPv6 packet with extension headers and a TCP, UDP, ICMPv6 or opaque upper layer. */
export function ipv6Packet(spec: Packet6Spec): Uint8Array {
  const ext = spec.ext ?? [];
  const nonFirst = ext.some((e) => e.type === 44 && (e.fragOffset ?? 0) !== 0);
  let l4: Uint8Array;
  if (nonFirst) l4 = new Uint8Array(spec.payload ?? 8);
  else if (spec.proto === TCP) l4 = tcpSegment(spec as PacketSpec);
  else if (spec.proto === UDP) l4 = udpDatagram(spec as PacketSpec);
  else if (spec.proto === ICMPV6) {
    l4 = new Uint8Array(8 + (spec.payload ?? 0));
    l4[0] = spec.icmpType ?? 128;
    l4[4] = (spec.identifier ?? 1) >>> 8;
    l4[5] = (spec.identifier ?? 1) & 0xff;
  } else {
    l4 = new Uint8Array(4 + (spec.payload ?? 0));
    portsInto(l4, spec as PacketSpec);
  }
  const extBytes = ext.reduce((n, e) => n + extLength(e), 0);
  const out = new Uint8Array(40 + extBytes + l4.length);
  const v = new DataView(out.buffer);
  out[0] = 0x60;
  v.setUint16(4, out.length - 40);
  out[6] = ext.length > 0 ? ext[0].type : spec.proto;
  out[7] = spec.hopLimit ?? 64;
  out.set(vpnIpBytes6(spec.src), 8);
  out.set(vpnIpBytes6(spec.dst), 24);
  let off = 40;
  ext.forEach((e, i) => {
    out[off] = i + 1 < ext.length ? ext[i + 1].type : spec.proto;
    if (e.type === 44) v.setUint16(off + 2, ((e.fragOffset ?? 0) << 3) | (e.moreFragments ? 1 : 0));
    else out[off + 1] = e.type === 51 ? (e.lengthField ?? 1) : (e.lengthField ?? 0);
    off += extLength(e);
  });
  out.set(l4, off);
  if (spec.proto === ICMPV6 && !nonFirst) v.setUint16(off + 2, upperChecksum6(out, off, ICMPV6));
  if (spec.proto === TCP && !nonFirst) v.setUint16(off + 16, upperChecksum6(out, off, TCP));
  return out;
}

/** 16 bytes for an IPv6 text (a mapped ::ffff:a.b.c.d too). */
function vpnIpBytes6(text: string): Uint8Array {
  const b = vpnIpBytes(parseVpnIp(text));
  if (b.length === 16) return b;
  const mapped = new Uint8Array(16);
  mapped[10] = mapped[11] = 0xff;
  mapped.set(b, 12);
  return mapped;
}

/**
 * The upper-layer checksum of `packet[at..]` over the IPv6 pseudo-header (RFC 8200 8.1), computed plainly here
 * (byte pairs summed into a BigInt-free number, folded at the end) so tests check the firewall's own sums.
 */
export function upperChecksum6(packet: Uint8Array, at: number, nextHeader: number): number {
  const bytes = [...packet.subarray(8, 40)];
  const length = packet.length - at;
  bytes.push(length >>> 24, (length >>> 16) & 255, (length >>> 8) & 255, length & 255, 0, 0, 0, nextHeader);
  const upper = [...packet.subarray(at)];
  const checksumAt = nextHeader === TCP ? 16 : 2;
  upper[checksumAt] = upper[checksumAt + 1] = 0;
  bytes.push(...upper);
  if (bytes.length % 2 === 1) bytes.push(0);
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += bytes[i] * 256 + bytes[i + 1];
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return 0xffff - sum;
}

export { seededRandom } from './helpers/seeded-random.js';
