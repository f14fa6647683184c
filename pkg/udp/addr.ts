// Underlay (UDP) addresses. IPv4-mapped IPv6 forms from a dual-stack socket are folded to plain IPv4 so that one
// peer never has two spellings.

import { isIPv4 } from 'node:net';

export interface UdpAddr {
  readonly address: string;
  readonly port: number;
}

export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

export function udpAddr(address: string, port: number): UdpAddr {
  return { address: normalizeAddress(address), port };
}

/**
 * The family of an address that is already a valid literal (every UdpAddr is: parsed from config or the wire, or
 * given by the kernel), so a colon is enough. node's isIPv6 runs a large regular expression whose first use costs
 * ~3 ms, which a node paid on its way to its first handshake.
 */
export function isIpv6Literal(address: string): boolean {
  return address.includes(':');
}

export function isIpv6Addr(a: UdpAddr): boolean {
  return isIpv6Literal(a.address);
}

export function addrKey(a: UdpAddr): string {
  return isIpv6Literal(a.address) ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

export function sameAddr(a: UdpAddr | null | undefined, b: UdpAddr | null | undefined): boolean {
  return !!a && !!b && a.port === b.port && a.address === b.address;
}
