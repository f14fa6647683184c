// Packet and peer builders shared by the firewall tests.

import { internetChecksum } from '../../pkg/firewall/checksum.js';
import type { FirewallPeer } from '../../pkg/firewall/firewall.js';
import { parseCidr, parseIpv4, type Ipv4Net } from '../../pkg/ip/ipv4.js';

export const TCP = 6;
export const UDP = 17;
export const ICMP = 1;

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

/** A FirewallPeer as the handshake would derive it from a certificate. */
export function peer(spec: PeerSpec): FirewallPeer {
  const ips = [spec.ip, ...(spec.ips ?? [])].map((ip) => ({ ip: parseIpv4(ip), mask: 0xffffffff }));
  const subnets: Ipv4Net[] = (spec.subnets ?? []).map(parseCidr);
  return {
    vpnIp: parseIpv4(spec.ip),
    name: spec.name ?? 'peer',
    groups: new Set(spec.groups ?? []),
    issuer: spec.issuer ?? CA_SHA,
    caName: spec.caName ?? CA_NAME,
    allowedNets: [...ips, ...subnets],
    singleIp: ips.length === 1 && subnets.length === 0,
  };
}

export { seededRandom } from './helpers/seeded-random.js';
