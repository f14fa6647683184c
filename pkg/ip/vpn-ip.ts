// An overlay (VPN) address of either family as a Map key: an IPv4 address is its uint32 number, as the IPv4 code
// always had it, and an IPv6 address is its canonical RFC 5952 text ("fd00::1"). Both compare with === and key a
// Map without conversion, so the IPv4 data path keeps its integer lookups and an IPv6 packet costs one string.
// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address, as Nebula 1.10 unmaps it on the wire.
// See docs/ipv6.md.

import { formatIpv4, parseIpv4, type Ipv4 } from './ipv4.js';
import { formatIpv6Groups, parseIpv6Groups } from './ipv6.js';
import { ipv4Addr, ipv6Addr, type IpAddr, type IpPrefix } from './prefix.js';

export type VpnIp = Ipv4 | string;

export class VpnIpError extends Error {
  override name = 'VpnIpError';
  readonly code = 'EVPNIP';
}

export function isVpnIp6(v: VpnIp): v is string {
  return typeof v === 'string';
}

export function vpnIpFamily(v: VpnIp): 4 | 6 {
  return typeof v === 'string' ? 6 : 4;
}

function groupsOf(bytes: ArrayLike<number>, off: number): Uint16Array {
  const g = new Uint16Array(8);
  for (let i = 0; i < 8; i++) g[i] = (bytes[off + 2 * i] << 8) | bytes[off + 2 * i + 1];
  return g;
}

function isMapped(bytes: ArrayLike<number>, off: number): boolean {
  for (let i = 0; i < 10; i++) if (bytes[off + i] !== 0) return false;
  return bytes[off + 10] === 0xff && bytes[off + 11] === 0xff;
}

function readU32(bytes: ArrayLike<number>, off: number): number {
  return ((bytes[off] << 24) | (bytes[off + 1] << 16) | (bytes[off + 2] << 8) | bytes[off + 3]) >>> 0;
}

/** The address in 16 bytes at `off` (a packet's IPv6 source or destination); a mapped IPv4 address is IPv4. */
export function vpnIp6FromBytes(bytes: ArrayLike<number>, off = 0): VpnIp {
  if (isMapped(bytes, off)) return readU32(bytes, off + 12);
  return formatIpv6Groups(groupsOf(bytes, off));
}

export function vpnIpFromIpAddr(a: IpAddr): VpnIp {
  return a.family === 4 ? readU32(a.bytes, 0) : vpnIp6FromBytes(a.bytes, 0);
}

/** 4 bytes for IPv4, 16 for IPv6, network order. */
export function vpnIpBytes(v: VpnIp): Uint8Array {
  if (typeof v === 'number') return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  const g = parseIpv6Groups(v);
  if (g === null) throw new VpnIpError(`not an IPv6 address: ${JSON.stringify(v)}`);
  const b = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    b[2 * i] = g[i] >>> 8;
    b[2 * i + 1] = g[i] & 255;
  }
  return b;
}

export function ipAddrOfVpnIp(v: VpnIp): IpAddr {
  const b = vpnIpBytes(v);
  return b.length === 4 ? ipv4Addr(b) : ipv6Addr(b);
}

export function formatVpnIp(v: VpnIp): string {
  return typeof v === 'number' ? formatIpv4(v) : v;
}

/** Dotted quad or IPv6 text; throws VpnIpError. ::ffff:a.b.c.d gives the IPv4 address. */
export function parseVpnIp(text: string): VpnIp {
  const t = text.trim();
  if (/^\d+\.\d+\.\d+\.\d+$/.test(t)) {
    try {
      return parseIpv4(t);
    } catch {
      throw new VpnIpError(`invalid IP address: ${JSON.stringify(text)}`);
    }
  }
  const g = parseIpv6Groups(t);
  if (g === null) throw new VpnIpError(`invalid IP address: ${JSON.stringify(text)}`);
  const b = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    b[2 * i] = g[i] >>> 8;
    b[2 * i + 1] = g[i] & 255;
  }
  return vpnIp6FromBytes(b, 0);
}

/** Whether `v` lies in `p` (families must match: an IPv4 address is never inside an IPv6 prefix). */
export function vpnIpInPrefix(v: VpnIp, p: IpPrefix): boolean {
  if (vpnIpFamily(v) !== p.addr.family) return false;
  const b = vpnIpBytes(v);
  let bits = p.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((b[i] & mask) !== (p.addr.bytes[i] & mask)) return false;
  }
  return true;
}

/** Total order: every IPv4 address before every IPv6 one, then by bytes (Nebula's netip.Addr.Compare). */
export function compareVpnIp(a: VpnIp, b: VpnIp): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  const x = vpnIpBytes(a);
  const y = vpnIpBytes(b);
  for (let i = 0; i < 16; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}
