// IP addresses of either family as bytes, and prefixes (address + prefix length, host bits kept), with the
// ordering, containment and text forms Nebula's v2 certificates rely on. This is the address type new code uses
// instead of a bare uint32, so IPv6 overlay addresses fit without another type (docs/certificates-v2.md).

import { isIPv4 } from 'node:net';
import { formatIpv6Groups, parseIpv6Groups } from './ipv6.js';

export interface IpAddr {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. Never mutated once built. */
  readonly bytes: Uint8Array;
}

export interface IpPrefix {
  readonly addr: IpAddr;
  /** Prefix length, 0..32 or 0..128. */
  readonly bits: number;
}

export class IpPrefixParseError extends Error {
  override name = 'IpPrefixParseError';
  readonly code = 'EIPPARSE';
}

export function ipv4Addr(bytes: ArrayLike<number>): IpAddr {
  if (bytes.length !== 4) throw new IpPrefixParseError(`IPv4 address must be 4 bytes, got ${bytes.length}`);
  return { family: 4, bytes: Uint8Array.from(bytes) };
}

export function ipv6Addr(bytes: ArrayLike<number>): IpAddr {
  if (bytes.length !== 16) throw new IpPrefixParseError(`IPv6 address must be 16 bytes, got ${bytes.length}`);
  return { family: 6, bytes: Uint8Array.from(bytes) };
}

/** An IPv4 address from the uint32 form the v1 code uses. */
export function ipv4FromUint32(ip: number): IpAddr {
  return ipv4Addr([ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255]);
}

export function ipAddrBitLength(a: IpAddr): 32 | 128 {
  return a.family === 4 ? 32 : 128;
}

/** Dotted quad or IPv6 text (no zone). Throws IpPrefixParseError. */
export function parseIpAddr(text: string): IpAddr {
  if (isIPv4(text) && /^\d+\.\d+\.\d+\.\d+$/.test(text) && !/(^|\.)0\d/.test(text)) {
    return ipv4Addr(text.split('.').map(Number));
  }
  const groups = parseIpv6Groups(text);
  if (groups !== null) {
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 8; i++) {
      bytes[2 * i] = groups[i] >>> 8;
      bytes[2 * i + 1] = groups[i] & 0xff;
    }
    return ipv6Addr(bytes);
  }
  throw new IpPrefixParseError(`invalid IP address: ${JSON.stringify(text)}`);
}

/** "a.b.c.d/n" or "v6/n", host bits kept; the length is decimal without leading zeros, as Go's netip requires. */
export function parseIpPrefix(text: string): IpPrefix {
  const slash = text.lastIndexOf('/');
  if (slash < 0) throw new IpPrefixParseError(`invalid CIDR (missing /prefix): ${JSON.stringify(text)}`);
  const addr = parseIpAddr(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(bitsText) || Number(bitsText) > ipAddrBitLength(addr)) {
    throw new IpPrefixParseError(`invalid CIDR prefix length: ${JSON.stringify(text)}`);
  }
  return { addr, bits: Number(bitsText) };
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** True for ::ffff:a.b.c.d, which Nebula refuses as a certificate network. */
export function isIpv4MappedIpv6(a: IpAddr): boolean {
  return a.family === 6 && isV4Mapped(a.bytes);
}

export function isUnspecified(a: IpAddr): boolean {
  return a.bytes.every((b) => b === 0);
}

/** Dotted quad, or RFC 5952 IPv6 text as Go's netip writes it (pkg/ip/ipv6.ts). */
export function formatIpAddr(a: IpAddr): string {
  const b = a.bytes;
  if (a.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  return formatIpv6Groups(groups);
}

export function formatIpPrefix(p: IpPrefix): string {
  return `${formatIpAddr(p.addr)}/${p.bits}`;
}

/** Go's netip.Addr.Compare: IPv4 sorts before IPv6, then by bytes. */
export function compareIpAddr(a: IpAddr, b: IpAddr): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.bytes.length; i++) {
    if (a.bytes[i] !== b.bytes[i]) return a.bytes[i] - b.bytes[i];
  }
  return 0;
}

/** By address, then by prefix length: the order v2 certificates keep their networks in. */
export function compareIpPrefix(a: IpPrefix, b: IpPrefix): number {
  return compareIpAddr(a.addr, b.addr) || a.bits - b.bits;
}

/** True when `addr` is inside `p` (same family, first `p.bits` bits equal). */
export function prefixContains(p: IpPrefix, addr: IpAddr): boolean {
  if (p.addr.family !== addr.family) return false;
  let bits = p.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((p.addr.bytes[i] & mask) !== (addr.bytes[i] & mask)) return false;
  }
  return true;
}
